"""findings: an index covering the quality page's counts per submission, severity and code

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 06:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_findings_submission_id_severity_code"),
            ["submission_id", "severity", "code"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_submission_id_severity_code"))
