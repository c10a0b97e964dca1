"""index frameworks and results

Index frameworks (PAR INDEX, SIPAS, PAPI) as versioned trees, results per unit and year, and
links of plan tasks and targets to index components (issue 9). Tasks and targets already carry
`index_components` (named by their plan document); links made later live in `index_links`.

Revision ID: 9b508bf4a7cf
Revises: 042f24863291
Create Date: 2026-11-23 19:22:27.784029
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9b508bf4a7cf"
down_revision: str | None = "042f24863291"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "index_frameworks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=60), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("valid_from_year", sa.Integer(), nullable=True),
        sa.Column("valid_to_year", sa.Integer(), nullable=True),
        sa.Column("unit_levels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("max_score", sa.Numeric(precision=10, scale=4), nullable=True),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_frameworks")),
        sa.UniqueConstraint("code", "version", name="uq_index_frameworks_code_version"),
        schema="plans",
    )
    op.create_table(
        "index_links",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("framework_code", sa.String(length=40), nullable=False),
        sa.Column("component", sa.String(length=40), nullable=False),
        sa.Column("item_kind", sa.String(length=10), nullable=False),
        sa.Column("plan_province", sa.String(length=64), nullable=False),
        sa.Column("plan_code", sa.String(length=200), nullable=False),
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_links")),
        sa.UniqueConstraint(
            "framework_code",
            "component",
            "item_kind",
            "plan_province",
            "plan_code",
            "item_key",
            name="uq_index_links_item",
        ),
        schema="plans",
    )
    op.create_index(
        "ix_index_links_plan",
        "index_links",
        ["plan_province", "plan_code"],
        unique=False,
        schema="plans",
    )
    op.create_table(
        "index_nodes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("framework_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("parent_code", sa.String(length=40), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=True),
        sa.Column("max_score", sa.Numeric(precision=10, scale=4), nullable=True),
        sa.Column("scoring", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["plans.index_frameworks.id"],
            name=op.f("fk_index_nodes_framework_id_index_frameworks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_nodes")),
        sa.UniqueConstraint("framework_id", "code", name="uq_index_nodes_framework_id_code"),
        schema="plans",
    )
    op.create_table(
        "index_unit_results",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("framework_id", sa.UUID(), nullable=False),
        sa.Column("framework_code", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.UUID(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("published_total", sa.Numeric(precision=10, scale=4), nullable=True),
        sa.Column("published_rank", sa.Integer(), nullable=True),
        sa.Column("rank_of", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["plans.index_frameworks.id"],
            name=op.f("fk_index_unit_results_framework_id_index_frameworks"),
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["plans.org_units.id"],
            name=op.f("fk_index_unit_results_org_unit_id_org_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_unit_results")),
        sa.UniqueConstraint(
            "framework_code", "year", "org_unit_id", name="uq_index_unit_results_unit_year"
        ),
        schema="plans",
    )
    op.create_index(
        "ix_index_unit_results_peers",
        "index_unit_results",
        ["framework_code", "year", "level"],
        unique=False,
        schema="plans",
    )
    op.create_table(
        "index_scores",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("result_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("component", sa.String(length=40), nullable=False),
        sa.Column("self_assessed", sa.Numeric(precision=10, scale=4), nullable=True),
        sa.Column("appraised", sa.Numeric(precision=10, scale=4), nullable=True),
        sa.Column("survey", sa.Numeric(precision=10, scale=4), nullable=True),
        sa.Column("score", sa.Numeric(precision=10, scale=4), nullable=True),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["plans.index_unit_results.id"],
            name=op.f("fk_index_scores_result_id_index_unit_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_scores")),
        sa.UniqueConstraint("result_id", "component", name="uq_index_scores_result_id_component"),
        schema="plans",
    )


def downgrade() -> None:
    op.drop_table("index_scores", schema="plans")
    op.drop_index("ix_index_unit_results_peers", table_name="index_unit_results", schema="plans")
    op.drop_table("index_unit_results", schema="plans")
    op.drop_table("index_nodes", schema="plans")
    op.drop_index("ix_index_links_plan", table_name="index_links", schema="plans")
    op.drop_table("index_links", schema="plans")
    op.drop_table("index_frameworks", schema="plans")
