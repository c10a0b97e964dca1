"""The events ingest publishes (``docs/events.md``), built as outbox rows.

Dossier events are built as plain dictionaries in the CloudEvents structured shape of
:class:`cchc_shared.events.envelope.CloudEvent` (what ``model_dump(mode="json",
exclude_none=True)`` gives), not as pydantic objects: the bulk path writes ten thousand a second.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from cchc_shared.events.envelope import subject_for

SOURCE = "/cchc/ingest"
DOSSIER_CHANGED = "vn.cchc.ingest.dossier.changed"
PROCEDURE_CHANGED = "vn.cchc.ingest.procedure.changed"
AGENCY_CHANGED = "vn.cchc.ingest.agency.changed"


class OutboxRow(NamedTuple):
    """One event: its id, NATS subject and envelope as UTF-8 JSON (``store.outbox`` packs them
    into the rows of ``ingest.outbox_events``, a hundred to a row)."""

    event_id: str
    nats_subject: str
    envelope: bytes


class _EventIds:
    """Random (version 4) UUIDs as text, from one ``os.urandom`` call per thousand: a tenth of
    what ``str(uuid.uuid4())`` costs, and the bulk path makes one per stored record."""

    def __init__(self) -> None:
        self._ready: list[str] = []

    def next(self) -> str:
        if not self._ready:
            raw = os.urandom(16 * 1024)
            self._ready = [_uuid4_text(raw[i : i + 16]) for i in range(0, len(raw), 16)]
        return self._ready.pop()


def _uuid4_text(random16: bytes) -> str:
    h = random16.hex()
    # Version nibble 4; variant bits 10 (the first hex digit of the fourth group is 8, 9, a, b).
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}
_IDS = _EventIds()


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


_DOSSIER_SUBJECT = subject_for(DOSSIER_CHANGED)


def outbox_row(event_type: str, subject: str, data: Mapping[str, Any], time: str) -> OutboxRow:
    event_id = _IDS.next()
    envelope = {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": event_type,
        "subject": subject,
        "time": time,
        "datacontenttype": "application/json",
        "data": data,
    }
    return OutboxRow(event_id, subject_for(event_type), orjson.dumps(envelope))


def dossier_changed(
    *,
    code: str,
    version: int,
    previous_version: int | None,
    source: str,
    before: Mapping[str, Any] | orjson.Fragment | None,
    after: Mapping[str, Any] | orjson.Fragment,
    time: str,
) -> OutboxRow:
    data = {
        "dossier_code": code,
        "version": version,
        "previous_version": previous_version,
        "source": source,
        "before": before,
        "after": after,
    }
    return outbox_row(DOSSIER_CHANGED, code, data, time)


_HOLE = b"\x00hole\x00"  # never in orjson's output: it escapes control characters
_HOLE_FRAGMENT = orjson.Fragment(_HOLE)


class ChangedEventTemplate(NamedTuple):
    """A ``dossier.changed`` event rendered before the stored version is known, with two holes:
    ``previous_version`` and ``before``. The writer fills them under its lock (:meth:`fill`),
    so the JSON of an event is made where the record is parsed, not where it is written."""

    event_id: str
    head: bytes
    middle: bytes
    tail: bytes

    @classmethod
    def render(
        cls, *, code: str, version: int, source: str, after: bytes, time: str
    ) -> ChangedEventTemplate:
        event = dossier_changed(
            code=code,
            version=version,
            previous_version=_HOLE_FRAGMENT,  # type: ignore[arg-type]
            source=source,
            before=_HOLE_FRAGMENT,
            after=orjson.Fragment(after),
            time=time,
        )
        head, middle, tail = event.envelope.split(_HOLE)
        return cls(event.event_id, head, middle, tail)

    def fill(self, previous_version: int | None, before: bytes | None) -> OutboxRow:
        previous = b"null" if previous_version is None else str(previous_version).encode()
        envelope = b"".join((self.head, previous, self.middle, before or b"null", self.tail))
        return OutboxRow(self.event_id, _DOSSIER_SUBJECT, envelope)


def procedure_changed(content: Mapping[str, Any], version: int) -> OutboxRow:
    return outbox_row(
        PROCEDURE_CHANGED, content["code"], {**content, "version": version}, now_iso()
    )


def agency_changed(content: Mapping[str, Any], version: int) -> OutboxRow:
    return outbox_row(AGENCY_CHANGED, content["code"], {**content, "version": version}, now_iso())
