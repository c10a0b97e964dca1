"""Bulk writes into ``ingest.outbox_events``, in the caller's transaction (the relay publishes).

The ingest's outbox is packed: its events go in as the JetStream messages the relay sends, up to
``EVENTS_PER_MESSAGE`` to a row (``cchc_shared.events.relay.pack_for_outbox``).
"""

from __future__ import annotations

from collections.abc import Sequence

from cchc_ingest.events.publish import OutboxRow
from cchc_ingest.store.raw import RawConnection
from cchc_shared.events.relay import pack_for_outbox

EVENTS_PER_MESSAGE = 100


async def enqueue(conn: RawConnection, events: Sequence[OutboxRow]) -> None:
    rows = pack_for_outbox(events, events_per_message=EVENTS_PER_MESSAGE)
    if not rows:
        return
    await conn.execute(
        "INSERT INTO ingest.outbox_events (event_id, nats_subject, envelope) "
        "SELECT event_id, subject, convert_from(envelope, 'UTF8') "
        "FROM unnest($1::uuid[], $2::text[], $3::bytea[]) AS t(event_id, subject, envelope)",
        [r.event_id for r in rows],
        [r.nats_subject for r in rows],
        [r.envelope for r in rows],
    )
