"""From raw source records to rows ready for the store: parse, derive facts, quarantine.

Pure CPU work, no I/O: a page is prepared before its transaction opens, so the database lock that
serialises dossier writers is held only for the writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import orjson

from cchc_ingest.domain.dossier import (
    PII_FIELDS,
    Dossier,
    PiiHasher,
    RecordRejected,
    parse_dossier,
)
from cchc_ingest.domain.dossier_json import decode_records, read_dossiers
from cchc_ingest.domain.facts import derive_facts
from cchc_ingest.domain.instants import local_date, parse_instant
from cchc_ingest.events.publish import ChangedEventTemplate, now_iso
from cchc_ingest.store.dossiers import DossierRow, QuarantineRow
from cchc_shared.memory import paused_gc

DossierParser = Callable[[object, PiiHasher], Dossier]


@dataclass(slots=True)
class PreparedPage:
    """A page's readable records (one per dossier: its highest version) and its rejects."""

    best: dict[str, Dossier] = field(default_factory=dict)
    rows: list[DossierRow] = field(default_factory=list)
    rejected: list[QuarantineRow] = field(default_factory=list)
    source: str = ""  # whose rows these are: set when they are built
    taken: int = 0
    beyond: int = 0  # records past the range being read, left to the reader of that range
    max_updated_at: datetime | None = None
    min_updated_at: datetime | None = None

    def keep(self, dossier: Dossier) -> None:
        """A dossier read from the page: kept if it is the highest version seen."""
        held = self.best.get(dossier.code)
        if held is None or dossier.version > held.version:
            self.best[dossier.code] = dossier
        changed = dossier.updated_at
        if self.max_updated_at is None or changed > self.max_updated_at:
            self.max_updated_at = changed
        if self.min_updated_at is None or changed < self.min_updated_at:
            self.min_updated_at = changed

    def leave(self, changed: datetime) -> None:
        """A record changed past the range being read: left to the reader of that range."""
        self.beyond += 1
        if self.max_updated_at is None or changed > self.max_updated_at:
            self.max_updated_at = changed

    def build_rows(self, source: str, held: Mapping[str, int] | None = None) -> None:
        """Rows of the dossiers to store: all, or only those newer than the ``held`` versions.

        Deriving a row's facts and JSON costs more than parsing the record, and most records of
        a backfill are versions older than the one already stored: skipping them halves the
        work. (The write still checks versions under its lock; this only saves work.)
        """
        chosen: Iterable[Dossier] = self.best.values()
        if held:
            chosen = [d for d in chosen if d.version > held.get(d.code, -1)]
        time = now_iso()
        self.source = source
        self.rows = [dossier_row(d, source, time) for d in chosen]


def canonical_json(payload: object) -> str:
    """Sorted-key JSON text of a raw payload (for its digest and its quarantine copy)."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # integers beyond 64 bits and other things orjson refuses
        return json.dumps(payload, sort_keys=True, ensure_ascii=False, default=repr)


def redact(raw: object, hasher: PiiHasher | None) -> object:
    """The payload as quarantine keeps it: the applicant's personal data as keyed hashes."""
    if hasher is None or not isinstance(raw, Mapping) or not any(f in raw for f in PII_FIELDS):
        return raw
    redacted = dict(raw)
    for name in PII_FIELDS:
        if name in redacted:
            digest = hasher.digest(redacted[name])
            redacted[name] = f"hmac-sha256:{digest}" if digest else None
    return redacted


def quarantine_row(
    kind: str, raw: object, exc: RecordRejected, hasher: PiiHasher | None = None
) -> QuarantineRow:
    payload = canonical_json(redact(raw, hasher))
    digest = hashlib.sha256(f"{kind}\x00{payload}".encode()).hexdigest()
    # The payload is JSON (NUL escaped); the code and reason are stored as text, which cannot
    # hold NUL: a record rejected for one must not fail its own quarantine.
    code = exc.code.replace("\x00", "\\x00") if exc.code else exc.code
    reason = exc.reason.replace("\x00", "\\x00")
    return QuarantineRow(kind, code, exc.version, reason, payload, digest)


_RECORD_ENCODER = msgspec.json.Encoder()
"""The canonical record's JSON: msgspec writes a slotted dataclass in half orjson's time (the
same JSON, with instants in UTC as ``…Z``)."""


def dossier_row(d: Dossier, source: str, time: str) -> DossierRow:
    """The row of a dossier version, with its event (built here: this may be a worker process)."""
    facts = orjson.dumps(derive_facts(d))
    return DossierRow(
        code=d.code,
        version=d.version,
        updated_at=d.updated_at,
        agency_code=d.agency_code,
        procedure_code=d.procedure_code,
        status=d.status,
        received_on=local_date(d.received_at) if d.received_at else None,
        updated_on=local_date(d.updated_at),
        facts_json=facts,
        record_json=_RECORD_ENCODER.encode(d),
        event=ChangedEventTemplate.render(
            code=d.code, version=d.version, source=source, after=facts, time=time
        ),
    )


def _changed_at(raw: object) -> datetime | None:
    """``NgayCapNhat`` alone, cheaply; None when it cannot be read (the full parse will say why)."""
    if not isinstance(raw, Mapping):
        return None
    try:
        return parse_instant(raw.get("NgayCapNhat"))
    except ValueError:
        return None


def prepare_page(
    raw_records: Sequence[Any],
    parse: DossierParser,
    hasher: PiiHasher,
    *,
    source: str,
    until: datetime | None = None,
) -> PreparedPage:
    """Parse a page and build the rows of all its dossiers (see :func:`parse_page`)."""
    with paused_gc():
        page = parse_page(raw_records, parse, hasher, until=until)
        page.build_rows(source)
    return page


_TRANSFER_ENCODER = msgspec.msgpack.Encoder()
_TRANSFER_DECODER = msgspec.msgpack.Decoder(PreparedPage)


def prepare_page_for_transfer(
    records_json: bytes, hasher: PiiHasher, source: str, until: datetime | None
) -> bytes:
    """:func:`prepare_page` of a JSON array of records (:meth:`RawRecords.to_json`) with the
    contract's parser, in a parsing process; the page goes back as MessagePack (a tenth of what
    pickling the rows costs), read by :func:`transferred_page`."""
    page = prepare_page(
        decode_records(records_json), parse_dossier, hasher, source=source, until=until
    )
    page.best = {}  # the rows carry what the writer needs: the dossiers would double the bytes
    with paused_gc():
        return _TRANSFER_ENCODER.encode(page)


def transferred_page(payload: bytes) -> PreparedPage:
    with paused_gc():
        return _TRANSFER_DECODER.decode(payload)


def parse_page(
    raw_records: Sequence[Any],
    parse: DossierParser,
    hasher: PiiHasher,
    *,
    until: datetime | None = None,
) -> PreparedPage:
    """Parse a page, keeping each dossier's highest version; rows are built later
    (:meth:`PreparedPage.build_rows`). Records changed at or after ``until`` are left to whoever
    reads that range (they count as duplicates) but still move ``max_updated_at``.

    With the contract's own parser (:func:`parse_dossier`), the records it reads the usual way
    come from its fast path (:func:`read_dossiers`, straight from JSON for ``RawRecords``);
    the others, and every record for another parser, go through ``parse`` one by one."""
    page = PreparedPage(taken=len(raw_records))
    fast = read_dossiers(raw_records, hasher) if parse is parse_dossier else None
    for index in range(len(raw_records)):
        dossier = fast[index] if fast is not None else None
        if dossier is None:
            raw = raw_records[index]
            if until is not None and (changed := _changed_at(raw)) is not None and changed >= until:
                page.leave(changed)
                continue
            try:
                dossier = parse(raw, hasher)
            except RecordRejected as exc:
                page.rejected.append(quarantine_row("dossier", raw, exc, hasher))
                continue
        elif until is not None and dossier.updated_at >= until:
            page.leave(dossier.updated_at)  # what _changed_at says of a record parse reads
            continue
        page.keep(dossier)
    return page
