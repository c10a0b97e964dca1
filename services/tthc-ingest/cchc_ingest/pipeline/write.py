"""Write a prepared page: upsert by ``MaHoSo`` guarded by ``PhienBan``, status history,
quarantine and ``dossier.changed`` events, all in the caller's transaction."""

from __future__ import annotations

from cchc_ingest.pipeline.records import PreparedPage
from cchc_ingest.store import dossiers, outbox
from cchc_ingest.store.dossiers import PageOutcome, StatusChangeRow
from cchc_ingest.store.raw import RawConnection


async def write_page(conn: RawConnection, page: PreparedPage) -> PageOutcome:
    codes = [r.code for r in page.rows]
    await dossiers.lock_dossiers(conn, codes)
    held = await dossiers.stored_versions(conn, codes)
    newer = [r for r in page.rows if (h := held.get(r.code)) is None or r.version > h.version]
    # Under the locks, what is stored is known: new dossiers are inserted, the others updated.
    await dossiers.upsert(conn, [r for r in newer if r.code not in held], page.source)
    await dossiers.update(conn, [r for r in newer if r.code in held], page.source)
    changes = []
    events = []
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
        # The event was rendered with the row; what was stored before fills its two holes.
        if before is None:
            events.append(row.event.fill(None, None))
        else:
            events.append(row.event.fill(before.version, before.facts_json))
    await dossiers.add_status_changes(conn, changes)
    await outbox.enqueue(conn, events)
    await dossiers.quarantine(conn, page.rejected, page.source)
    return PageOutcome(
        taken=page.taken,
        stored=len(newer),
        duplicates=page.taken - len(page.rejected) - len(newer),  # `beyond` ones included
        quarantined=len(page.rejected),
    )
