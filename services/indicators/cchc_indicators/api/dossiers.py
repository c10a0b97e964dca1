"""``/api/v1/dossiers/overdue``: open dossiers past due, and due within N days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from cchc_indicators.api.common import (
    Ctx,
    answer,
    decode_cursor,
    encode_cursor,
    instant,
    org_unit_param,
    problems,
    unit_fields,
)
from cchc_indicators.api.indicators import BoundariesQuery, Cursor, Limit, OrgUnitQuery
from cchc_indicators.domain.aggregates import Measure, combine
from cchc_indicators.domain.facts import OpenStatus, open_status_at
from cchc_indicators.domain.periods import Grain, period_of
from cchc_indicators.service import figures
from cchc_indicators.store.dossiers import open_dossiers_due_before
from cchc_shared.auth import CurrentPrincipal
from cchc_shared.errors import FieldError, ValidationFailed

router = APIRouter(tags=["dossiers"])


@router.get("/api/v1/dossiers/overdue", summary="Open dossiers past due (Hồ sơ quá hạn)")
async def overdue_dossiers(
    request: Request,
    ctx: Ctx,
    principal: CurrentPrincipal,
    org_unit: OrgUnitQuery = None,
    due_within_days: Annotated[
        int, Query(ge=0, le=90, description="Also list open dossiers due within N days.")
    ] = 0,
    boundaries: BoundariesQuery = "receipt",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """`overdue_open` counts open dossiers overdue by the end of today (from the aggregates);
    `items` lists open dossiers due before now + N days, oldest due first, each `overdue`
    (judged now) or `due_soon`."""
    unit_ref = await org_unit_param(ctx, principal, org_unit)
    with problems():
        scope = figures.resolve_scope(ctx, unit_ref, boundaries)
    after = _cursor(decode_cursor(cursor))

    async def compute() -> dict[str, Any]:
        today = period_of(ctx.today, Grain.DAY)
        sums = combine((await figures.dossier_sums(ctx, today, scope)).values())
        rows = await open_dossiers_due_before(
            ctx.session,
            before=ctx.now + timedelta(days=due_within_days),
            agencies=scope.agencies,
            after=after,
            limit=limit + 1,
        )
        page = rows[:limit]
        return {
            "as_of": instant(ctx.freshness.as_of),
            **unit_fields(scope.unit),
            "overdue_open": sums[Measure.OPEN_OVERDUE],
            "items": [
                {
                    "dossier_code": r.dossier_code,
                    "agency_code": r.agency_code,
                    "procedure_code": r.procedure_code,
                    "received_at": instant(r.received_at),
                    "due_at": instant(r.due_at),
                    "status": "overdue"
                    if open_status_at(r.facts, ctx.now) is OpenStatus.OVERDUE
                    else "due_soon",
                }
                for r in page
            ],
            "next_cursor": encode_cursor([instant(page[-1].due_at), page[-1].dossier_code])
            if len(rows) > limit
            else None,
        }

    return await answer(request, ctx, principal, compute)


def _cursor(values: list[Any] | None) -> tuple[datetime, str] | None:
    if values is None:
        return None
    try:
        due, code = values
        return datetime.fromisoformat(due), str(code)
    except (TypeError, ValueError):
        raise ValidationFailed(
            [FieldError(field="query.cursor", message="not a cursor this API gave")]
        ) from None
