"""`/api/v1/indices/results`: index results by year per unit: load (JSON, or a CSV / YAML file)
and read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.api import scope
from cchc_plans.api.deps import Cursor, Limit, PlanWriter, actor_of
from cchc_plans.api.index_bodies import read_index_file
from cchc_plans.api.index_schemas import LoadedUnitOut, ResultDetail, ResultOut, ResultsLoaded
from cchc_plans.api.index_views import result_detail, result_out
from cchc_plans.api.indices import (
    UNIT_PATTERN,
    OptionalFrameworkQuery,
    ProvinceQuery,
    unit_or_422,
)
from cchc_plans.api.org_units import bad_cursor
from cchc_plans.api.schemas import FILE_PROBLEMS, Page, unchanged_answer
from cchc_plans.domain.catalogue import Level
from cchc_plans.domain.index_results import ResultsDocument
from cchc_plans.service.index_analysis import evaluate, standings
from cchc_plans.service.index_results import LoadOutcome, load_results
from cchc_plans.store import indices as store
from cchc_plans.store import org_units
from cchc_plans.store.models import IndexFramework, OrgUnit
from cchc_plans.store.pagination import BadCursor, page
from cchc_shared.auth import CurrentPrincipal
from cchc_shared.db import DbSession
from cchc_shared.errors import NotFound

router = APIRouter(prefix="/api/v1/indices/results", tags=["indices"])

_RESULTS_FILE = {
    "requestBody": {
        "required": True,
        "description": "Results as CSV (columns: framework, version, year, province, unit, "
        "component, self_assessed, appraised, survey, score, evidence, note, total, rank, "
        "rank_of; one row per unit and component, a row without component carries the unit's "
        "total and rank; `,` `;` or tab separated; evidence items separated by `|`), or the "
        "JSON document as YAML or JSON (kết quả chỉ số dạng CSV, YAML hoặc JSON).",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/yaml": {"schema": {"$ref": "#/components/schemas/ResultsDocument"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/ResultsDocument"}},
        },
    }
}


def _loaded(outcome: LoadOutcome, response: Response) -> ResultsLoaded:
    counts = {k: sum(u.outcome == k for u in outcome.units) for k in ("created", "changed")}
    response.status_code = status.HTTP_201_CREATED if counts["created"] else status.HTTP_200_OK
    return ResultsLoaded(
        framework_code=outcome.framework.code,
        framework_version=outcome.framework.version,
        year=outcome.year,
        created=counts["created"],
        changed=counts["changed"],
        unchanged=len(outcome.units) - counts["created"] - counts["changed"],
        units=[
            LoadedUnitOut(
                unit_code=u.unit.code,
                org_unit_id=u.unit.id,
                result_id=u.result.id,
                outcome=u.outcome,
            )
            for u in outcome.units
        ],
    )


_RESULTS_EXISTED = unchanged_answer(ResultsLoaded, "Every unit had a result: changed or unchanged")


@router.post(
    "",
    response_model=ResultsLoaded,
    status_code=status.HTTP_201_CREATED,
    responses=_RESULTS_EXISTED,
)
async def post_results(
    session: DbSession, body: ResultsDocument, principal: PlanWriter, response: Response
) -> ResultsLoaded:
    """Load one index's results for one year (JSON). Each unit listed gets exactly the result
    the document states (scores left out are dropped); the same document again changes nothing.
    Announced as `vn.cchc.indices.results.loaded` / `.changed`.

    Nạp kết quả chỉ số của một năm; mỗi đơn vị được ghi đúng như tài liệu."""
    raw = body.model_dump(mode="python", exclude_unset=True)
    outcome = await load_results(session, raw, actor=actor_of(principal))
    return _loaded(outcome, response)


@router.post(
    "/import",
    response_model=ResultsLoaded,
    status_code=status.HTTP_201_CREATED,
    responses={**_RESULTS_EXISTED, **FILE_PROBLEMS},
    openapi_extra=_RESULTS_FILE,
)
async def import_results(
    request: Request, session: DbSession, principal: PlanWriter, response: Response
) -> ResultsLoaded:
    """Load a results file: CSV (`text/csv`), YAML or JSON, as `POST /api/v1/indices/results`.
    A fault in a CSV file is named by its row (`body.rows[4].appraised`, line 6 of the file).

    Nạp tệp kết quả chỉ số (CSV, YAML hoặc JSON); lỗi được chỉ rõ theo dòng."""
    raw, relocate = await read_index_file(request, csv_allowed=True)
    outcome = await load_results(session, raw, actor=actor_of(principal), relocate=relocate)
    return _loaded(outcome, response)


@router.get(
    "",
    response_model=Page[ResultOut],
    summary="Index results by year and unit (Kết quả chỉ số theo năm và đơn vị)",
)
async def list_results(
    session: DbSession,
    principal: CurrentPrincipal,
    framework: OptionalFrameworkQuery = None,
    year: Annotated[int | None, Query(ge=1990, le=2100, description="Year assessed.")] = None,
    level: Annotated[Level | None, Query(description="Units of this level (cấp).")] = None,
    unit: Annotated[
        str | None,
        Query(pattern=UNIT_PATTERN, max_length=100, description="Org unit: id, code or slug."),
    ] = None,
    province: ProvinceQuery = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ResultOut]:
    """Results held, each with its total (published, or the sum of the top-level components)
    and published rank; `GET /api/v1/indices/rankings` ranks them.

    Kết quả chỉ số đã nạp, kèm tổng điểm (công bố, hoặc cộng các lĩnh vực) và thứ hạng công
    bố.

    A principal limited to an org unit gets the results of its subtree's units only, and 403
    for a `unit` outside it."""
    org_unit = await unit_or_422(session, unit, province) if unit else None
    if org_unit is not None:
        await scope.ensure_visible(session, principal, org_unit.id, "query.unit")
    seen = await scope.visible(session, principal)
    stmt = store.results_query(
        framework_code=framework,
        year=year,
        level=level,
        org_unit_id=org_unit.id if org_unit else None,
        org_unit_ids=None if seen is None else seen.ids,
    )
    try:
        rows = await store.results_page(session, stmt, cursor, limit)
    except BadCursor as exc:
        raise bad_cursor() from exc
    items, next_cursor = page(rows, limit, lambda r: [r.framework_code, r.year, r.id])
    views = []
    for s in await evaluate(session, items):
        framework_row, unit_row = await _context(
            session, s.result.framework_id, s.result.org_unit_id
        )
        views.append(result_out(s, framework_row, unit_row))
    return Page(items=views, next_cursor=next_cursor)


async def _context(
    session: AsyncSession, framework_id: uuid.UUID, unit_id: uuid.UUID
) -> tuple[IndexFramework, OrgUnit]:
    framework_row = await store.framework(session, framework_id)
    unit_row = await org_units.get(session, unit_id)
    assert framework_row is not None and unit_row is not None  # foreign keys
    return framework_row, unit_row


@router.get(
    "/{result_id}",
    response_model=ResultDetail,
    summary="One unit's result with its component scores (Kết quả chi tiết của một đơn vị)",
)
async def get_result(
    session: DbSession, result_id: uuid.UUID, principal: CurrentPrincipal
) -> ResultDetail:
    """A unit's result for a year: every component's self-assessed, appraised and survey scores
    with evidence, the score the analysis uses, the total and the rank among its peers.

    Kết quả của một đơn vị trong một năm: điểm tự đánh giá, thẩm định, điều tra xã hội học và
    tài liệu kiểm chứng của từng thành phần, tổng điểm và thứ hạng."""
    result = await store.result(session, result_id)
    if result is None:
        raise NotFound("index result", result_id)
    await scope.ensure_visible(session, principal, result.org_unit_id, "path.result_id")
    found = await standings(session, result.framework_code, result.year, result.level)
    mine = next(s for s in found if s.result.id == result.id)
    framework_row, unit_row = await _context(session, result.framework_id, result.org_unit_id)
    return result_detail(mine, framework_row, unit_row)
