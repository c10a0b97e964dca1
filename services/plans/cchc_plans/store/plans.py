"""Every query on plans, targets and tasks."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Collection, Sequence
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, func, not_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.domain.catalogue import CLOSED_TASK_STATUSES
from cchc_plans.store.models import OrgUnit, Plan, ProgressReport, Target, Task
from cchc_plans.store.pagination import keyset


async def lock_plan_code(session: AsyncSession, province: str, code: str) -> None:
    """Serialise writers of one (province, code) until the transaction ends (two imports of the
    same new plan must not both insert it)."""
    key = zlib.crc32(f"plans:{province}:{code}".encode())
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


async def get(
    session: AsyncSession, plan_id: uuid.UUID, *, for_update: bool = False
) -> Plan | None:
    stmt = select(Plan).where(Plan.id == plan_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_code(session: AsyncSession, province: str, code: str) -> Plan | None:
    stmt = select(Plan).where(Plan.province == province, Plan.code == code)
    return (await session.execute(stmt)).scalar_one_or_none()


async def parent_id(session: AsyncSession, plan: Plan) -> uuid.UUID | None:
    if plan.parent_code is None:
        return None
    parent = await by_code(session, plan.province, plan.parent_code)
    return parent.id if parent else None


def plans_query(
    *, code: str | None, province: str | None, year: int | None, status: str | None
) -> Select[Plan]:
    stmt = select(Plan)
    if code is not None:
        stmt = stmt.where(Plan.code == code)
    if province is not None:
        stmt = stmt.where(Plan.province == province)
    if status is not None:
        stmt = stmt.where(Plan.status == status)
    if year is not None:
        stmt = stmt.where(
            Plan.period_from <= date(year, 12, 31), Plan.period_to >= date(year, 1, 1)
        )
    return stmt


async def plans_page(
    session: AsyncSession, stmt: Select[Plan], cursor: str | None, limit: int
) -> Sequence[Plan]:
    keys = [Plan.province, Plan.code]
    return list((await session.execute(keyset(stmt, keys, cursor, limit))).scalars())


async def targets_of(
    session: AsyncSession, plan_id: uuid.UUID, *, include_withdrawn: bool = True
) -> list[Target]:
    stmt = select(Target).where(Target.plan_id == plan_id).order_by(Target.position)
    if not include_withdrawn:
        stmt = stmt.where(Target.withdrawn.is_(False))
    return list((await session.execute(stmt)).scalars())


async def tasks_of(session: AsyncSession, plan_id: uuid.UUID) -> list[Task]:
    stmt = select(Task).where(Task.plan_id == plan_id).order_by(Task.position)
    return list((await session.execute(stmt)).scalars())


async def next_position(
    session: AsyncSession, model: type[Target] | type[Task], plan_id: uuid.UUID
) -> int:
    stmt = select(func.coalesce(func.max(model.position), -1) + 1).where(model.plan_id == plan_id)
    return int((await session.execute(stmt)).scalar_one())


async def get_target(
    session: AsyncSession, target_id: uuid.UUID, *, for_update: bool = False
) -> Target | None:
    stmt = select(Target).where(Target.id == target_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_task(
    session: AsyncSession, task_id: uuid.UUID, *, for_update: bool = False
) -> Task | None:
    stmt = select(Task).where(Task.id == task_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


def overdue_condition(today: date) -> ColumnElement[bool]:
    return and_(
        Task.due.is_not(None),
        Task.due < today,
        Task.status.not_in(CLOSED_TASK_STATUSES),
        Task.withdrawn.is_(False),
    )


async def tasks_page(
    session: AsyncSession,
    *,
    plan_id: uuid.UUID | None,
    lead: OrgUnit | None,
    status: str | None,
    overdue: bool | None,
    today: date,
    cursor: str | None,
    limit: int,
    led_within: ColumnElement[bool] | None = None,
) -> Sequence[Task]:
    stmt = select(Task).join(Plan, Plan.id == Task.plan_id).where(Task.withdrawn.is_(False))
    if led_within is not None:
        stmt = stmt.where(led_within)
    if plan_id is not None:
        stmt = stmt.where(Task.plan_id == plan_id)
    if lead is not None:
        stmt = stmt.where(_led_by(lead))
    if status is not None:
        stmt = stmt.where(Task.status == status)
    if overdue is not None:
        is_overdue = and_(Plan.status == "issued", overdue_condition(today))
        stmt = stmt.where(is_overdue if overdue else not_(is_overdue))
    keys = [Task.plan_id, Task.position]
    return list((await session.execute(keyset(stmt, keys, cursor, limit))).scalars())


def led_within(
    unit_ids: Collection[uuid.UUID], root: OrgUnit, root_parent_id: uuid.UUID | None
) -> ColumnElement[bool]:
    """Tasks a subtree leads: by one of its units, or its root as one of a group."""
    inside = Task.lead_org_unit_id.in_(unit_ids)
    if root_parent_id is None:
        return inside
    group = and_(Task.lead_group == root.level, Task.lead_org_unit_id == root_parent_id)
    return or_(inside, group)


def _led_by(unit: OrgUnit) -> ColumnElement[bool]:
    """Tasks the unit leads: by name, or as one of a group (`all-departments` of its province)."""
    direct = Task.lead_org_unit_id == unit.id
    if unit.parent_code is None:
        return direct
    parent_ids = select(OrgUnit.id).where(OrgUnit.code == unit.parent_code).scalar_subquery()
    group = and_(Task.lead_group == unit.level, Task.lead_org_unit_id == parent_ids)
    return or_(direct, group)


async def overdue_to_flag(session: AsyncSession, today: date, limit: int) -> list[Task]:
    """Tasks of issued plans past due and not yet flagged for their current due date; locked so
    two workers never flag the same task."""
    stmt = (
        select(Task)
        .join(Plan, Plan.id == Task.plan_id)
        .where(
            Plan.status == "issued",
            overdue_condition(today),
            or_(Task.overdue_flagged_for.is_(None), Task.overdue_flagged_for != Task.due),
        )
        .order_by(Task.due, Task.id)
        .limit(limit)
        .with_for_update(of=Task, skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def progress_page(
    session: AsyncSession, task_id: uuid.UUID, cursor: str | None, limit: int
) -> Sequence[ProgressReport]:
    stmt = select(ProgressReport).where(ProgressReport.task_id == task_id)
    keys = [ProgressReport.reported_at, ProgressReport.id]
    return list((await session.execute(keyset(stmt, keys, cursor, limit))).scalars())
