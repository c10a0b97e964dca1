"""`/api/v1/plans`: plans, their import, lifecycle and audit trail, their targets and tasks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.api.bodies import read_document
from cchc_plans.api.deps import Cursor, Limit, PlanWriter, ProvinceFilter, Reason, actor_of
from cchc_plans.api.org_units import bad_cursor
from cchc_plans.api.schemas import (
    FILE_PROBLEMS,
    AuditOut,
    ImportResult,
    Page,
    PlanDetail,
    PlanOut,
    PlanPatch,
    TargetOut,
    TaskOut,
    unchanged_answer,
)
from cchc_plans.api.views import audit_view, plan_detail, plan_view, target_view, task_views
from cchc_plans.domain.catalogue import PlanStatus
from cchc_plans.domain.documents import NO_NUL, Loc, PlanDocument, TargetDoc, TaskDoc
from cchc_plans.service.clock import today_vn
from cchc_plans.service.documents import Outcome, change_plan, close_plan, import_document
from cchc_plans.store import audit, plans
from cchc_plans.store.models import Plan
from cchc_plans.store.pagination import BadCursor, page
from cchc_shared.db import DbSession
from cchc_shared.errors import NotFound, field_path

router = APIRouter(tags=["plans"])

_DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "description": "A plan in the form of shared/domain/plans/*.yaml "
        "(kế hoạch dạng YAML/JSON).",
        "content": {
            "application/yaml": {"schema": {"$ref": "#/components/schemas/PlanDocument"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/PlanDocument"}},
        },
    }
}


async def _result(session: AsyncSession, outcome: Outcome, response: Response) -> ImportResult:
    created = outcome.result == "created"
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return ImportResult(
        result=outcome.result,
        targets_changed=outcome.targets_changed,
        tasks_changed=outcome.tasks_changed,
        plan=await plan_detail(session, outcome.plan, today_vn()),
    )


@router.post(
    "/api/v1/plans/import",
    response_model=ImportResult,
    status_code=status.HTTP_201_CREATED,
    responses={
        **unchanged_answer(ImportResult, "The plan existed: updated, amended or unchanged"),
        **FILE_PROBLEMS,
    },
    openapi_extra=_DOCUMENT_BODY,
)
async def import_plan(
    request: Request,
    response: Response,
    session: DbSession,
    principal: PlanWriter,
    reason: Reason = None,
) -> ImportResult:
    """Import a plan document (YAML or JSON). A new plan is `issued` unless the document says
    `status: draft`; the same document again changes nothing; a changed document updates a draft,
    and amends an issued plan only with `reason`. Every fault is listed with its path, and
    nothing of a faulty document is stored."""
    document = await read_document(request)
    outcome = await import_document(session, document, actor=actor_of(principal), reason=reason)
    return await _result(session, outcome, response)


@router.post("/api/v1/plans", response_model=ImportResult, status_code=status.HTTP_201_CREATED)
async def create_plan(
    session: DbSession, body: PlanDocument, principal: PlanWriter, response: Response
) -> ImportResult:
    """Create a plan (a draft unless `status: issued`); 409 if its code exists in its province."""
    raw = body.model_dump(mode="python", by_alias=True, exclude_unset=True)
    outcome = await import_document(
        session,
        raw,
        actor=actor_of(principal),
        reason=None,
        default_status="draft",
        create_only=True,
    )
    return await _result(session, outcome, response)


@router.get("/api/v1/plans", response_model=Page[PlanOut])
async def list_plans(
    session: DbSession,
    code: str | None = Query(
        None, max_length=200, pattern=NO_NUL, description="Document number, e.g. 4212/KH-UBND."
    ),
    province: ProvinceFilter = None,
    year: int | None = Query(None, ge=1900, le=2999, description="Plans whose period touches it."),
    status_: PlanStatus | None = Query(None, alias="status"),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[PlanOut]:
    stmt = plans.plans_query(code=code, province=province, year=year, status=status_)
    try:
        rows = await plans.plans_page(session, stmt, cursor, limit)
    except BadCursor as exc:
        raise bad_cursor() from exc
    items, next_cursor = page(rows, limit, lambda p: [p.province, p.code])
    return Page(items=[await plan_view(session, p) for p in items], next_cursor=next_cursor)


async def get_plan_or_404(session: AsyncSession, plan_id: uuid.UUID) -> Plan:
    plan = await plans.get(session, plan_id)
    if plan is None:
        raise NotFound("plan", plan_id)
    return plan


@router.get("/api/v1/plans/{plan_id}", response_model=PlanDetail)
async def get_plan(
    session: DbSession, plan_id: uuid.UUID, include_withdrawn: bool = False
) -> PlanDetail:
    plan = await get_plan_or_404(session, plan_id)
    return await plan_detail(session, plan, today_vn(), include_withdrawn=include_withdrawn)


def _header_relocate(loc: Loc) -> tuple[Loc, str | None]:
    if loc and loc[0] in ("targets", "tasks"):
        return ("body", "period"), field_path(loc)
    return ("body", *loc), None


@router.patch("/api/v1/plans/{plan_id}", response_model=PlanDetail)
async def update_plan(
    session: DbSession,
    plan_id: uuid.UUID,
    body: PlanPatch,
    principal: PlanWriter,
    reason: Reason = None,
) -> PlanDetail:
    """Change the header or the status: `issued` issues a draft, `closed` closes an issued plan.
    An issued plan's header changes only as an amendment, with `reason`."""
    sent = body.model_dump(mode="python", by_alias=True, exclude_unset=True)
    requested = sent.pop("status", None)

    def edit(raw: dict[str, Any]) -> dict[str, Any]:
        raw.update(sent)
        if requested in ("draft", "issued"):
            raw["status"] = requested
        return raw

    plan = await get_plan_or_404(session, plan_id)
    if sent or requested in ("draft", "issued"):
        plan = (
            await change_plan(
                session,
                plan_id,
                edit,
                actor=actor_of(principal),
                reason=reason,
                relocate=_header_relocate,
            )
        ).plan
    if requested == "closed":
        plan = await close_plan(session, plan_id, actor=actor_of(principal), reason=reason)
    return await plan_detail(session, plan, today_vn())


@router.get("/api/v1/plans/{plan_id}/audit", response_model=Page[AuditOut])
async def plan_audit(
    session: DbSession, plan_id: uuid.UUID, limit: Limit = 50, cursor: Cursor = None
) -> Page[AuditOut]:
    """The plan's audit trail (nhật ký thay đổi): every change of it, its targets, tasks and
    figures: who, when, before, after, and the reason of amendments."""
    await get_plan_or_404(session, plan_id)
    try:
        rows = await audit.list_for_plan(session, plan_id, cursor, limit)
    except BadCursor as exc:
        raise bad_cursor() from exc
    items, next_cursor = page(rows, limit, lambda e: [e.id])
    return Page(items=[audit_view(e) for e in items], next_cursor=next_cursor)


def item_relocate(name: str, index: Callable[[], int]) -> Callable[[Loc], tuple[Loc, str | None]]:
    """Faults of the one target or task a request sends are the request body's faults."""

    def relocate(loc: Loc) -> tuple[Loc, str | None]:
        if len(loc) >= 2 and loc[0] == name and loc[1] == index():
            return ("body", *loc[2:]), None
        return ("body",), field_path(loc)

    return relocate


@router.get("/api/v1/plans/{plan_id}/targets", response_model=Page[TargetOut])
async def list_targets(
    session: DbSession,
    plan_id: uuid.UUID,
    include_withdrawn: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TargetOut]:
    plan = await get_plan_or_404(session, plan_id)
    rows = [
        t for t in await plans.targets_of(session, plan.id) if include_withdrawn or not t.withdrawn
    ]
    items, next_cursor = _slice(rows, cursor, limit, lambda t: t.position)
    return Page(items=[target_view(t, plan) for t in items], next_cursor=next_cursor)


@router.get("/api/v1/plans/{plan_id}/tasks", response_model=Page[TaskOut])
async def list_plan_tasks(
    session: DbSession,
    plan_id: uuid.UUID,
    include_withdrawn: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TaskOut]:
    plan = await get_plan_or_404(session, plan_id)
    rows = [
        t for t in await plans.tasks_of(session, plan.id) if include_withdrawn or not t.withdrawn
    ]
    items, next_cursor = _slice(rows, cursor, limit, lambda t: t.position)
    return Page(items=await task_views(session, items, today_vn()), next_cursor=next_cursor)


def _slice(
    rows: list[Any], cursor: str | None, limit: int, position: Callable[[Any], int]
) -> tuple[list[Any], str | None]:
    """A plan holds tens of items: page them in memory, by position."""
    from cchc_plans.store.models import Target
    from cchc_plans.store.pagination import decode_cursor

    if cursor is not None:
        try:
            after = decode_cursor(cursor, [Target.position])[0]
        except BadCursor as exc:
            raise bad_cursor() from exc
        rows = [r for r in rows if position(r) > after]
    return page(rows, limit, lambda r: [position(r)])


@router.post(
    "/api/v1/plans/{plan_id}/targets", response_model=TargetOut, status_code=status.HTTP_201_CREATED
)
async def add_target(
    session: DbSession,
    plan_id: uuid.UUID,
    body: TargetDoc,
    principal: PlanWriter,
    reason: Reason = None,
) -> TargetOut:
    """Add a target (to an issued plan only as an amendment, with `reason`)."""
    added = body.model_dump(mode="python", exclude_unset=True)
    position = 0

    def edit(raw: dict[str, Any]) -> dict[str, Any]:
        nonlocal position
        position = len(raw["targets"])
        raw["targets"].append(added)
        return raw

    outcome = await change_plan(
        session,
        plan_id,
        edit,
        actor=actor_of(principal),
        reason=reason,
        relocate=item_relocate("targets", lambda: position),
    )
    target = next(t for t in await plans.targets_of(session, plan_id) if t.key == body.key)
    return target_view(target, outcome.plan)


@router.post(
    "/api/v1/plans/{plan_id}/tasks", response_model=TaskOut, status_code=status.HTTP_201_CREATED
)
async def add_task(
    session: DbSession,
    plan_id: uuid.UUID,
    body: TaskDoc,
    principal: PlanWriter,
    reason: Reason = None,
) -> TaskOut:
    """Add a task (to an issued plan only as an amendment, with `reason`)."""
    added = body.model_dump(mode="python", exclude_unset=True)
    position = 0

    def edit(raw: dict[str, Any]) -> dict[str, Any]:
        nonlocal position
        position = len(raw["tasks"])
        raw["tasks"].append(added)
        return raw

    await change_plan(
        session,
        plan_id,
        edit,
        actor=actor_of(principal),
        reason=reason,
        relocate=item_relocate("tasks", lambda: position),
    )
    task = next(t for t in await plans.tasks_of(session, plan_id) if t.key == body.key)
    return (await task_views(session, [task], today_vn()))[0]
