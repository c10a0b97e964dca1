"""The plans service's ASGI app."""

from __future__ import annotations

from fastapi import FastAPI

from cchc_plans.store.models import DeadLetter, OutboxEvent, ProcessedMessage
from cchc_shared.app import EventTables, ServiceDefinition, create_service_app
from cchc_shared.settings import PlansSettings

DEFINITION = ServiceDefinition(
    name="plans",
    title="CCHC plans",
    description=(
        "Org units, CCHC programmes and plans, targets, tasks, progress and reported figures. "
        "(Đơn vị, chương trình và kế hoạch CCHC, chỉ tiêu, nhiệm vụ, tiến độ và số liệu báo cáo.)"
    ),
    routers=[],
    events=EventTables(outbox=OutboxEvent, processed=ProcessedMessage, dead_letters=DeadLetter),
)


def create_app(settings: PlansSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or PlansSettings())
