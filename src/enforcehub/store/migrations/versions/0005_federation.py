"""federation: relayed versions keep the city's principal, receive time and version; federation links

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 05:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_links",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("peer", sa.String(length=200), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("peer_seq", sa.BigInteger(), nullable=True),
        sa.Column("versions", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("batches", sa.BigInteger(), nullable=False),
        sa.Column("last_lag_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_federation_links")),
    )
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_principal", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("origin_received_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("origin_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("origin_version")
        batch_op.drop_column("origin_received_at")
        batch_op.drop_column("origin_principal")
    op.drop_table("federation_links")
