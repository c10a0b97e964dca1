"""Rows of the store as API answers."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from sqlalchemy import RowMapping

from cchc_ingest.api.schemas import (
    BackfillJobView,
    FeedPositionView,
    QuarantineItem,
    ReconciliationView,
    SourceStatus,
)
from cchc_ingest.pipeline.backfill import progress
from cchc_ingest.store.jobs import Slice


def source_status(source: str, row: RowMapping | None, *, configured: bool) -> SourceStatus:
    if row is None:
        return SourceStatus(
            source=source,
            configured=configured,
            last_poll_at=None,
            last_success_at=None,
            position=None,
            lag_seconds=None,
            records_taken=0,
            stored=0,
            duplicates_skipped=0,
            quarantined=0,
            errors=0,
            last_error=None,
            last_error_at=None,
            catalogue_synced_at=None,
        )
    high_water = row["high_water"]
    has_position = row["feed_from"] is not None
    return SourceStatus(
        source=source,
        configured=configured,
        last_poll_at=row["last_poll_at"],
        last_success_at=row["last_success_at"],
        position=FeedPositionView(
            feed_from=row["feed_from"], cursor=row["feed_cursor"], high_water=high_water
        )
        if has_position
        else None,
        lag_seconds=(datetime.now(UTC) - high_water).total_seconds() if high_water else None,
        records_taken=row["records_taken"],
        stored=row["stored"],
        duplicates_skipped=row["duplicates_skipped"],
        quarantined=row["quarantined"],
        errors=row["errors"],
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
        catalogue_synced_at=row["catalogue_synced_at"],
    )


def quarantine_item(row: RowMapping) -> QuarantineItem:
    return QuarantineItem(
        id=row["id"],
        kind=row["kind"],
        source=row["source"],
        record_code=row["record_code"],
        record_version=row["record_version"],
        reason=row["reason"],
        payload=orjson.loads(row["payload"]),
        times_seen=row["times_seen"],
        first_seen_at=row["first_seen_at"],
        last_seen_at=row["last_seen_at"],
    )


def backfill_job(row: RowMapping, slices: list[Slice]) -> BackfillJobView:
    done = row["status"] == "done"
    return BackfillJobView(
        id=row["id"],
        kind=row["kind"],
        source=row["source"],
        status=row["status"],
        range_from=row["range_from"],
        range_to=row["range_to"],
        progress=1.0 if done else round(progress(slices), 4),
        slices_total=len(slices),
        slices_done=sum(s.done for s in slices),
        records_taken=row["records_taken"],
        stored=row["stored"],
        duplicates_skipped=row["duplicates_skipped"],
        quarantined=row["quarantined"],
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def reconciliation(row: RowMapping) -> ReconciliationView:
    return ReconciliationView.model_validate(dict(row))
