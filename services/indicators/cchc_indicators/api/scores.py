"""``/api/v1/scores/qd766``: the QĐ 766 sub-scores our data supports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from cchc_indicators.api.common import (
    Ctx,
    answer,
    instant,
    org_unit_param,
    period_param,
    problems,
    unit_fields,
)
from cchc_indicators.api.indicators import BoundariesQuery, OrgUnitQuery, PeriodQuery
from cchc_indicators.service import figures
from cchc_indicators.service.scores import qd766
from cchc_shared.auth import CurrentPrincipal

router = APIRouter(tags=["scores"])


@router.get("/api/v1/scores/qd766", summary="QĐ 766 sub-scores (Điểm thành phần QĐ 766)")
async def qd766_scores(
    request: Request,
    ctx: Ctx,
    principal: CurrentPrincipal,
    period: PeriodQuery = "this_year",
    org_unit: OrgUnitQuery = None,
    boundaries: BoundariesQuery = "receipt",
) -> Response:
    """Estimates by the portal's rule, score = max × min(1, ratio / threshold); where the
    portal's official score is known, the portal's stands."""
    chosen = period_param(ctx, period)
    unit_ref = await org_unit_param(ctx, principal, org_unit)
    with problems():
        scope = figures.resolve_scope(ctx, unit_ref, boundaries)

    async def compute() -> dict[str, Any]:
        scores = await qd766(ctx, chosen, scope)
        return {
            "period": chosen.label,
            "as_of": instant(ctx.freshness.as_of),
            **unit_fields(scope.unit),
            "estimate": True,
            "items": [
                {
                    "code": s.code,
                    "name": s.name,
                    "group": s.group,
                    "ratio": s.ratio,
                    "threshold": s.threshold,
                    "attainment": s.attainment,
                    "max_points": s.max_points,
                    "points": s.points,
                }
                for s in scores
            ],
        }

    return await answer(request, ctx, principal, compute)
