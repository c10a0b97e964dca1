"""``/api/v1/catalog/summary``: the procedure catalogue's make-up."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from cchc_indicators.api.common import Ctx, answer, figure_fields, instant
from cchc_indicators.domain.catalogue import CATALOGUE
from cchc_indicators.domain.periods import local_midnight
from cchc_indicators.service.figures import catalog_figure
from cchc_indicators.store import reference
from cchc_shared.auth import CurrentPrincipal
from cchc_shared.types import IsoDate

router = APIRouter(tags=["catalog"])

NAMES = {
    "level": {
        "province": "Cấp tỉnh",
        "district": "Cấp huyện",
        "commune": "Cấp xã",
        "several": "Nhiều cấp",
    },
    "online_level": {
        "full": "Trực tuyến toàn trình",
        "partial": "Trực tuyến một phần",
        "none": "Không cung cấp trực tuyến",
    },
}


@router.get(
    "/api/v1/catalog/summary", summary="The procedure catalogue's make-up (Cơ cấu danh mục TTHC)"
)
async def catalog_summary(
    request: Request,
    ctx: Ctx,
    principal: CurrentPrincipal,
    by: Annotated[
        Literal["level", "online_level", "field"],
        Query(description="Group procedures by level, online service level or field."),
    ] = "level",
    at: Annotated[IsoDate | None, Query(description="Catalogue as it stood on this date.")] = None,
) -> Response:
    """Procedures in force, counted per group, with every catalogue indicator. The procedure
    catalogue is the province's, published to citizens: every caller reads all of it."""
    day = min(at, ctx.today) if at else ctx.today
    stamp = local_midnight(day + timedelta(days=1)) if at else None

    async def compute() -> dict[str, Any]:
        groups = await reference.catalog_make_up(ctx.session, by=by, day=day, at=stamp)
        counts = (await reference.catalog_counts(ctx.session, day=day, at=stamp))[None]
        order = list(NAMES.get(by, {}))
        groups.sort(
            key=lambda g: (order.index(g.key) if g.key in order else len(order), g.key or "")
        )
        return {
            "by": by,
            "at": day.isoformat(),
            "as_of": instant(ctx.freshness.as_of),
            "total": counts["procedures"],
            "items": [
                {
                    "key": g.key,
                    "name": NAMES.get(by, {}).get(g.key or "", g.name) if g.key else "Không rõ",
                    "count": g.count,
                }
                for g in groups
            ],
            "indicators": [
                {
                    "code": d.code.value,
                    "name": d.name,
                    **figure_fields(catalog_figure(d.code, counts)),
                }
                for d in CATALOGUE
                if d.source == "catalog"
            ],
        }

    return await answer(request, ctx, principal, compute)
