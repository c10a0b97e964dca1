"""The ingest service's ASGI app."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from dataclasses import replace
from typing import Any

import httpx
from fastapi import FastAPI

from cchc_ingest.api.routes import router
from cchc_ingest.store.models import DeadLetter, OutboxEvent, ProcessedMessage
from cchc_ingest.workers import workers
from cchc_shared.app import EventTables, ServiceContext, ServiceDefinition, create_service_app
from cchc_shared.settings import IngestSettings


def _workers(ctx: ServiceContext) -> Sequence[Coroutine[Any, Any, None]]:
    return workers(ctx)


DEFINITION = ServiceDefinition(
    name="ingest",
    title="CCHC TTHC ingest",
    description="Procedure catalogue and dossiers from the one-stop system through the LGSP. "
    "(Thu thập thủ tục hành chính và hồ sơ từ Hệ thống thông tin giải quyết TTHC qua LGSP.)",
    routers=[router],
    events=EventTables(outbox=OutboxEvent, processed=ProcessedMessage, dead_letters=DeadLetter),
    workers=_workers,
    openapi_tags=[
        {"name": "ingest", "description": "Dossiers, quarantine, backfill, reconciliation"}
    ],
)


def create_app(
    settings: IngestSettings | None = None,
    *,
    source_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The app; ``source_transport`` lets a test reach an in-process source (ASGITransport)."""
    definition = DEFINITION
    if source_transport is not None:
        definition = replace(
            DEFINITION, workers=lambda ctx: workers(ctx, transport=source_transport)
        )
    return create_service_app(definition, settings or IngestSettings())
