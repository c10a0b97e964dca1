"""What a principal limited to an org unit sees and writes here: that unit's subtree.

The subtree is today's tree as this service holds it: every unit whose parent chain (as it stands
now; a planner's move counts where the unit is now) passes through the scope unit, and every unit
that has ended and whose successor standing today lies in it, so whoever holds a merged unit's
successor keeps its history. Validity dates do not cut the subtree: a commune that ended last
year is still its district's.

Plan documents (plans, their targets and tasks, index frameworks, results and links) are the
province's: every reading role reads them, and only principals with no org-unit limit write them
(``deps.PlanWriter``). What concerns one org unit is read and written within the scope only: the
unit itself and its history, progress on a task its subtree leads, figures it reports, its index
results; lists across units keep the rows of the subtree.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.service.clock import today_vn
from cchc_plans.store import org_units
from cchc_plans.store.models import OrgUnit, Task
from cchc_shared.auth import (
    DescendantCheck,
    Forbidden,
    Principal,
    ensure_in_scope,
)

MAX_DEPTH = 32  # guards against a cycle in bad reference data


@dataclass(frozen=True, slots=True)
class Subtree:
    """The units a scoped principal sees: ``root`` (its scope unit) and everything under it."""

    root: OrgUnit
    ids: frozenset[uuid.UUID]
    root_parent_id: uuid.UUID | None

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self.ids

    def leads(self, task: Task) -> bool:
        """Whether the subtree leads the task: one of its units by name, or its root as one of
        a group (`all-departments` of the province the root is a department of)."""
        if task.lead_org_unit_id in self.ids:
            return True
        return (
            task.lead_group is not None
            and task.lead_group == self.root.level
            and task.lead_org_unit_id == self.root_parent_id
        )


def _chain(unit: OrgUnit, by_code: dict[str, OrgUnit]) -> Iterable[str]:
    """The unit's code and its ancestors' codes, nearest first."""
    current: OrgUnit | None = unit
    for _ in range(MAX_DEPTH):
        if current is None:
            return
        yield current.code
        current = by_code.get(current.parent_code) if current.parent_code else None


def _standing_today(unit: OrgUnit, by_code: dict[str, OrgUnit]) -> OrgUnit:
    """The unit in the ended unit's place today: itself while valid, else its successors' heir."""
    today = today_vn()
    seen: set[str] = set()
    while unit.valid_to is not None and unit.valid_to < today and unit.code not in seen:
        seen.add(unit.code)
        heir = next((by_code[c] for c in unit.successor_codes if c in by_code), None)
        if heir is None:
            break
        unit = heir
    return unit


def subtree_of(root: OrgUnit, units: Iterable[OrgUnit]) -> Subtree:
    by_code = {u.code: u for u in units}
    by_code[root.code] = root
    inside = {
        u.id
        for u in by_code.values()
        if root.code in _chain(u, by_code)
        or root.code in _chain(_standing_today(u, by_code), by_code)
    }
    parent = by_code.get(root.parent_code) if root.parent_code else None
    return Subtree(root, frozenset(inside), parent.id if parent else None)


async def subtree(session: AsyncSession, root_ref: str) -> Subtree | None:
    """The subtree of a unit named by id or code; None when no such unit is held."""
    root = await org_units.by_id_or_code(session, root_ref)
    if root is None:
        return None
    return subtree_of(root, await org_units.all_units(session))


async def visible(session: AsyncSession, principal: Principal) -> Subtree | None:
    """What the principal sees: None for everything (no org-unit limit), else its subtree (403
    when its unit is not held here: it could see nothing)."""
    scope = principal.org_unit_scope
    if scope is None:
        return None
    found = await subtree(session, scope)
    if found is None:
        raise Forbidden(f"Your org unit {scope} is not known to this service.")
    return found


def descendant_check(session: AsyncSession) -> DescendantCheck:
    async def check(unit_ref: str, ancestor_ref: str) -> bool:
        unit = await org_units.by_id_or_code(session, unit_ref)
        tree = await subtree(session, ancestor_ref)
        return unit is not None and tree is not None and unit.id in tree

    return check


async def ensure_visible(
    session: AsyncSession, principal: Principal, unit_ref: object, field: str
) -> None:
    """403 naming ``field`` unless the unit lies within the principal's subtree."""
    await ensure_in_scope(principal, unit_ref, descendant_check(session), field=field)


async def ensure_leads(
    session: AsyncSession, principal: Principal, task: Task, field: str = "path.task_id"
) -> None:
    """403 unless the principal's subtree leads the task (progress is the lead's to report)."""
    seen = await visible(session, principal)
    if seen is not None and not seen.leads(task):
        raise Forbidden(
            f"Task {task.key} is not led within your org unit ({principal.org_unit_scope}).",
            field=field,
        )
