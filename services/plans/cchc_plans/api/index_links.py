"""`/api/v1/indices/links`: link existing plan tasks and targets to index components without
re-issuing the plan (audited), list and remove links."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.api.deps import Cursor, Limit, PlanWriter, actor_of
from cchc_plans.api.index_schemas import LinkIn, LinkOut
from cchc_plans.api.index_views import link_out
from cchc_plans.api.indices import OptionalFrameworkQuery
from cchc_plans.api.org_units import bad_cursor
from cchc_plans.api.schemas import Page, unchanged_answer
from cchc_plans.domain.index_frameworks import NodeCode
from cchc_plans.service.index_links import link_item, unlink
from cchc_plans.store import indices as store
from cchc_plans.store import plans
from cchc_plans.store.models import IndexLink, Target, Task
from cchc_plans.store.pagination import BadCursor, page
from cchc_shared.db import DbSession

router = APIRouter(prefix="/api/v1/indices/links", tags=["indices"])

ItemsByKey = dict[tuple[str, str, str, str], Task | Target]


async def _items(session: AsyncSession, links: list[IndexLink]) -> ItemsByKey:
    found: ItemsByKey = {}
    for kind, model in (("task", Task), ("target", Target)):
        keys = [(k.plan_province, k.plan_code, k.item_key) for k in links if k.item_kind == kind]
        for item, plan in await store.linked_items(session, model, keys):
            found[(kind, plan.province, plan.code, item.key)] = item
    return found


@router.post(
    "",
    response_model=LinkOut,
    status_code=status.HTTP_201_CREATED,
    responses=unchanged_answer(LinkOut, "The same link existed"),
)
async def create_link(
    session: DbSession, body: LinkIn, principal: PlanWriter, response: Response
) -> LinkOut:
    """Link a task (`task_id`) or a target (`target_id`) to an index component. The plan is not
    amended; the link is audited. The same link again answers 200 with the existing one.

    Gắn một nhiệm vụ hoặc chỉ tiêu với một thành phần chỉ số, không phải ban hành lại kế hoạch."""
    link, created = await link_item(
        session,
        task_id=body.task_id,
        target_id=body.target_id,
        framework_code=body.framework,
        component=body.component,
        note=body.note,
        actor=actor_of(principal),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return link_out(link, await _items(session, [link]))


@router.get(
    "",
    response_model=Page[LinkOut],
    summary="Links of plan work to index components (Liên kết nhiệm vụ với thành phần chỉ số)",
)
async def list_links(
    session: DbSession,
    framework: OptionalFrameworkQuery = None,
    component: Annotated[NodeCode | None, Query(description="Component code.")] = None,
    plan_id: Annotated[uuid.UUID | None, Query(description="Links to this plan's items.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[LinkOut]:
    """Links made through the API or shipped with the demo data, each with the task or target it
    names (null while its plan is not imported).

    Các liên kết giữa nhiệm vụ, chỉ tiêu của kế hoạch và thành phần chỉ số."""
    plan = await plans.get(session, plan_id) if plan_id else None
    if plan_id is not None and plan is None:
        return Page(items=[], next_cursor=None)
    stmt = store.links_query(
        framework_code=framework, components=[component] if component else None, plan=plan
    )
    try:
        rows = await store.links_page(session, stmt, cursor, limit)
    except BadCursor as exc:
        raise bad_cursor() from exc
    items, next_cursor = page(rows, limit, lambda k: [k.id])
    found = await _items(session, items)
    return Page(items=[link_out(k, found) for k in items], next_cursor=next_cursor)


@router.delete("/{link_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_link(session: DbSession, link_id: uuid.UUID, principal: PlanWriter) -> Response:
    """Remove a link (audited). Xóa liên kết."""
    await unlink(session, link_id, actor=actor_of(principal))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
