"""dashboard rollups: dataset × month × city, month × city × agency, timeliness rows

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 05:40:00.000000

Creates the tables the dashboard reads instead of the facts (supervise/derived.py) and fills them from
the facts a hub already keeps (supervise.derived.backfill: the facts in batches of record ids; about a
minute per million facts), so an upgraded hub shows the same figures at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIMELINESS = (
    "to_publish",
    "published_late",
    "unpublished",
    "ordinary",
    "decided_late",
    "seizures",
    "seizures_closed_late",
    "still_held",
    "revoked",
    "not_withdrawn",
)
ROLLUP = (
    "records",
    "effective",
    "reported_on_time",
    "reported_late",
    "fined",
    "fines_cents",
    "major_decisions",
)
COUNTS = ("n_penalty", "n_license", "n_coercion", "n_inspection", "n_levy", "n_requisition")


def _measures(*names: str) -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(n, sa.BigInteger(), nullable=False) for n in names]


def upgrade() -> None:
    op.create_table(
        "supervision_city_rollups",
        sa.Column("dataset", sa.String(length=32), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("city", sa.String(length=6), nullable=False),
        *_measures(*ROLLUP, *TIMELINESS),
        sa.PrimaryKeyConstraint("dataset", "month", "city", name=op.f("pk_supervision_city_rollups")),
    )
    op.create_table(
        "supervision_agency_rollups",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("city", sa.String(length=6), nullable=False),
        sa.Column("agency_uscc", sa.String(length=18), nullable=False),
        *_measures("records", *COUNTS, *ROLLUP[1:], *TIMELINESS),
        sa.PrimaryKeyConstraint("month", "city", "agency_uscc", name=op.f("pk_supervision_agency_rollups")),
    )
    op.create_table(
        "supervision_timeliness",
        sa.Column(
            "record_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dataset", sa.String(length=32), nullable=False),
        sa.Column("act_month", sa.String(length=7), nullable=True),
        sa.Column("city", sa.String(length=6), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("agency_uscc", sa.String(length=18), nullable=True),
        sa.Column("rank", sa.BigInteger(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("record_id", "kind", name=op.f("pk_supervision_timeliness")),
    )
    with op.batch_alter_table("supervision_timeliness", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supervision_timeliness_list",
            ["kind", "rank", "record_id", "act_month", "region", "due"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_supervision_timeliness_kind_due"), ["kind", "due"], unique=False)

    # fill them from the facts already kept (nothing to do on a new hub)
    from enforcehub.supervise.derived import backfill

    backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("supervision_timeliness", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_timeliness_kind_due"))
        batch_op.drop_index("ix_supervision_timeliness_list")
    op.drop_table("supervision_timeliness")
    op.drop_table("supervision_agency_rollups")
    op.drop_table("supervision_city_rollups")
