"""Queries on the reference data that events bring: org units, fields, procedures, plans."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, and_, case, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_indicators.store.models import (
    Base,
    Field,
    OrgUnit,
    Plan,
    ProcedureVersion,
    ReportedFigure,
    Target,
    TargetStatus,
)


async def upsert_versioned(
    session: AsyncSession,
    model: type[Base],
    values: dict[str, Any],
    *,
    key: Sequence[str],
    version_column: str = "version",
) -> bool:
    """Insert, or update only when the stored version is older; answer whether it applied."""
    table: Any = model.__table__
    stmt = pg_insert(table).values(**values)
    guarded = stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={k: stmt.excluded[k] for k in values if k not in key},
        where=table.c[version_column] < stmt.excluded[version_column],
    )
    return (await session.execute(guarded.returning(table.c[key[0]]))).first() is not None


# Org units


async def all_org_units(session: AsyncSession) -> Sequence[OrgUnit]:
    return (await session.execute(select(OrgUnit))).scalars().all()


async def save_paths(session: AsyncSession, paths: dict[str, list[str]]) -> None:
    for code, path in sorted(paths.items()):
        await session.execute(update(OrgUnit).where(OrgUnit.code == code).values(path=path))


# Fields and procedures


async def upsert_field(session: AsyncSession, code: str, name: str, group: str) -> None:
    stmt = pg_insert(Field).values(code=code, name=name, field_group=group)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Field.code], set_={"name": name, "field_group": group}
        )
    )


async def all_fields(session: AsyncSession) -> Sequence[Field]:
    return (await session.execute(select(Field))).scalars().all()


async def add_procedure_version(session: AsyncSession, values: dict[str, Any]) -> bool:
    stmt = pg_insert(ProcedureVersion).values(**values).on_conflict_do_nothing()
    result = await session.execute(stmt.returning(ProcedureVersion.code))
    return result.first() is not None


def _snapshot_versions(at: datetime | None) -> Any:
    """Per procedure, the version that stood at ``at`` (the latest when None).

    A procedure first recorded after ``at`` is taken in its earliest version: the catalogue is
    usually loaded long after the dates a plan asks about, and its validity dates, not the day
    we first saw it, say whether it was in force.
    """
    pv = ProcedureVersion
    stmt = select(pv).ext(distinct_on(pv.code))
    if at is None:
        return stmt.order_by(pv.code, pv.version.desc()).subquery()
    recorded_by_then = pv.recorded_at <= at
    # Among versions recorded by then the newest; failing any, the oldest.
    rank = case((recorded_by_then, -pv.version), else_=pv.version)
    return stmt.order_by(pv.code, recorded_by_then.desc(), rank).subquery()


def in_force_on(snapshot: Any, day: date) -> Any:
    return and_(
        or_(snapshot.c.valid_from.is_(None), snapshot.c.valid_from <= day),
        or_(snapshot.c.valid_to.is_(None), snapshot.c.valid_to >= day),
    )


CATALOG_COUNTS = (
    "procedures",
    "published",
    "online",
    "full_online",
    "eligible",
    "eligible_full_online",
    "full_online_on_portal",
    "has_fee",
    "has_fee_online_payment",
    "postal",
)


async def catalog_counts(
    session: AsyncSession,
    *,
    day: date,
    at: datetime | None,
    field_codes: Sequence[str] | None = None,
    by_field: bool = False,
) -> dict[str | None, dict[str, int]]:
    """The counts every catalogue indicator is made of, for procedures in force on ``day``
    (one entry per field with ``by_field``, else a single ``None`` entry)."""
    s = _snapshot_versions(at)
    full = s.c.online_level == "full"
    flags = {
        "procedures": True,
        "published": s.c.published,
        "online": s.c.online_level.in_(("full", "partial")),
        "full_online": full,
        "eligible": s.c.full_online_eligible,
        "eligible_full_online": and_(s.c.full_online_eligible, full),
        "full_online_on_portal": and_(full, s.c.on_national_portal),
        "has_fee": s.c.has_fee,
        "has_fee_online_payment": and_(s.c.has_fee, s.c.online_payment),
        "postal": s.c.postal,
    }
    columns = [
        (func.count() if flag is True else func.count().filter(flag)).label(name)
        for name, flag in flags.items()
    ]
    group = s.c.field_code if by_field else literal(None, type_=String)
    stmt = select(group.label("grp"), *columns).where(in_force_on(s, day))
    if field_codes is not None:
        stmt = stmt.where(s.c.field_code.in_(list(field_codes)))
    if by_field:
        stmt = stmt.group_by(s.c.field_code)
    return {
        row.grp: {name: int(row._mapping[name]) for name in CATALOG_COUNTS}
        for row in await session.execute(stmt)
    }


@dataclass(frozen=True, slots=True)
class CatalogGroup:
    key: str | None
    name: str | None
    count: int


async def catalog_make_up(
    session: AsyncSession, *, by: str, day: date, at: datetime | None
) -> list[CatalogGroup]:
    """Procedures in force on ``day``, counted per level group, online level or field."""
    s = _snapshot_versions(at)
    key: Any
    name: Any
    if by == "level":
        several = func.cardinality(s.c.levels) > 1
        key = case((several, "several"), else_=s.c.levels[1])
        name = func.min(key)
    elif by == "online_level":
        key = s.c.online_level
        name = func.min(key)
    else:
        key = s.c.field_code
        name = func.max(s.c.field_name)
    stmt = (
        select(key.label("key"), name.label("name"), func.count().label("count"))
        .where(in_force_on(s, day))
        .group_by(key)
        .order_by(func.count().desc(), key)
    )
    return [CatalogGroup(r[0], r[1], int(r[2])) for r in await session.execute(stmt)]


async def procedure_names(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    s = _snapshot_versions(None)
    rows = await session.execute(select(s.c.code, s.c.name).where(s.c.code.in_(list(codes))))
    return {code: name for code, name in rows}


# Plans, targets, reported figures, statuses


async def plan_by_id(session: AsyncSession, plan_id: uuid.UUID) -> Plan | None:
    return await session.get(Plan, plan_id)


async def targets_of(session: AsyncSession, plan_id: uuid.UUID) -> Sequence[Target]:
    stmt = select(Target).where(Target.plan_id == plan_id).order_by(Target.key)
    return (await session.execute(stmt)).scalars().all()


async def all_targets_with_plans(session: AsyncSession) -> list[tuple[Target, Plan]]:
    stmt = select(Target, Plan).join(Plan, Plan.id == Target.plan_id).order_by(Target.id)
    return [(t, p) for t, p in await session.execute(stmt)]


async def targets_on(session: AsyncSession, measures: Sequence[str]) -> list[tuple[Target, Plan]]:
    stmt = (
        select(Target, Plan)
        .join(Plan, Plan.id == Target.plan_id)
        .where(Target.measure.in_(list(measures)), Plan.status != "closed")
    )
    return [(t, p) for t, p in await session.execute(stmt)]


async def latest_figure(
    session: AsyncSession, target_id: uuid.UUID, *, by: datetime
) -> ReportedFigure | None:
    """The newest figure reported for a target by an instant that no later figure supersedes."""
    superseded = (
        select(ReportedFigure.supersedes_id)
        .where(ReportedFigure.supersedes_id.is_not(None), ReportedFigure.reported_at <= by)
        .scalar_subquery()
    )
    stmt = (
        select(ReportedFigure)
        .where(
            ReportedFigure.target_id == target_id,
            ReportedFigure.reported_at <= by,
            ReportedFigure.id.not_in(superseded),
        )
        .order_by(ReportedFigure.reported_at.desc(), ReportedFigure.version.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def statuses(session: AsyncSession) -> dict[uuid.UUID, TargetStatus]:
    rows = (await session.execute(select(TargetStatus))).scalars().all()
    return {row.target_id: row for row in rows}


async def save_status(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = pg_insert(TargetStatus).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[TargetStatus.target_id],
            set_={k: stmt.excluded[k] for k in values if k != "target_id"},
        )
    )
