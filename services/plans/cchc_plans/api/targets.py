"""`/api/v1/targets`: one target, its changes, and the figures reported for it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status

from cchc_plans.api import scope
from cchc_plans.api.deps import Cursor, Limit, PlanWriter, Reason, Reporter, actor_of
from cchc_plans.api.org_units import bad_cursor
from cchc_plans.api.plans import item_relocate
from cchc_plans.api.schemas import FigureIn, FigureOut, Page, TargetOut, TargetPatch
from cchc_plans.api.views import figure_view, target_view
from cchc_plans.service.documents import change_plan
from cchc_plans.service.figures import FigureReport, report_figure
from cchc_plans.store import figures, plans
from cchc_plans.store.models import Plan, Target
from cchc_plans.store.pagination import BadCursor, page
from cchc_shared.auth import CurrentPrincipal
from cchc_shared.db import DbSession
from cchc_shared.errors import Conflict, NotFound

router = APIRouter(prefix="/api/v1/targets", tags=["targets"])


async def _target(session: DbSession, target_id: uuid.UUID) -> tuple[Target, Plan]:
    target = await plans.get_target(session, target_id)
    if target is None:
        raise NotFound("target", target_id)
    plan = await plans.get(session, target.plan_id)
    assert plan is not None
    return target, plan


@router.get("/{target_id}", response_model=TargetOut)
async def get_target(session: DbSession, target_id: uuid.UUID) -> TargetOut:
    return target_view(*await _target(session, target_id))


@router.patch("/{target_id}", response_model=TargetOut)
async def update_target(
    session: DbSession,
    target_id: uuid.UUID,
    body: TargetPatch,
    principal: PlanWriter,
    reason: Reason = None,
) -> TargetOut:
    """Change a target (of an issued plan only as an amendment, with `reason`)."""
    target, plan = await _target(session, target_id)
    if target.withdrawn:
        raise Conflict("the target was withdrawn; add it again to the plan instead")
    sent = body.model_dump(mode="python", exclude_unset=True)
    index = 0

    def edit(raw: dict[str, Any]) -> dict[str, Any]:
        nonlocal index
        index = next(i for i, t in enumerate(raw["targets"]) if t["key"] == target.key)
        raw["targets"][index].update(sent)
        return raw

    outcome = await change_plan(
        session,
        plan.id,
        edit,
        actor=actor_of(principal),
        reason=reason,
        relocate=item_relocate("targets", lambda: index),
    )
    return target_view(target, outcome.plan)


@router.post("/{target_id}/reports", response_model=FigureOut, status_code=status.HTTP_201_CREATED)
async def add_report(
    session: DbSession, target_id: uuid.UUID, body: FigureIn, principal: Reporter
) -> FigureOut:
    """Report a figure for a `reported` target (số liệu báo cáo): a numerator and denominator, or
    a value. A second figure for the same period and org unit supersedes the first; both stay.
    A principal scoped to an org unit reports for its subtree only."""
    await scope.ensure_visible(session, principal, body.org_unit_id, "body.org_unit_id")
    figure = await report_figure(
        session,
        target_id,
        FigureReport(
            period=body.period,
            org_unit_id=body.org_unit_id,
            numerator=body.numerator,
            denominator=body.denominator,
            value=body.value,
            evidence=body.evidence,
            note=body.note,
        ),
        actor=actor_of(principal),
    )
    return figure_view(figure)


@router.get("/{target_id}/reports", response_model=Page[FigureOut])
async def list_reports(
    session: DbSession,
    target_id: uuid.UUID,
    principal: CurrentPrincipal,
    include_superseded: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[FigureOut]:
    """Figures reported for the target; with `include_superseded`, the corrected ones too. A
    principal limited to an org unit gets the figures of its subtree's units only."""
    await _target(session, target_id)
    seen = await scope.visible(session, principal)
    try:
        rows = await figures.figures_page(
            session,
            target_id,
            include_superseded=include_superseded,
            cursor=cursor,
            limit=limit,
            org_unit_ids=None if seen is None else seen.ids,
        )
    except BadCursor as exc:
        raise bad_cursor() from exc
    items, next_cursor = page(rows, limit, lambda f: [f.reported_at, f.id])
    return Page(items=[figure_view(f) for f in items], next_cursor=next_cursor)
