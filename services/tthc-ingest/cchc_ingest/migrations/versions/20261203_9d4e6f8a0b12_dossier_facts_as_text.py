"""dossier facts as text

Revision ID: 9d4e6f8a0b12
Revises: 8c3d5e7f9a10
Create Date: 2026-12-03 20:30:00

Facts are written with every version and read back, as the "before" of the next version's
event, by the bulk path alone; nothing queries inside them. As JSONB the database parsed them on
every write and printed them on every read (a tenth of its work on the bulk path). Operators can
still ask ``facts::jsonb``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9d4e6f8a0b12"
down_revision: str | None = "8c3d5e7f9a10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "dossiers",
        "facts",
        type_=sa.Text(),
        existing_type=postgresql.JSONB(astext_type=sa.Text()),
        postgresql_using="facts::text",
        schema="ingest",
    )


def downgrade() -> None:
    op.alter_column(
        "dossiers",
        "facts",
        type_=postgresql.JSONB(astext_type=sa.Text()),
        existing_type=sa.Text(),
        postgresql_using="facts::jsonb",
        schema="ingest",
    )
