"""``/api/v1/org-units/{id}/overview``: the IOC tile set of a unit in one call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from cchc_indicators.api.common import (
    Ctx,
    answer,
    descendant_check,
    figure_fields,
    instant,
    period_param,
    problems,
    unit_fields,
)
from cchc_indicators.api.indicators import BoundariesQuery, PeriodQuery
from cchc_indicators.domain.aggregates import combine
from cchc_indicators.domain.catalogue import BY_CODE, IndicatorCode
from cchc_indicators.domain.evaluate import evaluate
from cchc_indicators.service import figures
from cchc_indicators.store import reference
from cchc_shared.auth import CurrentPrincipal, ensure_in_scope
from cchc_shared.errors import FieldError, ValidationFailed

router = APIRouter(tags=["overview"])

TILES = (
    IndicatorCode.DOSSIER_RECEIVED,
    IndicatorCode.DOSSIER_ON_TIME_RATE,
    IndicatorCode.DOSSIER_OVERDUE_OPEN,
    IndicatorCode.DOSSIER_ONLINE_RATE,
    IndicatorCode.DOSSIER_ONLINE_PAYMENT_RATE,
    IndicatorCode.DOSSIER_DIGITIZED_RATE,
    IndicatorCode.DOSSIER_SYNCED_RATE,
    IndicatorCode.DOSSIER_AVG_PROCESSING_DAYS,
    IndicatorCode.DOSSIER_SATISFACTION_RATE,
)


@router.get(
    "/api/v1/org-units/{org_unit}/overview",
    summary="A unit's key indicators in one call (Tổng quan đơn vị)",
)
async def org_unit_overview(
    request: Request,
    ctx: Ctx,
    principal: CurrentPrincipal,
    org_unit: Annotated[
        str,
        Path(
            max_length=100,
            description="Unit id, code or slug; within your org unit's subtree when your "
            "account is limited to one (403 otherwise).",
        ),
    ],
    period: PeriodQuery = "this_month",
    boundaries: BoundariesQuery = "receipt",
) -> Response:
    """Each key indicator with its value, the previous period's value, and the status of the
    targets set on it for this unit (or province-wide targets, for a top-level unit)."""
    chosen = period_param(ctx, period)
    await ensure_in_scope(principal, org_unit, descendant_check(ctx), field="path.org_unit")
    with problems():
        scope = figures.resolve_scope(ctx, org_unit, boundaries, "path.org_unit")
    unit = scope.unit
    if unit is None:  # resolve_scope reads a blank reference as "no unit": here one is needed
        message = "give an org unit's id, code or slug"
        raise ValidationFailed([FieldError(field="path.org_unit", message=message)])
    previous = figures.previous_period(chosen)

    async def compute() -> dict[str, Any]:
        now = combine((await figures.dossier_sums(ctx, chosen, scope)).values())
        before = (
            combine((await figures.dossier_sums(ctx, previous, scope)).values())
            if previous
            else None
        )
        statuses = await reference.statuses(ctx.session)
        targets = await reference.targets_on(ctx.session, [c.value for c in TILES])
        top_level = unit.parent_code is None or unit.parent_code not in ctx.tree.units
        tiles = []
        for code in TILES:
            on_this = [
                {
                    "target_id": str(t.id),
                    "plan_id": str(p.id),
                    "plan_code": p.code,
                    "key": t.key,
                    "op": t.op,
                    "target_value": float(t.value),
                    "status": statuses[t.id].status if t.id in statuses else None,
                }
                for t, p in targets
                if t.measure == code.value
                and (t.scope_org_unit_id == unit.id if t.scope_org_unit_id else top_level)
            ]
            tiles.append(
                {
                    "indicator": code.value,
                    "name": BY_CODE[code].name,
                    "unit": BY_CODE[code].unit,
                    **figure_fields(evaluate(code, now)),
                    "previous_value": evaluate(code, before).value if before else None,
                    "targets": on_this,
                }
            )
        return {
            **unit_fields(unit),
            "period": chosen.label,
            "previous_period": previous.label if previous else None,
            "as_of": instant(ctx.freshness.as_of),
            "items": tiles,
        }

    return await answer(request, ctx, principal, compute)
