"""Every query on the dossier tables: the bulk upsert guarded by version, the status history,
the quarantine, and the counts reconciliation compares.

Every writer of ``dossiers`` first locks the dossiers it is about to write (:func:`lock_dossiers`,
transaction advisory locks keyed by a hash of each code): the "before" facts read for an event
must still be the stored ones when the upsert runs, also for a dossier that two writers (the
poller and the push endpoint, say) both see for the first time. Writers of different dossiers go
on side by side; one global lock made every page wait for the one being written, and for the
round trips of its writer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from cchc_ingest.events.publish import ChangedEventTemplate
from cchc_ingest.store.raw import RawConnection


class DossierRow(NamedTuple):
    """One dossier version ready to be stored, and its ``dossier.changed`` event.

    A named tuple of JSON already encoded (UTF-8 bytes): rows are built in a parsing worker
    process and pickled to the writer, and tuples of bytes cross cheapest."""

    code: str
    version: int
    updated_at: datetime
    agency_code: str
    procedure_code: str
    status: int
    received_on: date | None
    updated_on: date
    facts_json: bytes
    record_json: bytes
    event: ChangedEventTemplate


@dataclass(frozen=True, slots=True)
class StoredVersion:
    version: int
    status: int
    facts_json: bytes


@dataclass(frozen=True, slots=True)
class StatusChangeRow:
    code: str
    version: int
    status: int
    previous_status: int | None
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    kind: str
    code: str | None
    version: int | None
    reason: str
    payload_json: str
    digest: str


@dataclass(frozen=True, slots=True)
class PageOutcome:
    taken: int
    stored: int
    duplicates: int
    quarantined: int

    def __add__(self, other: PageOutcome) -> PageOutcome:
        return PageOutcome(
            self.taken + other.taken,
            self.stored + other.stored,
            self.duplicates + other.duplicates,
            self.quarantined + other.quarantined,
        )


NOTHING = PageOutcome(0, 0, 0, 0)


# Taken in one order (of their keys) by every writer, so that two writers never wait on each
# other crosswise. Two-integer keys are a lock space apart from the one-integer keys of the other
# advisory locks; 7355 names ours in it (two codes with one hash only share a lock).
_LOCK_DOSSIERS = """
SELECT count(pg_advisory_xact_lock(7355, key)) FROM (
    SELECT DISTINCT hashtext(code) AS key FROM unnest($1::text[]) AS code ORDER BY key
) AS keys
"""


async def lock_dossiers(conn: RawConnection, codes: Sequence[str]) -> None:
    """Lock these dossiers for writing until the transaction ends."""
    if codes:
        await conn.execute(_LOCK_DOSSIERS, list(codes))


async def stored_versions(conn: RawConnection, codes: Sequence[str]) -> dict[str, StoredVersion]:
    rows = await conn.fetch(
        "SELECT code, version, status, convert_to(facts, 'UTF8') AS facts FROM ingest.dossiers "
        "WHERE code = ANY($1::text[])",
        list(codes),
    )
    return {r["code"]: StoredVersion(r["version"], r["status"], r["facts"]) for r in rows}


async def held_versions(conn: RawConnection, codes: Sequence[str]) -> dict[str, int]:
    """The stored version of each of ``codes`` we hold (no lock: a hint, not a decision)."""
    if not codes:
        return {}
    rows = await conn.fetch(
        "SELECT code, version FROM ingest.dossiers WHERE code = ANY($1::text[])", list(codes)
    )
    return {r["code"]: r["version"] for r in rows}


_ROWS = """unnest($1::text[], $2::int4[], $3::timestamptz[], $4::text[], $5::text[], $6::int2[],
            $7::date[], $8::date[], $10::bytea[], $11::bytea[])
     AS t(code, version, updated_at, agency_code, procedure_code, status, received_on, updated_on,
          facts, record)"""

_INSERT = f"""
INSERT INTO ingest.dossiers AS d (code, version, updated_at, agency_code, procedure_code, status,
                                  received_on, updated_on, source, facts, record)
SELECT code, version, updated_at, agency_code, procedure_code, status, received_on, updated_on,
       $9, convert_from(facts, 'UTF8'), convert_from(record, 'UTF8')
FROM {_ROWS}
ON CONFLICT (code) DO UPDATE SET
    version = excluded.version, updated_at = excluded.updated_at,
    agency_code = excluded.agency_code, procedure_code = excluded.procedure_code,
    status = excluded.status, received_on = excluded.received_on,
    updated_on = excluded.updated_on, source = excluded.source, facts = excluded.facts,
    record = excluded.record, stored_at = now()
WHERE d.version < excluded.version
"""  # noqa: S608 - built from constants only

_UPDATE = f"""
UPDATE ingest.dossiers AS d SET
    version = t.version, updated_at = t.updated_at, agency_code = t.agency_code,
    procedure_code = t.procedure_code, status = t.status, received_on = t.received_on,
    updated_on = t.updated_on, source = $9, facts = convert_from(t.facts, 'UTF8'),
    record = convert_from(t.record, 'UTF8'), stored_at = now()
FROM {_ROWS}
WHERE d.code = t.code AND d.version < t.version
"""  # noqa: S608 - built from constants only


async def upsert(conn: RawConnection, rows: Sequence[DossierRow], source: str) -> None:
    """Store newer versions; a row not newer than the stored one changes nothing."""
    await _write(conn, _INSERT, rows, source)


async def update(conn: RawConnection, rows: Sequence[DossierRow], source: str) -> None:
    """:func:`upsert` of dossiers already stored: a plain UPDATE costs the database less than
    an INSERT that finds its conflict first (most rows of a backfill are later versions)."""
    await _write(conn, _UPDATE, rows, source)


async def _write(conn: RawConnection, sql: str, rows: Sequence[DossierRow], source: str) -> None:
    if not rows:
        return
    await conn.execute(
        sql,
        [r.code for r in rows],
        [r.version for r in rows],
        [r.updated_at for r in rows],
        [r.agency_code for r in rows],
        [r.procedure_code for r in rows],
        [r.status for r in rows],
        [r.received_on for r in rows],
        [r.updated_on for r in rows],
        source,
        [r.facts_json for r in rows],
        [r.record_json for r in rows],
    )


async def add_status_changes(conn: RawConnection, rows: Sequence[StatusChangeRow]) -> None:
    if not rows:
        return
    await conn.execute(
        "INSERT INTO ingest.dossier_status_history "
        "(dossier_code, version, status, previous_status, changed_at) "
        "SELECT * FROM unnest($1::text[], $2::int4[], $3::int2[], $4::int2[], $5::timestamptz[])",
        [r.code for r in rows],
        [r.version for r in rows],
        [r.status for r in rows],
        [r.previous_status for r in rows],
        [r.changed_at for r in rows],
    )


async def quarantine(conn: RawConnection, rows: Sequence[QuarantineRow], source: str) -> None:
    """Keep unreadable records, one row per distinct payload, counting how often it came."""
    seen = Counter(r.digest for r in rows)
    unique = list({r.digest: r for r in rows}.values())  # one statement may not hit a row twice
    if not unique:
        return
    await conn.execute(
        "INSERT INTO ingest.quarantine (kind, source, record_code, record_version, reason, "
        "payload, payload_digest, times_seen) "
        "SELECT kind, $1, code, version, reason, payload, digest, seen FROM unnest("
        "$2::text[], $3::text[], $4::int4[], $5::text[], $6::text[], $7::text[], $8::int4[]) "
        "AS t(kind, code, version, reason, payload, digest, seen) "
        "ON CONFLICT (payload_digest) DO UPDATE SET "
        "times_seen = quarantine.times_seen + excluded.times_seen, last_seen_at = now()",
        source,
        [r.kind for r in unique],
        [r.code for r in unique],
        [r.version for r in unique],
        [r.reason for r in unique],
        [r.payload_json for r in unique],
        [r.digest for r in unique],
        [seen[r.digest] for r in unique],
    )


async def received_counts(
    conn: RawConnection, first: date, last: date
) -> dict[tuple[date, str], int]:
    """Our dossiers per local day of receipt (``NgayTiepNhan``) and agency."""
    rows = await conn.fetch(
        "SELECT received_on, agency_code, count(*) AS n FROM ingest.dossiers "
        "WHERE received_on BETWEEN $1 AND $2 GROUP BY received_on, agency_code",
        first,
        last,
    )
    return {(r["received_on"], r["agency_code"]): r["n"] for r in rows}


async def updated_counts(
    conn: RawConnection, first: date, last: date
) -> dict[tuple[date, str], int]:
    """Our dossiers per local day of their latest change (``NgayCapNhat``) and agency.

    A full read of the table (no index on ``updated_on``: see ``store.models.Dossier``); a
    reconciliation run asks once."""
    rows = await conn.fetch(
        "SELECT updated_on, agency_code, count(*) AS n FROM ingest.dossiers "
        "WHERE updated_on BETWEEN $1 AND $2 GROUP BY updated_on, agency_code",
        first,
        last,
    )
    return {(r["updated_on"], r["agency_code"]): r["n"] for r in rows}
