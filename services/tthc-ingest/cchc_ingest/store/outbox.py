"""Bulk writes into ``ingest.outbox_events``, in the caller's transaction (the relay publishes)."""

from __future__ import annotations

from collections.abc import Sequence

from cchc_ingest.events.publish import OutboxRow
from cchc_ingest.store.raw import RawConnection


async def enqueue(conn: RawConnection, rows: Sequence[OutboxRow]) -> None:
    if not rows:
        return
    await conn.execute(
        "INSERT INTO ingest.outbox_events (event_id, nats_subject, envelope) "
        "SELECT event_id, subject, envelope::jsonb "
        "FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(event_id, subject, envelope)",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )
