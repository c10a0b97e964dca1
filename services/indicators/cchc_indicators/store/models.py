"""Tables of the indicators service, all in the `indicators` PostgreSQL schema.

Aggregates (``agg_*``): one running total per bucket and measure (``domain/aggregates.py``),
kept at two grains (local day, local month) and two widths (every dimension; agency and channel
only), so that a dashboard question reads a few hundred rows instead of scanning dossiers. They
only ever change by ``total = total + delta`` in the consumer's transaction.

``dossier_state`` holds the facts of the latest version of every dossier: the version guard, the
"before" of the next change, the source of ``cchc indicators rebuild`` and of the overdue listing.

Reference data arrives by events and is kept as it stands: org units (with validity and ancestor
path), procedures (every version, for snapshots at a date), fields, plans, targets, reported
figures, and the last evaluated status of each target.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cchc_shared.db import service_metadata
from cchc_shared.events.outbox import DeadLetterMixin, OutboxEventMixin, ProcessedMessageMixin

SCHEMA = "indicators"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class OutboxEvent(OutboxEventMixin, Base):
    """Events of this service waiting for publication (see cchc_shared.events.relay)."""


class ProcessedMessage(ProcessedMessageMixin, Base):
    """Events this service's consumers already applied."""


class DeadLetter(DeadLetterMixin, Base):
    """Events this service's consumers gave up on."""


def _total() -> Mapped[int]:
    return mapped_column(BigInteger, default=0, server_default="0")


class MeasureColumns:
    """One running total per measure of ``domain.aggregates.Measure`` (same names)."""

    received: Mapped[int] = _total()
    online: Mapped[int] = _total()
    postal: Mapped[int] = _total()
    has_fee: Mapped[int] = _total()
    has_fee_paid_online: Mapped[int] = _total()
    digitized: Mapped[int] = _total()
    e_certified: Mapped[int] = _total()
    synced: Mapped[int] = _total()
    finished: Mapped[int] = _total()
    finished_early: Mapped[int] = _total()
    finished_on_time: Mapped[int] = _total()
    processing_seconds: Mapped[int] = _total()
    rated: Mapped[int] = _total()
    satisfied: Mapped[int] = _total()
    rated_1_2: Mapped[int] = _total()
    open: Mapped[int] = _total()
    open_overdue: Mapped[int] = _total()


def _key(length: int = 64) -> Mapped[str]:
    return mapped_column(String(length), primary_key=True)


class AggDetailDay(MeasureColumns, Base):
    """Every dimension, per local day. ``field_code`` is '' for a dossier without a field."""

    __tablename__ = "agg_detail_day"
    __table_args__ = (Index("ix_agg_detail_day_day", "day"),)
    agency_code: Mapped[str] = _key()
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    procedure_code: Mapped[str] = _key()
    field_code: Mapped[str] = _key()
    channel: Mapped[str] = _key(16)


class AggDetailMonth(MeasureColumns, Base):
    """Every dimension, per local month (``month`` is the month's first day)."""

    __tablename__ = "agg_detail_month"
    __table_args__ = (Index("ix_agg_detail_month_month", "month"),)
    agency_code: Mapped[str] = _key()
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    procedure_code: Mapped[str] = _key()
    field_code: Mapped[str] = _key()
    channel: Mapped[str] = _key(16)


class AggAgencyDay(MeasureColumns, Base):
    """Agency and channel only, per local day: org-unit roll-ups without other breakdowns.

    ``changed_version`` is the ``data_version`` of the transaction that last changed the row
    (0 after a rebuild): each process's read model pulls only the rows changed since it looked.
    """

    __tablename__ = "agg_agency_day"
    __table_args__ = (Index("ix_agg_agency_day_changed_version", "changed_version"),)
    agency_code: Mapped[str] = _key()
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = _key(16)
    changed_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class AggAgencyMonth(MeasureColumns, Base):
    """Agency and channel only, per local month."""

    __tablename__ = "agg_agency_month"
    agency_code: Mapped[str] = _key()
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = _key(16)


AGGREGATE_TABLES: tuple[type[MeasureColumns], ...] = (
    AggDetailDay,
    AggDetailMonth,
    AggAgencyDay,
    AggAgencyMonth,
)


class DossierState(Base):
    """The latest version of each dossier we applied, with the columns queries filter on."""

    __tablename__ = "dossier_state"
    __table_args__ = (
        # The overdue listing reads open dossiers by due date; finished ones never.
        Index("ix_dossier_state_open_due", "due_at", postgresql_where=text("is_open")),
        Index("ix_dossier_state_agency_received", "agency_code", "received_at"),
    )

    dossier_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    agency_code: Mapped[str | None] = mapped_column(String(64))
    procedure_code: Mapped[str | None] = mapped_column(String(64))
    field_code: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    is_open: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ServiceState(Base):
    """One row: how fresh the figures are, and counters that key caches and ETags."""

    __tablename__ = "service_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A new value whenever the row is created afresh (a new database, emptied tables): caches
    # and ETags keyed on the counters alone would take the new counters for the old ones.
    epoch: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), server_default=text("gen_random_uuid()")
    )
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    data_version: Mapped[int] = mapped_column(BigInteger, default=0)
    reference_version: Mapped[int] = mapped_column(BigInteger, default=0)
    evaluated_version: Mapped[int] = mapped_column(BigInteger, default=-1)


class OrgUnit(Base):
    """An org unit by code (MaDinhDanh), as plans and ingest describe it.

    ``valid_to`` is inclusive. ``path`` lists the codes from the root down to the unit itself;
    a dossier counts in every unit on its agency's path.
    """

    __tablename__ = "org_units"
    __table_args__ = (Index("ix_org_units_path", "path", postgresql_using="gin"),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    slug: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(String(64))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    successor_codes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    path: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    plans_version: Mapped[int] = mapped_column(BigInteger, default=0)
    ingest_version: Mapped[int] = mapped_column(BigInteger, default=0)


class ProcedureVersion(Base):
    """Every version of a catalogue procedure, as ``procedure.changed`` carried it."""

    __tablename__ = "procedure_versions"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    name: Mapped[str] = mapped_column(Text)
    field_code: Mapped[str | None] = mapped_column(String(64))
    field_name: Mapped[str | None] = mapped_column(Text)
    levels: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    online_level: Mapped[str] = mapped_column(String(10))
    legacy_level: Mapped[int | None] = mapped_column(Integer)
    full_online_eligible: Mapped[bool] = mapped_column(Boolean)
    on_national_portal: Mapped[bool] = mapped_column(Boolean)
    has_fee: Mapped[bool] = mapped_column(Boolean)
    online_payment: Mapped[bool] = mapped_column(Boolean)
    postal: Mapped[bool] = mapped_column(Boolean)
    published: Mapped[bool] = mapped_column(Boolean)
    processing_days: Mapped[float | None] = mapped_column(Float)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class Field(Base):
    """A field of procedures (lĩnh vực) and the field group it belongs to."""

    __tablename__ = "fields"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    field_group: Mapped[str] = mapped_column(String(64), index=True)


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    province: Mapped[str | None] = mapped_column(String(100))
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(BigInteger)


class Target(Base):
    __tablename__ = "targets"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    plan_code: Mapped[str | None] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    area: Mapped[str | None] = mapped_column(String(40))
    measure: Mapped[str] = mapped_column(String(60))
    op: Mapped[str] = mapped_column(String(2))
    value: Mapped[Decimal] = mapped_column(Numeric)
    unit: Mapped[str | None] = mapped_column(String(40))
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    due: Mapped[date | None] = mapped_column(Date)
    scope_org_unit_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    baseline: Mapped[Decimal | None] = mapped_column(Numeric)
    version: Mapped[int] = mapped_column(BigInteger)


class ReportedFigure(Base):
    """A figure an agency reported for a ``reported`` target (through the plans service)."""

    __tablename__ = "reported_figures"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    plan_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    measure: Mapped[str | None] = mapped_column(String(60))
    period: Mapped[str | None] = mapped_column(String(40))
    org_unit_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    numerator: Mapped[Decimal | None] = mapped_column(Numeric)
    denominator: Mapped[Decimal | None] = mapped_column(Numeric)
    value: Mapped[Decimal | None] = mapped_column(Numeric)
    reported_by: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(BigInteger)


class TargetStatus(Base):
    """The status last evaluated for a target (``target.status_changed`` fires when it moves)."""

    __tablename__ = "target_statuses"

    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float)
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
