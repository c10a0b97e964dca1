"""agg_agency_day.changed_version: what the in-process read models pull

Revision ID: 5c1e0a7d2b41
Revises: 9ada78fa06a8
Create Date: 2026-12-03 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e0a7d2b41"
down_revision: str | None = "9ada78fa06a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "agg_agency_day",
        sa.Column("changed_version", sa.BigInteger(), server_default="0", nullable=False),
        schema="indicators",
    )
    op.create_index(
        op.f("ix_agg_agency_day_changed_version"),
        "agg_agency_day",
        ["changed_version"],
        unique=False,
        schema="indicators",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_agg_agency_day_changed_version"),
        table_name="agg_agency_day",
        schema="indicators",
    )
    op.drop_column("agg_agency_day", "changed_version", schema="indicators")
