"""The indicators service's ASGI app."""

from __future__ import annotations

from fastapi import FastAPI

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
    routers=[],
    events=EventTables(outbox=OutboxEvent, processed=ProcessedMessage, dead_letters=DeadLetter),
)


def create_app(settings: IndicatorsSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or IndicatorsSettings())
