"""The one way a CCHC service is assembled: problem+json errors, request ids, JSON logs,
``/healthz``, ``/readyz``, ``/metrics``, a database engine, a NATS connection, and the background
workers (outbox relay, event consumers) started and stopped with the app."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from cchc_shared.auth import AUTH_RESPONSES, authenticator_from_settings, default_access
from cchc_shared.db import create_engine, create_sessionmaker
from cchc_shared.errors import PROBLEM_RESPONSES, install_problem_handlers
from cchc_shared.events.consumer import ConsumerSpec, EventConsumer
from cchc_shared.events.outbox import DeadLetterMixin, OutboxEventMixin, ProcessedMessageMixin
from cchc_shared.events.relay import OutboxRelay, retention
from cchc_shared.events.streams import connect, ensure_streams
from cchc_shared.memory import settle_heap
from cchc_shared.observability import RequestContextMiddleware, configure_logging
from cchc_shared.responses import FastJSONResponse
from cchc_shared.settings import ServiceSettings

_log = structlog.get_logger(__name__)
SHUTDOWN_GRACE_SECONDS = 10.0


@dataclass
class EventTables:
    """A service's own outbox, processed-messages and dead-letter tables."""

    outbox: type[OutboxEventMixin]
    processed: type[ProcessedMessageMixin]
    dead_letters: type[DeadLetterMixin]


@dataclass
class ServiceContext:
    """What a running service holds; reachable from a request as ``request.app.state.ctx``."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    nc: NATS
    js: JetStreamContext
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


WorkerFactory = Callable[[ServiceContext], Sequence[Any]]
"""Answers extra coroutines to run in the background (pollers, schedulers...)."""


@dataclass
class ServiceDefinition:
    name: str
    title: str
    description: str
    routers: Sequence[APIRouter]
    events: EventTables | None = None
    consumers: Callable[[ServiceContext], Sequence[ConsumerSpec]] | None = None
    workers: WorkerFactory | None = None
    openapi_tags: list[dict[str, Any]] | None = None
    public_routers: Sequence[APIRouter] = ()
    """Routes that need no token (rare: every router in ``routers`` requires one)."""


def create_service_app(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    configure_logging(settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auth_required and app.state.auth.verifier is None:
            raise RuntimeError(
                "CCHC_AUTH_REQUIRED is true but no keys are configured: set CCHC_AUTH_JWKS_URL "
                "(the gateway's /.well-known/jwks.json) or CCHC_AUTH_JWKS"
            )
        engine = create_engine(
            settings.database_url, pool_size=settings.db_pool_size, application_name=definition.name
        )
        nc = await connect(settings.nats_url, name=definition.name)
        js = nc.jetstream()
        await ensure_streams(js, replicas=settings.nats_stream_replicas)
        ctx = ServiceContext(settings, engine, create_sessionmaker(engine), nc, js)
        app.state.ctx = ctx
        app.state.sessionmaker = ctx.sessionmaker
        if settings.run_background_workers:
            _start_workers(definition, ctx)
        settle_heap()
        try:
            yield
        finally:
            for task in ctx.tasks:
                task.cancel()
            if ctx.tasks:
                # Bounded: a worker stuck in a database call must not hold the process for ever.
                _, pending = await asyncio.wait(ctx.tasks, timeout=SHUTDOWN_GRACE_SECONDS)
                if pending:
                    _log.warning("workers still running at shutdown", count=len(pending))
            # The workers are stopped and every acknowledgement they owed was sent after its
            # commit; what is left is to flush and close. (drain() would wait up to 30 s for
            # pull subscriptions a cancelled fetch left behind.)
            with suppress(Exception):
                await nc.flush(timeout=2)
            with suppress(Exception):
                await nc.close()
            await engine.dispose()

    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version="1.0.0",
        lifespan=lifespan,
        default_response_class=FastJSONResponse,
        openapi_url="/openapi.json",
        openapi_tags=definition.openapi_tags,
        responses=PROBLEM_RESPONSES,
    )
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=definition.name)
    app.include_router(operational_router(definition.name))
    app.state.auth = authenticator_from_settings(settings)
    for router in definition.routers:
        # Deny by default: a route that declares nothing still needs a token and a role.
        app.include_router(router, dependencies=[Depends(default_access)], responses=AUTH_RESPONSES)
    for router in definition.public_routers:
        app.include_router(router)
    guard_literal_paths(app)
    return app


def _start_workers(definition: ServiceDefinition, ctx: ServiceContext) -> None:
    coros: list[Any] = []
    if definition.events is not None:
        relay = OutboxRelay(
            engine=ctx.engine,
            js=ctx.js,
            outbox=definition.events.outbox,
            batch_size=ctx.settings.outbox_batch_size,
            poll_interval=ctx.settings.outbox_poll_interval,
            events_per_message=ctx.settings.outbox_events_per_message,
            retention=retention(ctx.settings.outbox_retention_hours),
        )
        coros.append(relay.run())
        for spec in definition.consumers(ctx) if definition.consumers else ():
            consumer = EventConsumer(
                js=ctx.js,
                sessionmaker=ctx.sessionmaker,
                spec=spec,
                processed=definition.events.processed,
                dead_letters=definition.events.dead_letters,
            )
            coros.append(consumer.run())
    if definition.workers is not None:
        coros.extend(definition.workers(ctx))
    ctx.tasks.extend(asyncio.create_task(c) for c in coros)


def operational_router(service: str) -> APIRouter:
    router = APIRouter(tags=["operations"], include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok", "service": service}

    @router.get("/readyz")
    async def readyz(request: Request) -> FastJSONResponse:
        """Ready: PostgreSQL and NATS are reachable."""
        ctx: ServiceContext = request.app.state.ctx
        checks = {"database": await _database_ok(ctx.engine), "nats": ctx.nc.is_connected}
        ready = all(checks.values())
        return FastJSONResponse(
            {"status": "ready" if ready else "not_ready", "service": service, "checks": checks},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _database_ok(engine: AsyncEngine) -> bool:
    try:
        async with asyncio.timeout(2.0), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


METHODS = frozenset({"get", "post", "put", "patch", "delete"})


async def _method_not_allowed(_: Request) -> Response:
    raise StarletteHTTPException(405)  # problem+json with `Allow` (cchc_shared.errors)


def guard_literal_paths(app: FastAPI) -> None:
    """Answer 405 for the methods a literal path does not have, when a template also matches it.

    Starlette takes the first route that matches path and method: ``GET /plans/import`` (only
    POST exists) went to ``GET /plans/{plan_id}`` and failed there as a malformed id (422),
    where the client needs "method not allowed". Routes put first answer that instead. The paths
    come from the OpenAPI document, as the `Allow` header's methods do; the guards are not in it.
    """
    paths: dict[str, dict[str, Any]] = app.openapi().get("paths", {})
    app.openapi_schema = None  # built again when asked, with whatever is added after this
    templates = [
        re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$")
        for path in paths
        if "{" in path
    ]
    guards = [
        Route(path, _method_not_allowed, methods=sorted(m.upper() for m in METHODS - set(item)))
        for path, item in paths.items()
        if "{" not in path and METHODS - set(item) and any(t.match(path) for t in templates)
    ]
    app.router.routes[:0] = guards
