"""dossier record as text

Revision ID: 5b1f0c2d9e41
Revises: 21e6889efba7
Create Date: 2026-12-03 14:40:00

The canonical record is stored as written and never queried inside: JSONB made the database parse
every one of them on the bulk path.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b1f0c2d9e41"
down_revision: str | None = "21e6889efba7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "dossiers",
        "record",
        type_=sa.Text(),
        existing_type=postgresql.JSONB(astext_type=sa.Text()),
        postgresql_using="record::text",
        schema="ingest",
    )


def downgrade() -> None:
    op.alter_column(
        "dossiers",
        "record",
        type_=postgresql.JSONB(astext_type=sa.Text()),
        existing_type=sa.Text(),
        postgresql_using="record::jsonb",
        schema="ingest",
    )
