"""Every query on index frameworks, results and links."""

from __future__ import annotations

import uuid
import zlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Select, and_, delete, insert, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.store.models import (
    IndexFramework,
    IndexLink,
    IndexNode,
    IndexScore,
    IndexUnitResult,
    OrgUnit,
    Plan,
    ReportedFigure,
    Target,
    Task,
)
from cchc_plans.store.pagination import keyset


async def lock(session: AsyncSession, name: str) -> None:
    """Serialise writers of one name (a framework version, a framework's year) until commit."""
    key = zlib.crc32(f"indices:{name}".encode())
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


# Frameworks ------------------------------------------------------------------------------------


async def framework(session: AsyncSession, framework_id: uuid.UUID) -> IndexFramework | None:
    return await session.get(IndexFramework, framework_id)


async def framework_version(
    session: AsyncSession, code: str, version: str
) -> IndexFramework | None:
    stmt = select(IndexFramework).where(
        IndexFramework.code == code, IndexFramework.version == version
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def versions_of(session: AsyncSession, code: str) -> list[IndexFramework]:
    stmt = select(IndexFramework).where(IndexFramework.code == code)
    return list((await session.execute(stmt.order_by(IndexFramework.created_at))).scalars())


async def shipped_keys(session: AsyncSession) -> set[tuple[str, str]]:
    rows = await session.execute(select(IndexFramework.code, IndexFramework.version))
    return {(code, version) for code, version in rows.all()}


def frameworks_query(*, code: str | None, year: int | None) -> Select[IndexFramework]:
    stmt = select(IndexFramework)
    if code is not None:
        stmt = stmt.where(IndexFramework.code == code)
    if year is not None:
        stmt = stmt.where(
            or_(IndexFramework.valid_from_year.is_(None), IndexFramework.valid_from_year <= year),
            or_(IndexFramework.valid_to_year.is_(None), IndexFramework.valid_to_year >= year),
        )
    return stmt


async def frameworks_page(
    session: AsyncSession, stmt: Select[IndexFramework], cursor: str | None, limit: int
) -> Sequence[IndexFramework]:
    keys = [IndexFramework.code, IndexFramework.version]
    return list((await session.execute(keyset(stmt, keys, cursor, limit))).scalars())


async def nodes_of(session: AsyncSession, framework_id: uuid.UUID) -> list[IndexNode]:
    stmt = select(IndexNode).where(IndexNode.framework_id == framework_id)
    return list((await session.execute(stmt.order_by(IndexNode.position))).scalars())


async def nodes_of_many(
    session: AsyncSession, framework_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[IndexNode]]:
    found: dict[uuid.UUID, list[IndexNode]] = defaultdict(list)
    wanted = set(framework_ids)
    if wanted:
        stmt = select(IndexNode).where(IndexNode.framework_id.in_(wanted))
        for node in (await session.execute(stmt.order_by(IndexNode.position))).scalars():
            found[node.framework_id].append(node)
    return found


async def replace_nodes(
    session: AsyncSession, framework_id: uuid.UUID, rows: list[dict[str, Any]]
) -> None:
    await session.execute(delete(IndexNode).where(IndexNode.framework_id == framework_id))
    if rows:
        await session.execute(
            insert(IndexNode), [{"framework_id": framework_id, **row} for row in rows]
        )


# Results ---------------------------------------------------------------------------------------


async def result(session: AsyncSession, result_id: uuid.UUID) -> IndexUnitResult | None:
    return await session.get(IndexUnitResult, result_id)


async def result_of_unit(
    session: AsyncSession, framework_code: str, year: int, org_unit_id: uuid.UUID
) -> IndexUnitResult | None:
    stmt = select(IndexUnitResult).where(
        IndexUnitResult.framework_code == framework_code,
        IndexUnitResult.year == year,
        IndexUnitResult.org_unit_id == org_unit_id,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def peers(
    session: AsyncSession, framework_code: str, year: int, level: str
) -> list[IndexUnitResult]:
    stmt = select(IndexUnitResult).where(
        IndexUnitResult.framework_code == framework_code,
        IndexUnitResult.year == year,
        IndexUnitResult.level == level,
    )
    return list((await session.execute(stmt)).scalars())


async def scores_of(
    session: AsyncSession, result_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[IndexScore]]:
    found: dict[uuid.UUID, list[IndexScore]] = defaultdict(list)
    wanted = set(result_ids)
    if wanted:
        stmt = select(IndexScore).where(IndexScore.result_id.in_(wanted))
        for score in (await session.execute(stmt.order_by(IndexScore.position))).scalars():
            found[score.result_id].append(score)
    return found


async def replace_scores(
    session: AsyncSession, result_id: uuid.UUID, rows: list[dict[str, Any]]
) -> None:
    await session.execute(delete(IndexScore).where(IndexScore.result_id == result_id))
    if rows:
        await session.execute(insert(IndexScore), [{"result_id": result_id, **r} for r in rows])


def results_query(
    *,
    framework_code: str | None,
    year: int | None,
    level: str | None,
    org_unit_id: uuid.UUID | None,
    org_unit_ids: Collection[uuid.UUID] | None = None,
) -> Select[IndexUnitResult]:
    stmt = select(IndexUnitResult)
    if org_unit_ids is not None:
        stmt = stmt.where(IndexUnitResult.org_unit_id.in_(org_unit_ids))
    if framework_code is not None:
        stmt = stmt.where(IndexUnitResult.framework_code == framework_code)
    if year is not None:
        stmt = stmt.where(IndexUnitResult.year == year)
    if level is not None:
        stmt = stmt.where(IndexUnitResult.level == level)
    if org_unit_id is not None:
        stmt = stmt.where(IndexUnitResult.org_unit_id == org_unit_id)
    return stmt


async def results_page(
    session: AsyncSession, stmt: Select[IndexUnitResult], cursor: str | None, limit: int
) -> Sequence[IndexUnitResult]:
    keys = [IndexUnitResult.framework_code, IndexUnitResult.year, IndexUnitResult.id]
    return list((await session.execute(keyset(stmt, keys, cursor, limit))).scalars())


async def unit_by_slug(session: AsyncSession, province: str, slug: str) -> OrgUnit | None:
    stmt = select(OrgUnit).where(OrgUnit.province == province, OrgUnit.slug == slug)
    return (await session.execute(stmt)).scalar_one_or_none()


# Links -----------------------------------------------------------------------------------------


async def link(session: AsyncSession, link_id: uuid.UUID) -> IndexLink | None:
    return await session.get(IndexLink, link_id)


async def same_link(session: AsyncSession, candidate: IndexLink) -> IndexLink | None:
    stmt = select(IndexLink).where(
        IndexLink.framework_code == candidate.framework_code,
        IndexLink.component == candidate.component,
        IndexLink.item_kind == candidate.item_kind,
        IndexLink.plan_province == candidate.plan_province,
        IndexLink.plan_code == candidate.plan_code,
        IndexLink.item_key == candidate.item_key,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def links_query(
    *, framework_code: str | None, components: Sequence[str] | None, plan: Plan | None
) -> Select[IndexLink]:
    stmt = select(IndexLink)
    if framework_code is not None:
        stmt = stmt.where(IndexLink.framework_code == framework_code)
    if components is not None:
        stmt = stmt.where(IndexLink.component.in_(components))
    if plan is not None:
        stmt = stmt.where(
            IndexLink.plan_province == plan.province, IndexLink.plan_code == plan.code
        )
    return stmt


async def links_page(
    session: AsyncSession, stmt: Select[IndexLink], cursor: str | None, limit: int
) -> Sequence[IndexLink]:
    return list((await session.execute(keyset(stmt, [IndexLink.id], cursor, limit))).scalars())


async def links_to(
    session: AsyncSession, framework_code: str, components: Sequence[str]
) -> list[IndexLink]:
    stmt = links_query(framework_code=framework_code, components=components, plan=None)
    return list((await session.execute(stmt.order_by(IndexLink.created_at))).scalars())


async def link_keys(session: AsyncSession) -> set[tuple[str, ...]]:
    rows = await session.execute(
        select(
            IndexLink.framework_code,
            IndexLink.component,
            IndexLink.item_kind,
            IndexLink.plan_province,
            IndexLink.plan_code,
            IndexLink.item_key,
        )
    )
    return {tuple(row) for row in rows.all()}


async def linked_items(
    session: AsyncSession, model: type[Task] | type[Target], keys: Iterable[tuple[str, str, str]]
) -> list[tuple[Task | Target, Plan]]:
    """Tasks (or targets) named by (plan province, plan code, key), with their plans."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    stmt = (
        select(model, Plan)
        .join(Plan, Plan.id == model.plan_id)
        .where(tuple_(Plan.province, Plan.code, model.key).in_(wanted))
    )
    return [(cast(Task | Target, item), plan) for item, plan in (await session.execute(stmt)).all()]


async def items_naming(
    session: AsyncSession, model: type[Task] | type[Target], refs: Sequence[str]
) -> list[tuple[Task | Target, Plan]]:
    """Tasks (or targets) whose plan document names one of ``refs`` (`PAPI:4`) in
    `index_components`."""
    if not refs:
        return []
    stmt = (
        select(model, Plan)
        .join(Plan, Plan.id == model.plan_id)
        .where(
            and_(model.index_components.is_not(None), model.index_components.has_any(array(refs)))
        )
    )
    return [(cast(Task | Target, item), plan) for item, plan in (await session.execute(stmt)).all()]


async def latest_figures(
    session: AsyncSession, target_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ReportedFigure]:
    """The latest figure in force of each target (corrections replace the figures they fix)."""
    if not target_ids:
        return {}
    stmt = (
        select(ReportedFigure)
        .where(ReportedFigure.target_id.in_(target_ids), ReportedFigure.superseded_by_id.is_(None))
        .order_by(ReportedFigure.period_end, ReportedFigure.reported_at)
    )
    return {f.target_id: f for f in (await session.execute(stmt)).scalars()}
