"""Progress of tasks, and the overdue flag."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.domain.tasks import progress_status
from cchc_plans.events import publish as ev
from cchc_plans.store import audit, org_units, plans
from cchc_plans.store.models import Plan, ProgressReport, Task
from cchc_plans.store.snapshots import task_state
from cchc_shared.errors import Conflict, FieldError, NotFound, ValidationFailed

OVERDUE_BATCH = 500


@dataclass(frozen=True)
class ProgressInput:
    percent_complete: int
    status: str | None = None
    note: str | None = None
    evidence: list[str] = field(default_factory=list)


async def task_and_plan(
    session: AsyncSession, task_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Task, Plan]:
    task = await plans.get_task(session, task_id, for_update=for_update)
    if task is None:
        raise NotFound("task", task_id)
    plan = await plans.get(session, task.plan_id)
    assert plan is not None  # a task's plan is a foreign key
    return task, plan


async def report_progress(
    session: AsyncSession, task_id: uuid.UUID, report: ProgressInput, *, actor: str
) -> tuple[Task, ProgressReport]:
    task, plan = await task_and_plan(session, task_id, for_update=True)
    if plan.status != "issued":
        raise Conflict(f"the plan is {plan.status}; progress is reported on issued plans only")
    if task.withdrawn:
        raise Conflict("the task was withdrawn from its plan")
    status, faults = progress_status(task.status, report.status, report.percent_complete)
    if faults:
        raise ValidationFailed(
            [FieldError(field=f"body.{f.field}", message=f.message) for f in faults]
        )
    before = task_state(task)
    row = ProgressReport(
        id=uuid.uuid4(),
        task_id=task.id,
        status=status,
        percent_complete=report.percent_complete,
        note=report.note,
        evidence=list(report.evidence),
        reported_by=actor,
        reported_at=datetime.now(UTC),
    )
    session.add(row)
    task.status, task.percent_complete = status, report.percent_complete
    task.version += 1
    audit.record(
        session,
        entity_type="task",
        entity_id=task.id,
        plan_id=plan.id,
        action="progress",
        actor=actor,
        before=before,
        after=task_state(task),
        reason=report.note,
    )
    await session.flush()
    codes = await org_units.codes_by_id(session, [task.lead_org_unit_id])
    await ev.publish(
        session, ev.task_progress_reported(task, plan, codes.get(task.lead_org_unit_id), row)
    )
    return task, row


async def flag_overdue(session: AsyncSession, today: date) -> int:
    """Publish `task.overdue` for each task that passed its due date since the last run: once
    per task and due date (a new due date, after an amendment, may be flagged again)."""
    tasks = await plans.overdue_to_flag(session, today, OVERDUE_BATCH)
    if not tasks:
        return 0
    plan_by_id = {
        p.id: p for p in [await plans.get(session, pid) for pid in {t.plan_id for t in tasks}] if p
    }
    codes = await org_units.codes_by_id(session, [t.lead_org_unit_id for t in tasks])
    for task in tasks:
        task.overdue_flagged_for = task.due
    await session.flush()
    await ev.publish(
        session,
        *[
            ev.task_overdue(t, plan_by_id[t.plan_id], codes.get(t.lead_org_unit_id), today)
            for t in tasks
        ],
    )
    return len(tasks)
