"""Write a prepared page: upsert by ``MaHoSo`` guarded by ``PhienBan``, status history,
quarantine and ``dossier.changed`` events, all in the caller's transaction."""

from __future__ import annotations

import orjson

from cchc_ingest.events.publish import dossier_changed, now_iso
from cchc_ingest.pipeline.records import PreparedPage
from cchc_ingest.store import dossiers, outbox
from cchc_ingest.store.dossiers import PageOutcome, StatusChangeRow
from cchc_ingest.store.raw import RawConnection


async def write_page(conn: RawConnection, page: PreparedPage, source: str) -> PageOutcome:
    await dossiers.lock_writes(conn)
    held = await dossiers.stored_versions(conn, [r.code for r in page.rows])
    newer = [r for r in page.rows if (h := held.get(r.code)) is None or r.version > h.version]
    await dossiers.upsert(conn, newer, source)
    changes = []
    events = []
    time = now_iso()
    for row in newer:
        before = held.get(row.code)
        if before is None or before.status != row.status:
            changes.append(
                StatusChangeRow(
                    row.code,
                    row.version,
                    row.status,
                    before.status if before else None,
                    row.updated_at,
                )
            )
        events.append(
            dossier_changed(
                code=row.code,
                version=row.version,
                previous_version=before.version if before else None,
                source=source,
                # Both already JSON text: spliced in as they are, not parsed and dumped again.
                before=orjson.Fragment(before.facts_json) if before else None,
                after=orjson.Fragment(row.facts_json),
                time=time,
            )
        )
    await dossiers.add_status_changes(conn, changes)
    await outbox.enqueue(conn, events)
    await dossiers.quarantine(conn, page.rejected, source)
    return PageOutcome(
        taken=page.taken,
        stored=len(newer),
        duplicates=page.taken - len(page.rejected) - len(newer),  # `beyond` ones included
        quarantined=len(page.rejected),
    )
