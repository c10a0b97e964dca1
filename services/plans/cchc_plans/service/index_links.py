"""Which plan work serves which index component: links made through the API (or shipped with the
demo data), and the components a plan document names in `index_components` (`PAPI:4`).

A link names its task or target by plan (province, code) and key, so linking never re-issues or
amends the plan, and a shipped link holds before its plan is imported.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.domain.documents import Fault
from cchc_plans.domain.index_frameworks import component_ref, parse_component_ref
from cchc_plans.service.index_frameworks import failed
from cchc_plans.store import audit, plans
from cchc_plans.store import indices as store
from cchc_plans.store.models import IndexFramework, IndexLink, IndexNode, Plan, Target, Task
from cchc_shared.errors import Conflict, NotFound

ItemKind = Literal["task", "target"]
ITEM_MODELS: tuple[tuple[ItemKind, type[Task] | type[Target]], ...] = (
    ("task", Task),
    ("target", Target),
)
DEMO_PACKAGE = "cchc_plans.indices.demo"
DEMO_LINK_FILES = ("kontum-2024-index-links.yaml",)


@dataclass(frozen=True)
class Via:
    source: Literal["link", "plan_document"]
    component: str
    link_id: uuid.UUID | None = None
    note: str | None = None


@dataclass
class LinkedItem:
    kind: ItemKind
    item: Task | Target
    plan: Plan
    via: list[Via] = field(default_factory=list)


@dataclass
class ComponentWork:
    framework: IndexFramework
    node: IndexNode
    components: list[str]
    tasks: list[LinkedItem]
    targets: list[LinkedItem]


def link_state(link: IndexLink) -> dict[str, Any]:
    return {
        "framework_code": link.framework_code,
        "component": link.component,
        "item_kind": link.item_kind,
        "plan_province": link.plan_province,
        "plan_code": link.plan_code,
        "item_key": link.item_key,
        "note": link.note,
        "source": link.source,
    }


def _subtree(nodes: list[IndexNode], code: str) -> list[str]:
    children: dict[str, list[str]] = {}
    for n in nodes:
        if n.parent_code is not None:
            children.setdefault(n.parent_code, []).append(n.code)
    found, queue = [], deque([code])
    while queue:
        current = queue.popleft()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


async def component_node(
    session: AsyncSession, framework_code: str, component: str
) -> tuple[IndexFramework, IndexNode, list[str]] | None:
    """The component in the newest framework version that has it, with its subtree's codes."""
    versions = await store.versions_of(session, framework_code)
    newest_first = sorted(versions, key=lambda v: (v.valid_from_year or 0, v.created_at))[::-1]
    for version in newest_first:
        nodes = await store.nodes_of(session, version.id)
        node = next((n for n in nodes if n.code == component), None)
        if node is not None:
            return version, node, _subtree(nodes, component)
    return None


async def component_work(
    session: AsyncSession, framework_code: str, component: str, province: str | None
) -> ComponentWork:
    found = await component_node(session, framework_code, component)
    if found is None:
        raise NotFound("index component", component_ref(framework_code, component))
    framework, node, codes = found
    links = await store.links_to(session, framework_code, codes)
    refs = {component_ref(framework_code, c): c for c in codes}
    work: dict[ItemKind, list[LinkedItem]] = {}
    for kind, model in ITEM_MODELS:
        items = await _linked(session, kind, model, links)
        await _named(session, kind, model, refs, items)
        work[kind] = sorted(
            (i for i in items.values() if _shown(i, province)),
            key=lambda i: (i.plan.province, i.plan.code, i.item.position),
        )
    return ComponentWork(framework, node, codes, work["task"], work["target"])


def _shown(item: LinkedItem, province: str | None) -> bool:
    return not item.item.withdrawn and (province is None or item.plan.province == province)


async def _linked(
    session: AsyncSession,
    kind: ItemKind,
    model: type[Task] | type[Target],
    links: list[IndexLink],
) -> dict[uuid.UUID, LinkedItem]:
    mine = [link for link in links if link.item_kind == kind]
    keys = [(link.plan_province, link.plan_code, link.item_key) for link in mine]
    by_key = {
        (plan.province, plan.code, item.key): (item, plan)
        for item, plan in await store.linked_items(session, model, keys)
    }
    items: dict[uuid.UUID, LinkedItem] = {}
    for link in mine:
        hit = by_key.get((link.plan_province, link.plan_code, link.item_key))
        if hit is None:
            continue  # the plan is not (yet) imported
        entry = items.setdefault(hit[0].id, LinkedItem(kind, hit[0], hit[1]))
        entry.via.append(Via("link", link.component, link.id, link.note))
    return items


async def _named(
    session: AsyncSession,
    kind: ItemKind,
    model: type[Task] | type[Target],
    refs: dict[str, str],
    items: dict[uuid.UUID, LinkedItem],
) -> None:
    for item, plan in await store.items_naming(session, model, list(refs)):
        entry = items.setdefault(item.id, LinkedItem(kind, item, plan))
        for ref in item.index_components or []:
            if ref in refs:
                entry.via.append(Via("plan_document", refs[ref]))


async def _has_component(session: AsyncSession, framework_code: str, component: str) -> bool:
    return await component_node(session, framework_code, component) is not None


async def link_item(
    session: AsyncSession,
    *,
    task_id: uuid.UUID | None,
    target_id: uuid.UUID | None,
    framework_code: str,
    component: str,
    note: str | None,
    actor: str,
) -> tuple[IndexLink, bool]:
    """Link a task or a target to a component; answers the link and whether it is new."""
    faults: list[Fault] = []
    if (task_id is None) == (target_id is None):
        faults.append((("task_id",), "give exactly one of task_id and target_id"))
    if not await store.versions_of(session, framework_code):
        faults.append((("framework",), f"no framework {framework_code!r} is loaded"))
    elif not await _has_component(session, framework_code, component):
        faults.append((("component",), f"{framework_code} has no component {component!r}"))
    item: Task | Target | None = None
    if task_id is not None:
        item = await plans.get_task(session, task_id)
        if item is None:
            faults.append((("task_id",), f"no task {task_id}"))
    elif target_id is not None:
        item = await plans.get_target(session, target_id)
        if item is None:
            faults.append((("target_id",), f"no target {target_id}"))
    if faults or item is None:
        raise failed(faults)
    if item.withdrawn:
        raise Conflict(f"{item.key} was withdrawn from its plan")
    plan = await plans.get(session, item.plan_id)
    assert plan is not None  # a foreign key
    ref = ItemRef(
        "task" if task_id is not None else "target", plan.province, plan.code, item.key, plan.id
    )
    return await _add(session, ref, framework_code, component, note, actor=actor, source="api")


@dataclass(frozen=True)
class ItemRef:
    """A task or target by its plan and key (the plan's id when the plan is imported)."""

    kind: ItemKind
    province: str
    plan_code: str
    key: str
    plan_id: uuid.UUID | None = None


async def _add(
    session: AsyncSession,
    ref: ItemRef,
    framework_code: str,
    component: str,
    note: str | None,
    *,
    actor: str,
    source: str,
) -> tuple[IndexLink, bool]:
    link = IndexLink(
        id=uuid.uuid4(),
        framework_code=framework_code,
        component=component,
        item_kind=ref.kind,
        plan_province=ref.province,
        plan_code=ref.plan_code,
        item_key=ref.key,
        note=note,
        source=source,
        created_by=actor,
    )
    existing = await store.same_link(session, link)
    if existing is not None:
        return existing, False
    session.add(link)
    await session.flush()
    audit.record(
        session,
        entity_type="index_link",
        entity_id=link.id,
        plan_id=ref.plan_id,
        action="linked",
        actor=actor,
        before=None,
        after=link_state(link),
    )
    return link, True


async def unlink(session: AsyncSession, link_id: uuid.UUID, *, actor: str) -> None:
    link = await store.link(session, link_id)
    if link is None:
        raise NotFound("index link", link_id)
    plan = await plans.by_code(session, link.plan_province, link.plan_code)
    audit.record(
        session,
        entity_type="index_link",
        entity_id=link.id,
        plan_id=plan.id if plan else None,
        action="unlinked",
        actor=actor,
        before=link_state(link),
        after=None,
    )
    await session.delete(link)
    await session.flush()


def demo_link_documents() -> list[dict[str, Any]]:
    package = resources.files(DEMO_PACKAGE)
    return [
        yaml.safe_load(package.joinpath(name).read_text(encoding="utf-8"))
        for name in DEMO_LINK_FILES
    ]


async def seed_demo_links(session: AsyncSession) -> int:
    """Add the shipped demo links we lack (a link removed by a planner stays removed only until
    the next start with demo data: demo data is for demonstrations)."""
    await store.lock(session, "seed-links")
    added = 0
    for doc in demo_link_documents():
        province, plan_code = doc["province"], doc["plan"]
        plan = await plans.by_code(session, province, plan_code)
        for entry in doc["links"]:
            kind: ItemKind = "task" if "task" in entry else "target"
            for ref in entry["components"]:
                parsed = parse_component_ref(ref)
                assert parsed is not None, f"bad component {ref!r} in the demo links"
                ref = ItemRef(kind, province, plan_code, entry[kind], plan.id if plan else None)
                _, new = await _add(
                    session, ref, *parsed, entry.get("because"), actor="system", source="demo"
                )
                added += new
    return added
