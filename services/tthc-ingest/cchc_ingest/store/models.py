"""Tables of the ingest service, all in the `ingest` PostgreSQL schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cchc_shared.db import service_metadata
from cchc_shared.events.outbox import DeadLetterMixin, OutboxEventMixin, ProcessedMessageMixin

SCHEMA = "ingest"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class OutboxEvent(OutboxEventMixin, Base):
    """Events of this service waiting for publication (see cchc_shared.events.relay), packed:
    a row holds a JetStream message of up to a hundred events (``store.outbox``)."""

    packed = True
    # As written, uncompressed (migration 8c3d5e7f9a10): the database never parses it.
    envelope: Mapped[str] = mapped_column(Text)  # type: ignore[assignment]


class ProcessedMessage(ProcessedMessageMixin, Base):
    """Events this service's consumers already applied."""


class DeadLetter(DeadLetterMixin, Base):
    """Events this service's consumers gave up on."""


class StoredDossier(Base):
    """The latest version of each dossier we hold (written in bulk by ``store.dossiers``)."""

    __tablename__ = "dossiers"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    agency_code: Mapped[str] = mapped_column(Text)
    procedure_code: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(SmallInteger)
    # Local (UTC+7) dates: reconciliation compares per day and agency with the source's counts.
    received_on: Mapped[date | None] = mapped_column(Date)
    updated_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(40))
    # The derived facts and the canonical dossier as JSON text, stored as written: the database
    # never parses them (as JSONB they cost a third of the bulk upsert) and nothing queries
    # inside them (migrations 5b1f0c2d9e41, 9d4e6f8a0b12).
    facts: Mapped[str] = mapped_column(Text)
    record: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    # No index on updated_on: it changes with every version, and an indexed column that changes
    # rules out updates in place (HOT); pages keep room for the next versions (migration
    # 8c3d5e7f9a10). Reconciliation counts changes per day by reading the table.
    __table_args__ = (
        Index("ix_dossiers_received_on_agency", "received_on", "agency_code"),
        {"postgresql_with": {"fillfactor": 80, "toast_tuple_target": 8160}},
    )


class StatusChange(Base):
    """A dossier's status history: one row each time a stored version changed the status."""

    __tablename__ = "dossier_status_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[int] = mapped_column(SmallInteger)
    previous_status: Mapped[int | None] = mapped_column(SmallInteger)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_dossier_status_history_code", "dossier_code", "version"),)


class QuarantinedRecord(Base):
    """A record that could not be read, with its raw payload and why; one row per payload."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # dossier, procedure, agency
    source: Mapped[str] = mapped_column(String(40))
    record_code: Mapped[str | None] = mapped_column(Text)
    record_version: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # JSON text, not jsonb: jsonb refuses some payloads a broken source sends (\u0000).
    payload: Mapped[str] = mapped_column(Text)
    payload_digest: Mapped[str] = mapped_column(String(64), unique=True)
    times_seen: Mapped[int] = mapped_column(Integer, server_default="1")
    first_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class SourceState(Base):
    """Where the poller of a source stands, and what it has taken so far."""

    __tablename__ = "source_state"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The change feed's position: the chain started at feed_from, continued with feed_cursor.
    feed_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    feed_cursor: Mapped[str | None] = mapped_column(Text)
    high_water: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    records_taken: Mapped[int] = mapped_column(BigInteger, server_default="0")
    stored: Mapped[int] = mapped_column(BigInteger, server_default="0")
    duplicates_skipped: Mapped[int] = mapped_column(BigInteger, server_default="0")
    quarantined: Mapped[int] = mapped_column(BigInteger, server_default="0")
    errors: Mapped[int] = mapped_column(BigInteger, server_default="0")
    last_poll_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    catalogue_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BackfillJob(Base):
    """A re-read of a time range of the change feed, resumable after a crash."""

    __tablename__ = "backfill_jobs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # backfill, reread (by reconciliation)
    source: Mapped[str] = mapped_column(String(40))
    range_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    range_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))  # pending, running, done, failed
    records_taken: Mapped[int] = mapped_column(BigInteger, server_default="0")
    stored: Mapped[int] = mapped_column(BigInteger, server_default="0")
    duplicates_skipped: Mapped[int] = mapped_column(BigInteger, server_default="0")
    quarantined: Mapped[int] = mapped_column(BigInteger, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_backfill_jobs_status", "status"),)


class BackfillChunk(Base):
    """One slice of a job's range, read as its own cursor chain (slices run concurrently)."""

    __tablename__ = "backfill_chunks"

    job_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("backfill_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    range_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    range_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cursor: Mapped[str | None] = mapped_column(Text)
    position: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pages: Mapped[int] = mapped_column(Integer, server_default="0")
    done: Mapped[bool] = mapped_column(Boolean, server_default="false")


class CatalogueRecord(Base):
    """The latest content of a procedure or an agency, and its version (bumped on change)."""

    __tablename__ = "catalogue"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # procedure, agency
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReconciliationRun(Base):
    """A comparison of the source's daily counts with ours, and what re-reading repaired."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    day_from: Mapped[date] = mapped_column(Date)
    day_to: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # pending, running, done, failed
    days_checked: Mapped[int] = mapped_column(Integer, server_default="0")
    differences_found: Mapped[int] = mapped_column(Integer, server_default="0")
    differences_remaining: Mapped[int] = mapped_column(Integer, server_default="0")
    reread_job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
