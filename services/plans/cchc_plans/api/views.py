"""Rows to response bodies (the lookups they need are batched)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.api.schemas import (
    AuditOut,
    FigureOut,
    OrgUnitOut,
    PeriodOut,
    PlanDetail,
    PlanOut,
    ProgressOut,
    TargetOut,
    TaskOut,
)
from cchc_plans.domain.tasks import is_overdue
from cchc_plans.store import org_units, plans
from cchc_plans.store.models import (
    AuditEntry,
    OrgUnit,
    Plan,
    ProgressReport,
    ReportedFigure,
    Target,
    Task,
)


async def org_unit_views(session: AsyncSession, units: Sequence[OrgUnit]) -> list[OrgUnitOut]:
    codes = {c for u in units for c in (u.parent_code, *u.successor_codes) if c}
    ids = await org_units.ids_by_code(session, codes)
    return [
        OrgUnitOut(
            id=u.id,
            code=u.code,
            slug=u.slug,
            province=u.province,
            name=u.name,
            level=u.level,
            parent_id=ids.get(u.parent_code) if u.parent_code else None,
            parent_code=u.parent_code,
            valid_from=u.valid_from,
            valid_to=u.valid_to,
            successor_ids=[ids[c] for c in u.successor_codes if c in ids],
            successor_codes=list(u.successor_codes),
            source=u.source,
            version=u.version,
        )
        for u in units
    ]


def target_view(target: Target, plan: Plan) -> TargetOut:
    return TargetOut.model_validate(
        {
            **_columns(target),
            "value": float(target.value),
            "effective_due": target.due or plan.period_to,
        }
    )


def task_view(task: Task, plan: Plan, today: date) -> TaskOut:
    overdue = is_overdue(
        due=task.due,
        status=task.status,
        withdrawn=task.withdrawn,
        plan_status=plan.status,
        today=today,
    )
    return TaskOut.model_validate({**_columns(task), "plan_code": plan.code, "overdue": overdue})


async def task_views(session: AsyncSession, tasks: Sequence[Task], today: date) -> list[TaskOut]:
    plan_ids = {t.plan_id for t in tasks}
    by_id: dict[uuid.UUID, Plan] = {}
    for plan_id in plan_ids:
        plan = await plans.get(session, plan_id)
        if plan is not None:
            by_id[plan_id] = plan
    return [task_view(t, by_id[t.plan_id], today) for t in tasks]


async def plan_view(session: AsyncSession, plan: Plan) -> PlanOut:
    return PlanOut.model_validate(await _plan_fields(session, plan))


async def _plan_fields(session: AsyncSession, plan: Plan) -> dict[str, object]:
    return {
        **_columns(plan),
        "period": PeriodOut(from_=plan.period_from, to=plan.period_to),
        "parent_id": await plans.parent_id(session, plan),
    }


async def plan_detail(
    session: AsyncSession, plan: Plan, today: date, *, include_withdrawn: bool = False
) -> PlanDetail:
    targets = await plans.targets_of(session, plan.id)
    tasks = await plans.tasks_of(session, plan.id)
    return PlanDetail.model_validate(
        {
            **await _plan_fields(session, plan),
            "targets": [
                target_view(t, plan) for t in targets if include_withdrawn or not t.withdrawn
            ],
            "tasks": [
                task_view(t, plan, today) for t in tasks if include_withdrawn or not t.withdrawn
            ],
        }
    )


def progress_view(report: ProgressReport) -> ProgressOut:
    return ProgressOut.model_validate(_columns(report))


def figure_view(figure: ReportedFigure) -> FigureOut:
    return FigureOut.model_validate(
        {
            **_columns(figure),
            "numerator": float(figure.numerator) if figure.numerator is not None else None,
            "denominator": float(figure.denominator) if figure.denominator is not None else None,
            "value": float(figure.value),
            "current": figure.superseded_by_id is None,
        }
    )


def audit_view(entry: AuditEntry) -> AuditOut:
    return AuditOut.model_validate(_columns(entry))


def _columns(row: object) -> dict[str, object]:
    table = row.__table__  # type: ignore[attr-defined]
    return {c.key: getattr(row, c.key) for c in table.columns}
