"""``/api/v1/indicators``: the catalogue, values, series and rankings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from cchc_indicators.api.common import (
    Answer,
    Asked,
    Ctx,
    answer,
    answered,
    as_response,
    decode_cursor,
    definition_of,
    encode_cursor,
    figure_fields,
    instant,
    org_unit_param,
    period_param,
    problems,
    unit_fields,
    visible_units,
)
from cchc_indicators.domain.catalogue import CATALOGUE
from cchc_indicators.domain.periods import Grain
from cchc_indicators.service import figures
from cchc_indicators.service.context import ReadContext
from cchc_indicators.service.figures import Boundaries, Breakdown
from cchc_shared.auth import SCOPE_NOTE, CurrentPrincipal, Principal

router = APIRouter(tags=["indicators"])

CodePath = Annotated[
    str, Path(description="Indicator code, e.g. `DOSSIER_ON_TIME_RATE`. (Mã chỉ số.)")
]
PeriodQuery = Annotated[
    str,
    Query(
        description="`2024-03-05`, `2024-03`, `2024-Q1`, `2024-H1`, `2024`, or `this_month`, "
        "`this_quarter`, `this_year`, `year_to_date`, `last_12_months`. (Kỳ báo cáo.)",
        max_length=40,
    ),
]
OrgUnitQuery = Annotated[
    str | None,
    Query(
        description="Org unit id (UUID), code (MaDinhDanh) or slug; its whole subtree counts. "
        "Omitted: every unit. (Đơn vị, tính cả các đơn vị trực thuộc.)" + SCOPE_NOTE,
        max_length=100,
    ),
]
BoundariesQuery = Annotated[
    Boundaries,
    Query(
        description="`receipt`: roll up along the hierarchy valid when each dossier was "
        "received; `today`: along today's hierarchy. (Địa giới tại thời điểm tiếp nhận / hôm nay.)"
    ),
]
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=500, description="Opaque cursor of a page.")]


@router.get("/api/v1/indicators", summary="The indicator catalogue (Danh mục chỉ số)")
async def list_indicators(
    request: Request,
    ctx: Ctx,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Every indicator of indicators.md with its Vietnamese name, unit and source (the same for
    every caller: it names no org unit)."""
    after = decode_cursor(cursor)
    start = int(after[0]) if after and isinstance(after[0], int) else 0
    page = CATALOGUE[start : start + limit]
    following = start + limit
    content = {
        "as_of": instant(ctx.freshness.as_of),
        "items": [
            {
                "code": d.code.value,
                "name": d.name,
                "name_en": d.name_en,
                "unit": d.unit,
                "definition": d.definition,
                "source": d.source,
                "higher_is_better": d.higher_is_better,
            }
            for d in page
        ],
        "next_cursor": encode_cursor([following]) if following < len(CATALOGUE) else None,
    }

    async def compute() -> dict[str, Any]:
        return content

    return await answer(request, ctx, principal, compute)


@dataclass(frozen=True, slots=True)
class ValuesQuestion:
    """The parameters of ``/values``, validated (by FastAPI, or by the fast path's parser)."""

    code: str
    period: str = "this_year"
    org_unit: str | None = None
    by: Breakdown | None = None
    boundaries: Boundaries = "receipt"


@dataclass(frozen=True, slots=True)
class SeriesQuestion:
    """The parameters of ``/series``, validated."""

    code: str
    from_: str
    to: str
    grain: Grain = Grain.MONTH
    org_unit: str | None = None
    boundaries: Boundaries = "receipt"


@router.get(
    "/api/v1/indicators/{code}/values",
    summary="An indicator's value for a unit and period (Giá trị chỉ số)",
)
async def indicator_values(
    request: Request,
    ctx: Ctx,
    principal: CurrentPrincipal,
    code: CodePath,
    period: PeriodQuery = "this_year",
    org_unit: OrgUnitQuery = None,
    by: Annotated[
        Breakdown | None,
        Query(
            description="One row per org unit (direct children), procedure, field, field "
            "group or channel. (Phân tổ.)"
        ),
    ] = None,
    boundaries: BoundariesQuery = "receipt",
) -> Response:
    """The value for the org unit's subtree and, with `by`, one row per group."""
    question = ValuesQuestion(code, period, org_unit, by, boundaries)
    return as_response(await values_answer(ctx, principal, question, Asked.of(request)))


async def values_answer(
    ctx: ReadContext, principal: Principal, question: ValuesQuestion, asked: Asked
) -> Answer:
    """``/values`` once its parameters are valid (the route and the fast path share it)."""
    definition = definition_of(question.code)
    chosen = period_param(ctx, question.period)
    unit_ref = await org_unit_param(ctx, principal, question.org_unit)
    boundaries, by = question.boundaries, question.by
    with problems():
        scope = figures.resolve_scope(ctx, unit_ref, boundaries)

    async def compute() -> dict[str, Any]:
        result = await figures.values(ctx, definition, chosen, scope, by)
        return {
            "indicator": definition.code.value,
            "name": definition.name,
            "unit": definition.unit,
            "source": definition.source,
            "period": chosen.label,
            "period_start": chosen.start.isoformat(),
            "period_end": chosen.last_day.isoformat(),
            "as_of": instant(ctx.freshness.as_of),
            **unit_fields(scope.unit),
            "boundaries": boundaries,
            "by": by,
            **figure_fields(result.figure),
            "rows": [
                {"key": r.key, "name": r.name, **figure_fields(r.figure)} for r in result.rows or []
            ],
        }

    return await answered(asked, ctx, principal, compute)


@router.get(
    "/api/v1/indicators/{code}/series",
    summary="An indicator period by period (Chuỗi giá trị theo kỳ)",
)
async def indicator_series(
    request: Request,
    ctx: Ctx,
    principal: CurrentPrincipal,
    code: CodePath,
    from_: Annotated[str, Query(alias="from", max_length=40, description="First period.")],
    to: Annotated[str, Query(max_length=40, description="Last period.")],
    grain: Annotated[Grain, Query(description="Period length of each point.")] = Grain.MONTH,
    org_unit: OrgUnitQuery = None,
    boundaries: BoundariesQuery = "receipt",
) -> Response:
    """One point per period from `from` to `to`; periods that have not started are left out."""
    question = SeriesQuestion(code, from_, to, grain, org_unit, boundaries)
    return as_response(await series_answer(ctx, principal, question, Asked.of(request)))


async def series_answer(
    ctx: ReadContext, principal: Principal, question: SeriesQuestion, asked: Asked
) -> Answer:
    """``/series`` once its parameters are valid (the route and the fast path share it)."""
    definition = definition_of(question.code)
    from_, to, grain, boundaries = question.from_, question.to, question.grain, question.boundaries
    period_param(ctx, from_, "query.from")
    unit_ref = await org_unit_param(ctx, principal, question.org_unit)
    with problems():
        scope = figures.resolve_scope(ctx, unit_ref, boundaries)

    async def compute() -> dict[str, Any]:
        points = await figures.series(ctx, definition, from_, to, grain, scope)
        return {
            "indicator": definition.code.value,
            "name": definition.name,
            "unit": definition.unit,
            "grain": grain.value,
            "as_of": instant(ctx.freshness.as_of),
            **unit_fields(scope.unit),
            "boundaries": boundaries,
            "points": [{"period": p.period.label, **figure_fields(p.figure)} for p in points],
        }

    return await answered(asked, ctx, principal, compute)


@router.get(
    "/api/v1/indicators/{code}/ranking",
    summary="Units of a level ranked by an indicator (Xếp hạng đơn vị)",
)
async def indicator_ranking(
    request: Request,
    ctx: Ctx,
    principal: CurrentPrincipal,
    code: CodePath,
    period: PeriodQuery = "this_year",
    level: Annotated[
        Literal["department", "district", "commune"], Query(description="Level ranked.")
    ] = "district",
    order: Annotated[Literal["desc", "asc"], Query(description="Best first: `desc`.")] = "desc",
    boundaries: BoundariesQuery = "receipt",
) -> Response:
    """Every unit of the level valid in the period, by its subtree's value; no value last.

    A caller limited to an org unit gets the units of its subtree only, each with its rank among
    all units of the level (its own standing; the other units' figures are not shown)."""
    definition = definition_of(code)
    chosen = period_param(ctx, period)
    visible = visible_units(ctx, principal)

    async def compute() -> dict[str, Any]:
        ranking = await figures.ranking(ctx, definition, chosen, level, order == "desc", boundaries)
        ranked = [r for r in ranking if visible(r.unit)]
        return {
            "indicator": definition.code.value,
            "name": definition.name,
            "period": chosen.label,
            "level": level,
            "order": order,
            "as_of": instant(ctx.freshness.as_of),
            "items": [
                {"rank": r.rank, **unit_fields(r.unit), **figure_fields(r.figure)} for r in ranked
            ],
        }

    return await answer(request, ctx, principal, compute)
