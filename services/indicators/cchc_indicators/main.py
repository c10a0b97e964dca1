"""The indicators service's ASGI app."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware import Middleware

from cchc_indicators.api import catalog, dossiers, indicators, overview, scorecards, scores
from cchc_indicators.api.fast import FastReads
from cchc_indicators.events.consume import consumers
from cchc_indicators.events.publish import workers
from cchc_indicators.store.models import DeadLetter, OutboxEvent, ProcessedMessage
from cchc_shared.app import EventTables, ServiceDefinition, create_service_app
from cchc_shared.settings import IndicatorsSettings

DEFINITION = ServiceDefinition(
    name="indicators",
    title="CCHC indicators",
    description=(
        "Indicators per org unit and period, judged against the plans' targets. "
        "(Chỉ số theo đơn vị và kỳ, đánh giá theo chỉ tiêu kế hoạch.)"
    ),
    routers=[
        indicators.router,
        scorecards.router,
        catalog.router,
        overview.router,
        dossiers.router,
        scores.router,
    ],
    events=EventTables(outbox=OutboxEvent, processed=ProcessedMessage, dead_letters=DeadLetter),
    consumers=consumers,
    workers=workers,
)


def create_app(settings: IndicatorsSettings | None = None) -> FastAPI:
    app = create_service_app(DEFINITION, settings or IndicatorsSettings())
    # Innermost of the app's own middleware: inside the request ids and metrics, before the
    # routing (api/fast.py: what it does not answer goes on to the routes unchanged).
    app.user_middleware.append(Middleware(FastReads))
    return app
