"""The plans service's ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from cchc_plans.api import index_links, index_results, indices, org_units, plans, targets, tasks
from cchc_plans.events.consume import consumers
from cchc_plans.service.index_seed import seed_indices
from cchc_plans.service.org_units import seed_demo
from cchc_plans.store.models import DeadLetter, OutboxEvent, ProcessedMessage
from cchc_plans.workers import workers
from cchc_shared.app import EventTables, ServiceContext, ServiceDefinition, create_service_app
from cchc_shared.db import transaction
from cchc_shared.settings import PlansSettings

DEFINITION = ServiceDefinition(
    name="plans",
    title="CCHC plans",
    description="Org units, CCHC programmes and plans, targets, tasks, progress and reported "
    "figures. (Đơn vị, chương trình và kế hoạch CCHC, chỉ tiêu, nhiệm vụ, tiến độ và số liệu "
    "báo cáo.)",
    routers=[
        org_units.router,
        plans.router,
        targets.router,
        tasks.router,
        indices.router,
        index_results.router,
        index_links.router,
    ],
    events=EventTables(outbox=OutboxEvent, processed=ProcessedMessage, dead_letters=DeadLetter),
    consumers=consumers,
    workers=workers,
    openapi_tags=[
        {"name": "org units", "description": "Đơn vị hành chính theo thời gian."},
        {"name": "plans", "description": "Chương trình, kế hoạch CCHC."},
        {"name": "targets", "description": "Chỉ tiêu và số liệu báo cáo."},
        {"name": "tasks", "description": "Nhiệm vụ và tiến độ."},
        {
            "name": "indices",
            "description": "PAR INDEX, SIPAS, PAPI: frameworks, results, analysis, linked work. "
            "(Chỉ số PAR INDEX, SIPAS, PAPI: bộ chỉ số, kết quả, phân tích, nhiệm vụ cải thiện.)",
        },
    ],
)


def create_app(settings: PlansSettings | None = None) -> FastAPI:
    settings = settings or PlansSettings()
    app = create_service_app(DEFINITION, settings)
    _seed_on_start(app, demo=settings.demo_data)
    return app


def _seed_on_start(app: FastAPI, *, demo: bool) -> None:
    """Load the shipped index frameworks and, with demo data, the demo org-unit trees and index
    links once the app is up and before it reports ready, so the demo plans `cchc up` posts
    find their units."""
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with started(app) as state:
            ctx: ServiceContext = app.state.ctx
            async with transaction(ctx.sessionmaker) as session:
                if demo:
                    await seed_demo(session)
                await seed_indices(session, demo=demo)
            yield state

    app.router.lifespan_context = lifespan
