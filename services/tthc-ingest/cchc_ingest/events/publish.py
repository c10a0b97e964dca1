"""The events ingest publishes (``docs/events.md``), built as outbox rows.

Dossier events are built as plain dictionaries in the CloudEvents structured shape of
:class:`cchc_shared.events.envelope.CloudEvent` (what ``model_dump(mode="json",
exclude_none=True)`` gives), not as pydantic objects: the bulk path writes ten thousand a second.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from cchc_shared.events.envelope import subject_for

SOURCE = "/cchc/ingest"
DOSSIER_CHANGED = "vn.cchc.ingest.dossier.changed"
PROCEDURE_CHANGED = "vn.cchc.ingest.procedure.changed"
AGENCY_CHANGED = "vn.cchc.ingest.agency.changed"

OutboxRow = tuple[uuid.UUID, str, str]
"""(event id, NATS subject, envelope as JSON text): one row of ``ingest.outbox_events``."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def outbox_row(event_type: str, subject: str, data: Mapping[str, Any], time: str) -> OutboxRow:
    event_id = uuid.uuid4()
    envelope = {
        "specversion": "1.0",
        "id": str(event_id),
        "source": SOURCE,
        "type": event_type,
        "subject": subject,
        "time": time,
        "datacontenttype": "application/json",
        "data": data,
    }
    return event_id, subject_for(event_type), orjson.dumps(envelope).decode()


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


def procedure_changed(content: Mapping[str, Any], version: int) -> OutboxRow:
    return outbox_row(
        PROCEDURE_CHANGED, content["code"], {**content, "version": version}, now_iso()
    )


def agency_changed(content: Mapping[str, Any], version: int) -> OutboxRow:
    return outbox_row(AGENCY_CHANGED, content["code"], {**content, "version": version}, now_iso())
