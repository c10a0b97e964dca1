"""Request and answer bodies of the ingest API (``shared/contracts/rest-api.md``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class FeedPositionView(BaseModel):
    feed_from: datetime | None = Field(description="Start instant of the cursor chain being read.")
    cursor: str | None = Field(description="The source's cursor to continue with (opaque).")
    high_water: datetime | None = Field(description="Newest change (NgayCapNhat) taken so far.")


class SourceStatus(BaseModel):
    source: str = Field(description="`lgsp` (polled) or `push` (records pushed to us).")
    configured: bool
    last_poll_at: datetime | None
    last_success_at: datetime | None
    position: FeedPositionView | None
    lag_seconds: float | None = Field(description="Now minus the newest change taken.")
    records_taken: int
    stored: int = Field(description="Records that moved a dossier to a newer version.")
    duplicates_skipped: int = Field(description="Records not newer than what we held.")
    quarantined: int = Field(description="Unreadable records taken (each re-reading counts).")
    errors: int
    last_error: str | None
    last_error_at: datetime | None
    catalogue_synced_at: datetime | None


class IngestStatus(BaseModel):
    sources: list[SourceStatus]
    dossiers: int = Field(description="Dossiers held (latest versions).")
    quarantined_records: int = Field(description="Distinct unreadable records in quarantine.")
    outbox_backlog: int = Field(description="Events written but not yet published.")
    open_backfills: int


class QuarantineItem(BaseModel):
    id: int
    kind: str = Field(description="`dossier`, `procedure` or `agency`.")
    source: str
    record_code: str | None = Field(description="MaHoSo / MaTTHC / MaDinhDanh, when readable.")
    record_version: int | None = Field(description="PhienBan, when readable.")
    reason: str = Field(description="The field at fault and why (lý do không đọc được).")
    payload: Any = Field(description="The record exactly as the source sent it.")
    times_seen: int
    first_seen_at: datetime
    last_seen_at: datetime


class QuarantinePage(BaseModel):
    items: list[QuarantineItem]
    next_cursor: str | None


class PushBody(BaseModel):
    """Changed dossier records, in the change feed's record shape (at most 1000)."""

    data: list[Any] = Field(max_length=1000, description="Records as in `hoso/thaydoi`.")


class Rejection(BaseModel):
    index: int = Field(description="Position of the record in `data`.")
    reason: str


class PushResult(BaseModel):
    taken: int
    stored: int
    duplicates: int
    quarantined: int
    rejected: list[Rejection]


class BackfillRequest(BaseModel):
    range_from: datetime | date = Field(
        alias="from", description="Start (inclusive): an ISO date-time or a local date."
    )
    range_to: datetime | date | None = Field(
        None, alias="to", description="End (exclusive); a local date means its start. Empty: open."
    )


class BackfillJobView(BaseModel):
    id: uuid.UUID
    kind: str = Field(description="`backfill`, or `reread` when a reconciliation asked for it.")
    source: str
    status: str = Field(description="`pending`, `running`, `done` or `failed`.")
    range_from: datetime = Field(serialization_alias="from")
    range_to: datetime | None = Field(serialization_alias="to")
    progress: float = Field(description="Share of the range read, 0 to 1.")
    slices_total: int
    slices_done: int
    records_taken: int
    stored: int
    duplicates_skipped: int
    quarantined: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class BackfillPage(BaseModel):
    items: list[BackfillJobView]
    next_cursor: str | None


class ReconcileRequest(BaseModel):
    day_from: date = Field(alias="from", description="First local day compared.")
    day_to: date = Field(alias="to", description="Last local day compared (inclusive).")


class ReconciliationView(BaseModel):
    id: uuid.UUID
    status: str = Field(description="`pending`, `rereading`, `done` or `failed`.")
    day_from: date = Field(serialization_alias="from")
    day_to: date = Field(serialization_alias="to")
    days_checked: int
    differences_found: int
    differences_remaining: int
    reread_job_id: uuid.UUID | None
    findings: list[dict[str, Any]] = Field(
        description="Per day and agency that differed: the source's and our counts before and "
        "after the re-read, and whether it was repaired."
    )
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class ReconciliationPage(BaseModel):
    items: list[ReconciliationView]
    next_cursor: str | None


class DossierView(BaseModel):
    code: str
    version: int
    updated_at: datetime
    agency_code: str
    procedure_code: str
    status: int
    source: str
    facts: dict[str, Any] = Field(description="The derived facts (`docs/events.md`).")
    record: dict[str, Any] = Field(description="The canonical dossier (no personal data in clear).")
    stored_at: datetime
