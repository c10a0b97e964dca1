"""`/api/v1/org-units`: the hierarchy valid at a date, and planners' edits of it. A principal
limited to an org unit reads and edits its subtree only (`api.scope`)."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.api import scope
from cchc_plans.api.deps import Cursor, Limit, Planner, ProvinceFilter, actor_of
from cchc_plans.api.schemas import AuditOut, OrgUnitCreate, OrgUnitOut, OrgUnitPatch, Page
from cchc_plans.api.views import audit_view, org_unit_views
from cchc_plans.domain.catalogue import Level
from cchc_plans.domain.org_units import UnitSpec
from cchc_plans.service.clock import today_vn
from cchc_plans.service.org_units import UnitChange, change_unit, create_unit
from cchc_plans.store import audit, org_units
from cchc_plans.store.models import OrgUnit
from cchc_plans.store.pagination import BadCursor, page
from cchc_shared.auth import CurrentPrincipal, Forbidden, Principal
from cchc_shared.db import DbSession
from cchc_shared.errors import Conflict, FieldError, NotFound, ValidationFailed
from cchc_shared.types import IsoDate

router = APIRouter(prefix="/api/v1/org-units", tags=["org units"])


def bad_cursor() -> ValidationFailed:
    return ValidationFailed([FieldError(field="query.cursor", message="not a cursor of this list")])


@router.get("", response_model=Page[OrgUnitOut])
async def list_org_units(
    session: DbSession,
    principal: CurrentPrincipal,
    at: IsoDate | None = Query(None, description="The tree valid that day (default: today)."),
    all_periods: bool = Query(
        False, description="Every unit whatever its validity (ignores `at`)."
    ),
    level: Level | None = None,
    province: ProvinceFilter = None,
    parent_id: uuid.UUID | None = Query(
        None, description="Children of this unit (within your subtree when you are limited)."
    ),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[OrgUnitOut]:
    """Org units valid on a day (đơn vị hành chính tại một ngày), flat with `parent_id`. A
    principal limited to an org unit gets the units of its subtree only."""
    seen = await scope.visible(session, principal)
    parent_code = None
    if parent_id is not None:
        await scope.ensure_visible(session, principal, parent_id, "query.parent_id")
        parent = await org_units.get(session, parent_id)
        if parent is None:
            return Page(items=[], next_cursor=None)
        parent_code = parent.code
    stmt = org_units.list_query(
        at=None if all_periods else (at or today_vn()),
        level=level,
        province=province,
        parent_code=parent_code,
    )
    if seen is not None:
        stmt = stmt.where(OrgUnit.id.in_(seen.ids))
    try:
        rows = await org_units.list_page(session, stmt, cursor, limit)
    except BadCursor as exc:
        raise bad_cursor() from exc
    items, next_cursor = page(rows, limit, lambda u: [u.code])
    return Page(items=await org_unit_views(session, items), next_cursor=next_cursor)


async def _unit(session: AsyncSession, unit_id: uuid.UUID, principal: Principal) -> OrgUnit:
    """The unit, within the principal's subtree (403), held (404)."""
    await scope.ensure_visible(session, principal, unit_id, "path.unit_id")
    unit = await org_units.get(session, unit_id)
    if unit is None:
        raise NotFound("org unit", unit_id)
    return unit


@router.get("/{unit_id}", response_model=OrgUnitOut)
async def get_org_unit(
    session: DbSession, unit_id: uuid.UUID, principal: CurrentPrincipal
) -> OrgUnitOut:
    return (await org_unit_views(session, [await _unit(session, unit_id, principal)]))[0]


@router.get("/{unit_id}/history", response_model=Page[AuditOut])
async def org_unit_history(
    session: DbSession,
    unit_id: uuid.UUID,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AuditOut]:
    """Every change of the unit: who, when, before and after."""
    await _unit(session, unit_id, principal)
    try:
        rows = await audit.list_for_entity(session, unit_id, cursor, limit)
    except BadCursor as exc:
        raise bad_cursor() from exc
    items, next_cursor = page(rows, limit, lambda e: [e.id])
    return Page(items=[audit_view(e) for e in items], next_cursor=next_cursor)


async def _parent_code(session: AsyncSession, parent_id: uuid.UUID) -> str:
    codes = await org_units.codes_by_id(session, [parent_id])
    if parent_id not in codes:
        raise ValidationFailed([FieldError(field="body.parent_id", message="unknown org unit")])
    return codes[parent_id]


async def _successor_codes(session: AsyncSession, ids: list[uuid.UUID]) -> list[str]:
    codes = await org_units.codes_by_id(session, ids)
    missing = [i for i, unit_id in enumerate(ids) if unit_id not in codes]
    if missing:
        raise ValidationFailed(
            [
                FieldError(field=f"body.successor_ids[{i}]", message="unknown org unit")
                for i in missing
            ]
        )
    return [codes[i] for i in ids]


async def _ensure_may_place(
    session: AsyncSession,
    principal: Principal,
    parent_id: uuid.UUID | None,
    successor_ids: list[uuid.UUID],
    *,
    top: bool,
) -> None:
    """A limited planner's unit goes under, and hands over to, units of its subtree only; it
    makes no top-level unit (``top``)."""
    if principal.org_unit_scope is None:
        return
    if top:
        raise Forbidden(
            "A top-level unit is made only by a principal with no org-unit limit.",
            field="body.parent_id",
        )
    if parent_id is not None:
        await scope.ensure_visible(session, principal, parent_id, "body.parent_id")
    for i, successor in enumerate(successor_ids):
        await scope.ensure_visible(session, principal, successor, f"body.successor_ids[{i}]")


def _check_period(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from and valid_to and valid_to < valid_from:
        raise ValidationFailed([FieldError(field="body.valid_to", message="ends before it starts")])


@router.post("", response_model=OrgUnitOut, status_code=status.HTTP_201_CREATED)
async def create_org_unit(
    session: DbSession, body: OrgUnitCreate, principal: Planner
) -> OrgUnitOut:
    """Add a unit (a planner's edit; units also arrive from the one-stop agency list). A planner
    limited to an org unit adds units under its subtree only."""
    await _ensure_may_place(
        session, principal, body.parent_id, body.successor_ids, top=body.parent_id is None
    )
    _check_period(body.valid_from, body.valid_to)
    if await org_units.by_code(session, body.code) is not None:
        raise Conflict(f"org unit {body.code} exists already")
    parent = await _parent_code(session, body.parent_id) if body.parent_id else None
    successors = await _successor_codes(session, body.successor_ids)
    await _check_slug_free(session, body.province, body.slug, None)
    spec = UnitSpec(
        code=body.code,
        slug=body.slug,
        province=body.province,
        name=body.name,
        level=body.level,
        parent=parent,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
    )
    unit = await create_unit(session, spec, actor=actor_of(principal), source="planner")
    if successors:
        await change_unit(
            session, unit, UnitChange(successor_codes=successors), actor=actor_of(principal)
        )
    return (await org_unit_views(session, [unit]))[0]


async def _check_slug_free(
    session: AsyncSession, province: str | None, slug: str | None, unit_id: uuid.UUID | None
) -> None:
    if slug is None or province is None:
        return
    taken = [u for u in await org_units.in_province(session, province) if u.slug == slug]
    if taken and taken[0].id != unit_id:
        raise Conflict(f"slug {slug} is taken in {province} by {taken[0].code}")


@router.patch("/{unit_id}", response_model=OrgUnitOut)
async def update_org_unit(
    session: DbSession, unit_id: uuid.UUID, body: OrgUnitPatch, principal: Planner
) -> OrgUnitOut:
    """Change a unit with an effective date: to end it, set `valid_to` (its last day) and
    `successor_ids`; history is kept, never overwritten. A planner limited to an org unit
    changes units of its subtree only, and keeps them there."""
    found = await _unit(session, unit_id, principal)
    top = "parent_id" in body.model_fields_set and body.parent_id is None
    await _ensure_may_place(session, principal, body.parent_id, body.successor_ids or [], top=top)
    unit = await org_units.by_code(session, found.code, for_update=True)
    assert unit is not None
    sent = body.model_dump(exclude_unset=True)
    _check_period(sent.get("valid_from", unit.valid_from), sent.get("valid_to", unit.valid_to))
    await _check_slug_free(session, unit.province, sent.get("slug"), unit.id)
    parent_code = None
    if body.parent_id is not None:
        if body.parent_id == unit.id:
            raise ValidationFailed(
                [FieldError(field="body.parent_id", message="a unit is not its own parent")]
            )
        parent_code = await _parent_code(session, body.parent_id)
    successors = None
    if body.successor_ids is not None:
        successors = await _successor_codes(session, body.successor_ids)
    clear = frozenset(k for k, v in sent.items() if v is None)
    clear = frozenset("parent_code" if k == "parent_id" else k for k in clear)
    change = UnitChange(
        name=body.name,
        slug=body.slug,
        level=body.level,
        parent_code=parent_code,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        successor_codes=successors,
        clear=clear - {"name", "level"},
    )
    await change_unit(session, unit, change, actor=actor_of(principal))
    return (await org_unit_views(session, [unit]))[0]
