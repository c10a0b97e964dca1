"""Tables of the plans service, all in the `plans` PostgreSQL schema.

Every aggregate (org unit, plan, target, task, reported figure) carries a ``version`` that grows
with each change; events carry it so consumers apply only newer states. Org units link to each
other by ``code`` (MaDinhDanh, the unit's identity in the one-stop system), so a parent or a
successor may arrive after the unit that names it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cchc_shared.db import service_metadata
from cchc_shared.events.outbox import DeadLetterMixin, OutboxEventMixin, ProcessedMessageMixin

SCHEMA = "plans"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class OutboxEvent(OutboxEventMixin, Base):
    """Events of this service waiting for publication (see cchc_shared.events.relay)."""


class ProcessedMessage(ProcessedMessageMixin, Base):
    """Events this service's consumers already applied."""


class DeadLetter(DeadLetterMixin, Base):
    """Events this service's consumers gave up on."""


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def _now() -> datetime:
    return datetime.now(UTC)


def _updated_at() -> Mapped[datetime]:
    # Set in Python on update, so the new value is on the object without a round trip.
    return mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=_now)


class OrgUnit(Base):
    """A province, department, district or commune, valid from ``valid_from`` to ``valid_to``
    (both inclusive; null means open-ended)."""

    __tablename__ = "org_units"
    __table_args__ = (
        # A plan's `lead: so-noi-vu` names one unit of the plan's province.
        Index("uq_org_units_province_slug", "province", "slug", unique=True),
        Index("ix_org_units_parent_code", "parent_code"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    code: Mapped[str] = mapped_column(String(64), unique=True)
    slug: Mapped[str | None] = mapped_column(String(100))
    province: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(500))
    level: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(String(64))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    successor_codes: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), server_default=text("'{}'::varchar[]")
    )
    source: Mapped[str] = mapped_column(String(20))
    source_version: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Plan(Base):
    """A programme, annual plan or improvement plan, identified by (province, code)."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("province", "code", name="uq_plans_province_code"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    code: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str | None] = mapped_column(String(500))
    province: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[date | None] = mapped_column(Date)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    parent_code: Mapped[str | None] = mapped_column(String(200))
    areas: Mapped[list[str]] = mapped_column(JSONB)
    indices: Mapped[list[str] | None] = mapped_column(JSONB)
    source: Mapped[str | None] = mapped_column(Text)
    declared_counts: Mapped[dict[str, int] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Target(Base):
    """One figure a plan commits to (``measure`` is an indicator code or ``reported``)."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("plan_id", "key", name="uq_targets_plan_id_key"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    area: Mapped[str] = mapped_column(String(40))
    measure: Mapped[str] = mapped_column(String(80))
    op: Mapped[str] = mapped_column(String(4))
    value: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    unit: Mapped[str] = mapped_column(String(20))
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    due: Mapped[date | None] = mapped_column(Date)
    scope_org_unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("org_units.id"))
    baseline: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    index_components: Mapped[list[str] | None] = mapped_column(JSONB)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Task(Base):
    """A task of a plan with its lead org unit (or a group: every department / district)."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("plan_id", "key", name="uq_tasks_plan_id_key"),
        Index("ix_tasks_lead_org_unit_id_due", "lead_org_unit_id", "due"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    area: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    lead: Mapped[str] = mapped_column(String(100))
    lead_org_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_units.id"))
    lead_group: Mapped[str | None] = mapped_column(String(40))
    support: Mapped[list[str]] = mapped_column(JSONB)
    support_org_unit_ids: Mapped[list[str]] = mapped_column(JSONB)
    due: Mapped[date | None] = mapped_column(Date)
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    expected_output: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    percent_complete: Mapped[int] = mapped_column(Integer, default=0)
    index_components: Mapped[list[str] | None] = mapped_column(JSONB)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    # The due date for which `task.overdue` went out: once per task per due date.
    overdue_flagged_for: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class ProgressReport(Base):
    __tablename__ = "progress_reports"
    __table_args__ = (Index("ix_progress_reports_task_id_reported_at", "task_id", "reported_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    percent_complete: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSONB)
    reported_by: Mapped[str] = mapped_column(String(200))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReportedFigure(Base):
    """An agency's figure for a `reported` target; a correction supersedes, both stay."""

    __tablename__ = "reported_figures"
    __table_args__ = (
        Index("ix_reported_figures_target_id_reported_at", "target_id", "reported_at"),
        # At most one current figure per target, period and org unit.
        Index(
            "uq_reported_figures_current",
            "target_id",
            "period",
            "org_unit_id",
            unique=True,
            postgresql_where=text("superseded_by_id IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    target_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_units.id"))
    numerator: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    denominator: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    value: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    evidence: Mapped[list[str]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(200))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer, default=1)


class AuditEntry(Base):
    """Who changed what, when, from what to what (and why, for amendments)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_plan_id_id", "plan_id", "id"),
        Index("ix_audit_entries_entity_id_id", "entity_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    plan_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)


# Indices (PAR INDEX, SIPAS, PAPI): frameworks, results, links to plan work ---------------------


class IndexFramework(Base):
    """One version of an index framework (`code` + `version`), valid for a range of years.
    ``document`` is the framework as loaded (what a re-load is compared with); its nodes are
    also rows of ``index_nodes`` for queries. ``revision`` grows with each change."""

    __tablename__ = "index_frameworks"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_index_frameworks_code_version"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(Text)
    valid_from_year: Mapped[int | None] = mapped_column(Integer)
    valid_to_year: Mapped[int | None] = mapped_column(Integer)
    unit_levels: Mapped[list[str]] = mapped_column(JSONB)
    max_score: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    source: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class IndexNode(Base):
    """A component of a framework version: area, criterion, sub-criterion..."""

    __tablename__ = "index_nodes"
    __table_args__ = (
        UniqueConstraint("framework_id", "code", name="uq_index_nodes_framework_id_code"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    framework_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("index_frameworks.id", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(40))
    parent_code: Mapped[str | None] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    max_score: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    scoring: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)


class IndexUnitResult(Base):
    """A unit's result in an index for a year (one per framework code, year and unit), with the
    published total and rank; its component scores are ``index_scores``."""

    __tablename__ = "index_unit_results"
    __table_args__ = (
        UniqueConstraint(
            "framework_code", "year", "org_unit_id", name="uq_index_unit_results_unit_year"
        ),
        Index("ix_index_unit_results_peers", "framework_code", "year", "level"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    framework_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("index_frameworks.id"))
    framework_code: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    org_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_units.id"))
    level: Mapped[str] = mapped_column(String(20))
    published_total: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    published_rank: Mapped[int | None] = mapped_column(Integer)
    rank_of: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    loaded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class IndexScore(Base):
    """One component's scores in a unit's result."""

    __tablename__ = "index_scores"
    __table_args__ = (
        UniqueConstraint("result_id", "component", name="uq_index_scores_result_id_component"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("index_unit_results.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    component: Mapped[str] = mapped_column(String(40))
    self_assessed: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    appraised: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    survey: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    score: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    evidence: Mapped[list[str]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)


class IndexLink(Base):
    """A task or target of a plan serving an index component, made without re-issuing the plan.

    The item is named by its plan (province, code) and key, not by id: a link shipped with the
    demo data holds before the plan is imported, and survives the plan's amendments."""

    __tablename__ = "index_links"
    __table_args__ = (
        UniqueConstraint(
            "framework_code",
            "component",
            "item_kind",
            "plan_province",
            "plan_code",
            "item_key",
            name="uq_index_links_item",
        ),
        Index("ix_index_links_plan", "plan_province", "plan_code"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    framework_code: Mapped[str] = mapped_column(String(40))
    component: Mapped[str] = mapped_column(String(40))
    item_kind: Mapped[str] = mapped_column(String(10))
    plan_province: Mapped[str] = mapped_column(String(64))
    plan_code: Mapped[str] = mapped_column(String(200))
    item_key: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created_at()
