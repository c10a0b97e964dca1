"""Every query on org units."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.store.models import OrgUnit
from cchc_plans.store.pagination import keyset


def valid_on(day: date) -> ColumnElement[bool]:
    return and_(
        or_(OrgUnit.valid_from.is_(None), OrgUnit.valid_from <= day),
        or_(OrgUnit.valid_to.is_(None), OrgUnit.valid_to >= day),
    )


async def get(session: AsyncSession, unit_id: uuid.UUID) -> OrgUnit | None:
    return await session.get(OrgUnit, unit_id)


async def by_code(session: AsyncSession, code: str, *, for_update: bool = False) -> OrgUnit | None:
    stmt = select(OrgUnit).where(OrgUnit.code == code)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def ids_by_code(session: AsyncSession, codes: Iterable[str]) -> dict[str, uuid.UUID]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = await session.execute(select(OrgUnit.code, OrgUnit.id).where(OrgUnit.code.in_(wanted)))
    return {code: unit_id for code, unit_id in rows.all()}


async def codes_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(wanted)))
    return {unit_id: code for unit_id, code in rows.all()}


async def all_units(session: AsyncSession) -> list[OrgUnit]:
    """Every unit held (a few provinces' trees: hundreds to a few thousand rows)."""
    return list((await session.execute(select(OrgUnit))).scalars())


async def in_province(session: AsyncSession, province: str) -> list[OrgUnit]:
    stmt = select(OrgUnit).where(OrgUnit.province == province)
    return list((await session.execute(stmt)).scalars())


async def all_codes(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    return set((await ids_by_code(session, codes)).keys())


def list_query(
    *,
    at: date | None,
    level: str | None,
    province: str | None,
    parent_code: str | None,
) -> Select[OrgUnit]:
    stmt = select(OrgUnit)
    if at is not None:
        stmt = stmt.where(valid_on(at))
    if level is not None:
        stmt = stmt.where(OrgUnit.level == level)
    if province is not None:
        stmt = stmt.where(OrgUnit.province == province)
    if parent_code is not None:
        stmt = stmt.where(OrgUnit.parent_code == parent_code)
    return stmt


async def list_page(
    session: AsyncSession, stmt: Select[OrgUnit], cursor: str | None, limit: int
) -> Sequence[OrgUnit]:
    return list((await session.execute(keyset(stmt, [OrgUnit.code], cursor, limit))).scalars())


async def by_id_or_code(session: AsyncSession, ref: str) -> OrgUnit | None:
    try:
        return await get(session, uuid.UUID(ref))
    except ValueError:
        return await by_code(session, ref)
