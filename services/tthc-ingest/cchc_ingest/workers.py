"""The background workers of the ingest service, started only when a source is configured."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_ingest.domain.dossier import PiiHasher
from cchc_ingest.pipeline.backfill import BackfillRunner
from cchc_ingest.pipeline.catalogue import CatalogueSync
from cchc_ingest.pipeline.poller import Poller
from cchc_ingest.pipeline.reconcile import Reconciler
from cchc_ingest.pipeline.runtime import Runtime
from cchc_ingest.sources.lgsp import LgspClient
from cchc_ingest.sources.motcua import MotCuaSource
from cchc_shared.app import ServiceContext
from cchc_shared.settings import IngestSettings


def make_runtime(
    settings: IngestSettings,
    engine: AsyncEngine,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Runtime:
    assert settings.lgsp_url, "no source configured"
    client = LgspClient(
        settings.lgsp_url,
        settings.lgsp_client_id,
        settings.lgsp_client_secret,
        transport=transport,
        max_concurrency=settings.source_concurrency,
        timeout=settings.source_timeout,
    )
    return Runtime(
        engine=engine,
        source=MotCuaSource(client),
        hasher=PiiHasher(settings.pii_hash_key),
        page_size=settings.page_size,
        concurrency=settings.source_concurrency,
        parse_workers=settings.parse_workers,
    )


async def _close_when_stopped(runtime: Runtime) -> None:
    """Holds the source's HTTP connections and parsing processes for the workers; closes them
    when the app stops."""
    try:
        await runtime.start_parsing()
        await asyncio.Event().wait()
    finally:
        runtime.close()
        await runtime.source.aclose()


def workers(
    ctx: ServiceContext, *, transport: httpx.AsyncBaseTransport | None = None
) -> Sequence[Coroutine[Any, Any, None]]:
    settings = ctx.settings
    assert isinstance(settings, IngestSettings)
    if not settings.lgsp_url:
        return []
    runtime = make_runtime(settings, ctx.engine, transport=transport)
    backfill = BackfillRunner(runtime)
    return [
        _close_when_stopped(runtime),
        Poller(
            runtime,
            interval=settings.poll_interval,
            poll_from=settings.poll_from,
            backfill_days=settings.backfill_days,
        ).run(),
        backfill.run(),
        CatalogueSync(runtime, interval=settings.catalogue_interval).run(),
        Reconciler(
            runtime, backfill, interval=settings.reconcile_interval, days=settings.reconcile_days
        ).run(),
    ]
