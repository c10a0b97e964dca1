"""``/api/v1/scorecards``: every target of a plan with its indicator value and status."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from cchc_indicators.api.common import (
    Ctx,
    answer,
    figure_fields,
    instant,
    sees_province_wide,
    visible_units,
)
from cchc_indicators.domain.catalogue import BY_CODE, IndicatorCode
from cchc_indicators.service.context import ReadContext
from cchc_indicators.service.targets import Evaluation, due_date, scorecard
from cchc_indicators.store import reference
from cchc_shared.auth import CurrentPrincipal, Principal
from cchc_shared.errors import NotFound
from cchc_shared.types import IsoDate

router = APIRouter(tags=["scorecards"])
NO_FIGURE: dict[str, Any] = {"value": None, "numerator": None, "denominator": None}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def evaluation_fields(e: Evaluation) -> dict[str, Any]:
    t = e.target
    code = IndicatorCode.__members__.get(t.measure)
    reported = e.reported
    return {
        "target_id": str(t.id),
        "key": t.key,
        "text": t.text,
        "area": t.area,
        "measure": t.measure,
        "indicator_name": BY_CODE[code].name if code else "Chỉ số do đơn vị báo cáo",
        "source": BY_CODE[code].source if code else "reported",
        "op": t.op,
        "target_value": _number(t.value),
        "unit": t.unit,
        "filter": t.filter,
        "due": (d.isoformat() if (d := due_date(t, e.plan)) else None),
        "scope_org_unit_id": str(t.scope_org_unit_id) if t.scope_org_unit_id else None,
        **(
            figure_fields(e.figure)
            if e.figure
            else dict.fromkeys(("value", "numerator", "denominator"))
        ),
        "status": e.status,
        "gap": e.gap,
        "projected": e.projected,
        "reported": None
        if reported is None
        else {
            "figure_id": str(reported.id),
            "period": reported.period,
            "org_unit_id": str(reported.org_unit_id) if reported.org_unit_id else None,
            "reported_by": reported.reported_by,
            "reported_at": instant(reported.reported_at),
        },
        "note": e.note,
    }


@router.get("/api/v1/scorecards", summary="A plan's targets judged (Bảng đánh giá chỉ tiêu)")
async def plan_scorecard(
    request: Request,
    ctx: Ctx,
    principal: CurrentPrincipal,
    plan_id: Annotated[uuid.UUID, Query(description="The plan's id.")],
    at: Annotated[
        IsoDate | None, Query(description="Evaluate as of this date (default: today).")
    ] = None,
) -> Response:
    """Every target of the plan with its indicator value, status and gap to the target.

    Status: `achieved`, `on_track` / `at_risk` (before the due date, by the trend of the last
    three complete months), `missed` (after it), `no_data`.

    A caller limited to an org unit gets the targets set on units of its subtree only, and the
    province-wide ones only when its unit is the province's top unit: a target's figure is the
    figure of its unit's whole subtree.
    """
    plan = await reference.plan_by_id(ctx.session, plan_id)
    if plan is None:
        raise NotFound("Plan", plan_id)
    when = at or ctx.today

    async def compute() -> dict[str, Any]:
        shown = _shown_targets(ctx, principal)
        evaluations = [e for e in await scorecard(ctx, plan, when) if shown(e)]
        return {
            "plan_id": str(plan.id),
            "plan_code": plan.code,
            "title": plan.title,
            "status": plan.status,
            "at": when.isoformat(),
            "as_of": instant(ctx.freshness.as_of),
            "items": [evaluation_fields(e) for e in evaluations],
        }

    return await answer(request, ctx, principal, compute)


def _shown_targets(ctx: ReadContext, principal: Principal) -> Callable[[Evaluation], bool]:
    visible = visible_units(ctx, principal)
    province_wide = sees_province_wide(ctx, principal)

    def shown(e: Evaluation) -> bool:
        if e.target.scope_org_unit_id is None:
            return province_wide
        unit = ctx.tree.find(str(e.target.scope_org_unit_id))
        return unit is not None and visible(unit)

    return shown
