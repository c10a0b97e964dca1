"""`/api/v1/tasks`: tasks across plans (overdue per lead unit), one task, its progress."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, status

from cchc_plans.api import scope
from cchc_plans.api.deps import Cursor, Limit, PlanWriter, Reason, Reporter, actor_of
from cchc_plans.api.org_units import bad_cursor
from cchc_plans.api.plans import item_relocate
from cchc_plans.api.schemas import Page, ProgressIn, ProgressOut, TaskOut, TaskPatch
from cchc_plans.api.views import progress_view, task_view, task_views
from cchc_plans.domain.catalogue import TaskStatus
from cchc_plans.domain.documents import NO_NUL
from cchc_plans.service.clock import today_vn
from cchc_plans.service.documents import change_plan
from cchc_plans.service.tasks import ProgressInput, report_progress, task_and_plan
from cchc_plans.store import org_units, plans
from cchc_plans.store.models import OrgUnit
from cchc_plans.store.pagination import BadCursor, page
from cchc_shared.auth import CurrentPrincipal
from cchc_shared.db import DbSession
from cchc_shared.errors import Conflict, FieldError, ValidationFailed

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


async def _lead(session: DbSession, ref: str) -> OrgUnit:
    try:
        unit = await org_units.get(session, uuid.UUID(ref))
    except ValueError:
        unit = await org_units.by_code(session, ref)
    if unit is None:
        raise ValidationFailed(
            [FieldError(field="query.lead_org_unit", message="unknown org unit")]
        )
    return unit


@router.get("", response_model=Page[TaskOut])
async def list_tasks(
    session: DbSession,
    principal: CurrentPrincipal,
    overdue: bool | None = Query(
        None, description="true: past due and neither done nor cancelled."
    ),
    lead_org_unit: str | None = Query(
        None,
        max_length=100,
        pattern=NO_NUL,
        description="Id or code of the lead unit; tasks led by its group (every department) "
        "count. A principal limited to an org unit gets the tasks its subtree leads only, and "
        "403 for a lead unit outside it.",
    ),
    plan_id: uuid.UUID | None = None,
    status_: TaskStatus | None = Query(None, alias="status"),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TaskOut]:
    today = today_vn()
    seen = await scope.visible(session, principal)
    if lead_org_unit:
        await scope.ensure_visible(session, principal, lead_org_unit, "query.lead_org_unit")
    lead = await _lead(session, lead_org_unit) if lead_org_unit else None
    try:
        rows = await plans.tasks_page(
            session,
            plan_id=plan_id,
            lead=lead,
            status=status_,
            overdue=overdue,
            today=today,
            cursor=cursor,
            limit=limit,
            led_within=None
            if seen is None
            else plans.led_within(seen.ids, seen.root, seen.root_parent_id),
        )
    except BadCursor as exc:
        raise bad_cursor() from exc
    items, next_cursor = page(rows, limit, lambda t: [t.plan_id, t.position])
    return Page(items=await task_views(session, items, today), next_cursor=next_cursor)


@router.get("/{task_id}", response_model=TaskOut)
async def get_task(session: DbSession, task_id: uuid.UUID) -> TaskOut:
    task, plan = await task_and_plan(session, task_id)
    return task_view(task, plan, today_vn())


@router.patch("/{task_id}", response_model=TaskOut)
async def update_task(
    session: DbSession,
    task_id: uuid.UUID,
    body: TaskPatch,
    principal: PlanWriter,
    reason: Reason = None,
) -> TaskOut:
    """Change what the plan says of a task (of an issued plan only as an amendment, with
    `reason`). Its progress is reported with `POST /api/v1/tasks/{id}/progress`."""
    task, plan = await task_and_plan(session, task_id)
    if task.withdrawn:
        raise Conflict("the task was withdrawn; add it again to the plan instead")
    sent = body.model_dump(mode="python", exclude_unset=True)
    index = 0

    def edit(raw: dict[str, Any]) -> dict[str, Any]:
        nonlocal index
        index = next(i for i, t in enumerate(raw["tasks"]) if t["key"] == task.key)
        raw["tasks"][index].update(sent)
        return raw

    outcome = await change_plan(
        session,
        plan.id,
        edit,
        actor=actor_of(principal),
        reason=reason,
        relocate=item_relocate("tasks", lambda: index),
    )
    return task_view(task, outcome.plan, today_vn())


@router.post("/{task_id}/progress", response_model=ProgressOut, status_code=status.HTTP_201_CREATED)
async def add_progress(
    session: DbSession, task_id: uuid.UUID, body: ProgressIn, principal: Reporter
) -> ProgressOut:
    """Report progress (báo cáo tiến độ): percent complete, status, note and evidence. A
    principal scoped to an org unit reports on the tasks its subtree leads."""
    task, _ = await task_and_plan(session, task_id)
    await scope.ensure_leads(session, principal, task)
    _, report = await report_progress(
        session,
        task_id,
        ProgressInput(
            percent_complete=body.percent_complete,
            status=body.status,
            note=body.note,
            evidence=body.evidence,
        ),
        actor=actor_of(principal),
    )
    return progress_view(report)


@router.get("/{task_id}/progress", response_model=Page[ProgressOut])
async def list_progress(
    session: DbSession,
    task_id: uuid.UUID,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ProgressOut]:
    """The task's progress reports, newest last. They are the lead unit's: a principal limited
    to an org unit reads them for the tasks its subtree leads only."""
    task, _ = await task_and_plan(session, task_id)
    await scope.ensure_leads(session, principal, task)
    try:
        rows = await plans.progress_page(session, task_id, cursor, limit)
    except BadCursor as exc:
        raise bad_cursor() from exc
    items, next_cursor = page(rows, limit, lambda r: [r.reported_at, r.id])
    return Page(items=[progress_view(r) for r in items], next_cursor=next_cursor)
