"""The events plans publishes (docs/events.md "From plans"), written to the outbox in the
caller's transaction. Each carries what a consumer needs without calling back."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.store.models import (
    OrgUnit,
    OutboxEvent,
    Plan,
    ProgressReport,
    ReportedFigure,
    Target,
    Task,
)
from cchc_plans.store.snapshots import (
    figure_state,
    iso,
    org_unit_content,
    plan_state,
    progress_state,
    target_state,
    task_state,
)
from cchc_shared.events.envelope import CloudEvent
from cchc_shared.events.outbox import enqueue

SOURCE = "/cchc/plans"
ORG_UNIT_CHANGED = "vn.cchc.plans.org_unit.changed"
PLAN_ISSUED = "vn.cchc.plans.plan.issued"
PLAN_AMENDED = "vn.cchc.plans.plan.amended"
PLAN_CLOSED = "vn.cchc.plans.plan.closed"
TARGET_UPSERTED = "vn.cchc.plans.target.upserted"
TASK_ASSIGNED = "vn.cchc.plans.task.assigned"
TASK_PROGRESS_REPORTED = "vn.cchc.plans.task.progress_reported"
TASK_OVERDUE = "vn.cchc.plans.task.overdue"
FIGURE_REPORTED = "vn.cchc.plans.figure.reported"


def _event(type_: str, aggregate_id: uuid.UUID, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(source=SOURCE, type=type_, subject=str(aggregate_id), data=data)


async def publish(session: AsyncSession, *events: CloudEvent) -> None:
    await enqueue(session, OutboxEvent, *events)


def org_unit_changed(
    unit: OrgUnit, parent_id: uuid.UUID | None, successor_ids: list[uuid.UUID]
) -> CloudEvent:
    data = {
        "id": str(unit.id),
        **org_unit_content(unit),
        "parent_id": str(parent_id) if parent_id else None,
        "successor_ids": [str(s) for s in successor_ids],
        "source": unit.source,
        "version": unit.version,
    }
    return _event(ORG_UNIT_CHANGED, unit.id, data)


def _plan_header(plan: Plan) -> dict[str, Any]:
    return {"id": str(plan.id), **plan_state(plan)}


def plan_issued(plan: Plan) -> CloudEvent:
    return _event(PLAN_ISSUED, plan.id, _plan_header(plan))


def plan_amended(plan: Plan, reason: str) -> CloudEvent:
    return _event(PLAN_AMENDED, plan.id, {**_plan_header(plan), "reason": reason})


def plan_closed(plan: Plan, reason: str | None) -> CloudEvent:
    return _event(PLAN_CLOSED, plan.id, {**_plan_header(plan), "reason": reason})


def _plan_context(plan: Plan) -> dict[str, Any]:
    return {
        "plan_id": str(plan.id),
        "plan_code": plan.code,
        "plan_status": plan.status,
        "plan_version": plan.version,
        "province": plan.province,
        "plan_period_from": iso(plan.period_from),
        "plan_period_to": iso(plan.period_to),
    }


def target_upserted(target: Target, plan: Plan) -> CloudEvent:
    data = {"id": str(target.id), **_plan_context(plan), **target_state(target)}
    # A target without its own due date is due at the plan's end.
    data["effective_due"] = iso(target.due or plan.period_to)
    return _event(TARGET_UPSERTED, target.id, data)


def _task_data(task: Task, plan: Plan, lead_code: str | None) -> dict[str, Any]:
    return {
        "id": str(task.id),
        **_plan_context(plan),
        **task_state(task),
        "lead_org_unit_code": lead_code,
    }


def task_assigned(task: Task, plan: Plan, lead_code: str | None) -> CloudEvent:
    return _event(TASK_ASSIGNED, task.id, _task_data(task, plan, lead_code))


def task_progress_reported(
    task: Task, plan: Plan, lead_code: str | None, report: ProgressReport
) -> CloudEvent:
    data = {**_task_data(task, plan, lead_code), "report": progress_state(report)}
    return _event(TASK_PROGRESS_REPORTED, task.id, data)


def task_overdue(task: Task, plan: Plan, lead_code: str | None, today: date) -> CloudEvent:
    data = {**_task_data(task, plan, lead_code), "flagged_on": today.isoformat()}
    return _event(TASK_OVERDUE, task.id, data)


def figure_reported(figure: ReportedFigure, target: Target, org_unit_code: str) -> CloudEvent:
    data = {
        **figure_state(figure),
        "measure": target.measure,
        "unit": target.unit,
        "target_key": target.key,
        "org_unit_code": org_unit_code,
    }
    return _event(FIGURE_REPORTED, figure.id, data)
