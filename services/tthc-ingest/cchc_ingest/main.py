"""The ingest service's ASGI app."""

from __future__ import annotations

from fastapi import FastAPI

from cchc_ingest.store.models import DeadLetter, OutboxEvent, ProcessedMessage
from cchc_shared.app import EventTables, ServiceDefinition, create_service_app
from cchc_shared.settings import IngestSettings

DEFINITION = ServiceDefinition(
    name="ingest",
    title="CCHC TTHC ingest",
    description=(
        "Procedure catalogue and dossiers from the one-stop system through the LGSP. "
        "(Thu thập thủ tục hành chính và hồ sơ từ Hệ thống thông tin giải quyết TTHC qua LGSP.)"
    ),
    routers=[],
    events=EventTables(outbox=OutboxEvent, processed=ProcessedMessage, dead_letters=DeadLetter),
)


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or IngestSettings())
