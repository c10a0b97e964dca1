"""`/api/v1/indices`: index frameworks, and what results say (ranking, analysis, the plan work
serving a component). Results and links have their own routers (index_results, index_links)."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.api import scope
from cchc_plans.api.deps import Cursor, Limit, PlanWriter, actor_of
from cchc_plans.api.index_bodies import read_index_file
from cchc_plans.api.index_schemas import (
    AnalysisOut,
    ComponentWorkOut,
    FrameworkDetail,
    FrameworkLoaded,
    FrameworkOut,
    StandingOut,
)
from cchc_plans.api.index_views import (
    analysis_out,
    framework_detail,
    framework_out,
    linked_target_out,
    linked_task_out,
    num,
    rank_out,
    unit_out,
)
from cchc_plans.api.org_units import bad_cursor
from cchc_plans.api.schemas import FILE_PROBLEMS, Page, unchanged_answer
from cchc_plans.domain.catalogue import Level
from cchc_plans.domain.index_frameworks import (
    FrameworkCode,
    FrameworkDocument,
    NodeCode,
    framework_faults,
)
from cchc_plans.service.clock import today_vn
from cchc_plans.service.index_analysis import standing_of, standings
from cchc_plans.service.index_frameworks import (
    FrameworkOutcome,
    failed,
    load_framework,
    validate_framework,
)
from cchc_plans.service.index_links import component_work
from cchc_plans.service.index_results import find_unit
from cchc_plans.store import indices as store
from cchc_plans.store import org_units
from cchc_plans.store.models import IndexFramework, OrgUnit
from cchc_plans.store.pagination import BadCursor, encode_cursor, page
from cchc_shared.auth import CurrentPrincipal
from cchc_shared.db import DbSession
from cchc_shared.errors import FieldError, NotFound, ValidationFailed

router = APIRouter(prefix="/api/v1/indices", tags=["indices"])

FrameworkQuery = Annotated[
    FrameworkCode,
    Query(description="Index code: `PAR_INDEX`, `SIPAS`, `PAPI`... (mã chỉ số)."),
]
OptionalFrameworkQuery = Annotated[
    FrameworkCode | None,
    Query(description="Index code: `PAR_INDEX`, `SIPAS`, `PAPI`... (mã chỉ số)."),
]
YearQuery = Annotated[int, Query(ge=1990, le=2100, description="Year assessed (năm đánh giá).")]
UNIT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.-]*$"
UnitQuery = Annotated[
    str,
    Query(
        pattern=UNIT_PATTERN,
        max_length=100,
        description="Org unit: id, code (MaDinhDanh), or slug with `province` "
        "(đơn vị: mã định danh hoặc slug).",
    ),
]
ProvinceQuery = Annotated[
    str | None,
    Query(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64, description="Province of a slug."),
]

_FRAMEWORK_FILE = {
    "requestBody": {
        "required": True,
        "description": "A framework in the form of cchc_plans/indices/frameworks/*.yaml "
        "(bộ chỉ số dạng YAML/JSON).",
        "content": {
            t: {"schema": {"$ref": "#/components/schemas/FrameworkDocument"}}
            for t in ("application/yaml", "application/json")
        },
    }
}


def encode_offset(offset: int) -> str:
    return encode_cursor(["offset", offset])


def decode_offset(cursor: str | None) -> int:
    """Rankings are computed, not stored: their cursor is a position in the ranking."""
    if cursor is None:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, offset = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise BadCursor("not a cursor of this list") from exc
    if kind != "offset" or not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise BadCursor("not a cursor of this list")
    return offset


def _loaded(outcome: FrameworkOutcome, response: Response) -> FrameworkLoaded:
    created = outcome.result == "created"
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return FrameworkLoaded(result=outcome.result, framework=framework_detail(outcome.framework))


_FRAMEWORK_EXISTED = unchanged_answer(FrameworkLoaded, "The version existed: updated or unchanged")


@router.post(
    "/frameworks",
    response_model=FrameworkLoaded,
    status_code=status.HTTP_201_CREATED,
    responses=_FRAMEWORK_EXISTED,
)
async def post_framework(
    session: DbSession, body: FrameworkDocument, principal: PlanWriter, response: Response
) -> FrameworkLoaded:
    """Load a framework version (JSON). The same code and version again replaces its nodes
    (e.g. with the official maximum scores); an identical document changes nothing. A node
    whose children's maximum scores add up to more than its own is refused with its path.

    Nạp một phiên bản bộ chỉ số; nút có tổng điểm tối đa của các nút con vượt điểm tối đa
    của nó bị từ chối, kèm đường dẫn của nút."""
    faults = framework_faults(body)
    if faults:
        raise failed(faults)
    outcome = await load_framework(session, body, actor=actor_of(principal))
    return _loaded(outcome, response)


@router.post(
    "/frameworks/import",
    response_model=FrameworkLoaded,
    status_code=status.HTTP_201_CREATED,
    responses={**_FRAMEWORK_EXISTED, **FILE_PROBLEMS},
    openapi_extra=_FRAMEWORK_FILE,
)
async def import_framework(
    request: Request, session: DbSession, principal: PlanWriter, response: Response
) -> FrameworkLoaded:
    """Load a framework file (YAML or JSON), as `POST /api/v1/indices/frameworks`.

    Nạp tệp bộ chỉ số (YAML hoặc JSON)."""
    raw, _ = await read_index_file(request, csv_allowed=False)
    outcome = await load_framework(session, validate_framework(raw), actor=actor_of(principal))
    return _loaded(outcome, response)


@router.get(
    "/frameworks",
    response_model=Page[FrameworkOut],
    summary="List index frameworks (Danh sách bộ chỉ số)",
)
async def list_frameworks(
    session: DbSession,
    code: OptionalFrameworkQuery = None,
    year: Annotated[
        int | None, Query(ge=1990, le=2100, description="Versions valid that year.")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[FrameworkOut]:
    """The framework versions held (PAR INDEX, SIPAS, PAPI and a province's own), by code and
    version, without their nodes.

    Các phiên bản bộ chỉ số đang có (PAR INDEX, SIPAS, PAPI, bộ chỉ số riêng của tỉnh), theo mã
    và phiên bản, không kèm cây tiêu chí."""
    stmt = store.frameworks_query(code=code, year=year)
    try:
        rows = await store.frameworks_page(session, stmt, cursor, limit)
    except BadCursor as exc:
        raise bad_cursor() from exc
    items, next_cursor = page(rows, limit, lambda f: [f.code, f.version])
    return Page(items=[framework_out(f) for f in items], next_cursor=next_cursor)


@router.get(
    "/frameworks/{framework_id}",
    response_model=FrameworkDetail,
    summary="One framework version with its tree (Một bộ chỉ số và cây tiêu chí)",
)
async def get_framework(session: DbSession, framework_id: uuid.UUID) -> FrameworkDetail:
    """A framework version with its nodes (area, criterion, sub-criterion): code, Vietnamese
    name, maximum score (null when not known) and how the score is obtained.

    Bộ chỉ số với cây lĩnh vực, tiêu chí, tiêu chí thành phần: mã, tên, điểm tối đa (để trống
    khi chưa biết) và phương thức chấm điểm."""
    framework = await store.framework(session, framework_id)
    if framework is None:
        raise NotFound("index framework", framework_id)
    return framework_detail(framework)


async def _framework_of(session: AsyncSession, result_framework_id: uuid.UUID) -> IndexFramework:
    framework = await store.framework(session, result_framework_id)
    assert framework is not None  # a foreign key
    return framework


@router.get(
    "/rankings",
    response_model=Page[StandingOut],
    summary="Units ranked by total (Xếp hạng các đơn vị theo tổng điểm)",
)
async def rankings(
    session: DbSession,
    principal: CurrentPrincipal,
    framework: FrameworkQuery,
    year: YearQuery,
    level: Annotated[Level, Query(description="Units of this level (cấp đơn vị).")],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[StandingOut]:
    """The units of one level with results in the index and year, best first: the published
    rank when given, else the rank computed from the totals (equal totals share a rank).

    Các đơn vị cùng cấp có kết quả trong năm, xếp từ cao xuống: theo thứ hạng công bố nếu có,
    nếu không thì theo tổng điểm (bằng điểm thì đồng hạng).

    A principal limited to an org unit gets the units of its subtree only, each with its rank
    among all units of the level."""
    try:
        start = decode_offset(cursor)
    except BadCursor as exc:
        raise bad_cursor() from exc
    found = await standings(session, framework, year, level)
    seen = await scope.visible(session, principal)
    if seen is not None:
        found = [s for s in found if s.result.org_unit_id in seen]
    units = await _units(session, [s.result.org_unit_id for s in found[start : start + limit]])
    items = [
        StandingOut(
            result_id=s.result.id,
            org_unit=unit_out(units[s.result.org_unit_id]),
            total=num(s.total.value),
            total_basis=s.total.basis,
            rank=rank_out(s.rank),
        )
        for s in found[start : start + limit]
    ]
    more = start + limit < len(found)
    return Page(items=items, next_cursor=encode_offset(start + limit) if more else None)


async def _units(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, OrgUnit]:
    found = {}
    for unit_id in set(ids):
        unit = await org_units.get(session, unit_id)
        assert unit is not None  # a foreign key
        found[unit_id] = unit
    return found


async def unit_or_422(session: AsyncSession, ref: str, province: str | None) -> OrgUnit:
    unit = await find_unit(session, ref, province)
    if unit is None:
        raise ValidationFailed(
            [FieldError(field="query.unit", message=f"unknown org unit {ref!r}")]
        )
    return unit


@router.get(
    "/analysis",
    response_model=AnalysisOut,
    summary="Weakest components, change and rank of a unit (Phân tích kết quả chỉ số của đơn vị)",
)
async def analysis(
    session: DbSession,
    principal: CurrentPrincipal,
    framework: FrameworkQuery,
    year: YearQuery,
    unit: UnitQuery,
    province: ProvinceQuery = None,
    depth: Annotated[
        int | None,
        Query(ge=1, le=6, description="Components of this depth (1 = areas; default 1)."),
    ] = 1,
    all_depths: Annotated[bool, Query(description="Compare components of every depth.")] = False,
    limit: Annotated[int, Query(ge=1, le=500, description="Components listed at most.")] = 10,
) -> AnalysisOut:
    """For a unit and year: the components that lost most points against their maximum (only
    where the maximum is known), the change of each component and of the total from the year
    before, and the rank among the units of the same level.

    Với một đơn vị và một năm: các thành phần bị mất nhiều điểm nhất so với điểm tối đa (chỉ
    khi biết điểm tối đa), mức thay đổi so với năm trước của từng thành phần và tổng điểm, và
    thứ hạng so với các đơn vị cùng cấp."""
    org_unit = await unit_or_422(session, unit, province)
    await scope.ensure_visible(session, principal, org_unit.id, "query.unit")
    now = await standing_of(session, framework, year, org_unit.id)
    if now is None:
        raise NotFound(f"{framework} result of {org_unit.code} for", year)
    before = await standing_of(session, framework, year - 1, org_unit.id)
    previous = (
        (before, await _framework_of(session, before.result.framework_id)) if before else None
    )
    fw = await _framework_of(session, now.result.framework_id)
    return analysis_out(now, fw, org_unit, previous, None if all_depths else depth, limit)


@router.get(
    "/components/{framework_code}/{component}",
    response_model=ComponentWorkOut,
    summary="Plan work serving a component (Nhiệm vụ, chỉ tiêu phục vụ một thành phần chỉ số)",
)
async def component(
    session: DbSession,
    framework_code: Annotated[FrameworkCode, Path(description="Index code (mã chỉ số).")],
    component: Annotated[NodeCode, Path(description="Component code (mã thành phần).")],
    province: ProvinceQuery = None,
) -> ComponentWorkOut:
    """The component (and those under it) with the plan tasks and targets linked to it and
    their status: links made through `POST /api/v1/indices/links`, and the components a plan
    document names in `index_components` (`PAPI:4`). Withdrawn items are left out.

    Thành phần chỉ số (kể cả các thành phần con) cùng các nhiệm vụ, chỉ tiêu của kế hoạch gắn
    với nó và tình trạng thực hiện."""
    work = await component_work(session, framework_code, component, province)
    figures = await store.latest_figures(session, [t.item.id for t in work.targets])
    today = today_vn()
    return ComponentWorkOut(
        framework_code=work.framework.code,
        framework_version=work.framework.version,
        code=work.node.code,
        name=work.node.name,
        name_en=work.node.name_en,
        max_score=num(work.node.max_score),
        components=work.components,
        tasks=[linked_task_out(t, today) for t in work.tasks],
        targets=[linked_target_out(t, figures.get(t.item.id)) for t in work.targets],
    )
