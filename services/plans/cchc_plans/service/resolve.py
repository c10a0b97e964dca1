"""Resolving a plan document's org-unit references (`lead`, `support`, `scope`) in its province.

It works on the raw document, so unknown org units are reported together with the structural
faults pydantic finds, even when the rest of the document does not parse.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.domain.catalogue import GROUP_LEADS
from cchc_plans.domain.documents import Fault, Loc
from cchc_plans.domain.org_units import overlaps
from cchc_plans.store import org_units
from cchc_plans.store.models import OrgUnit


@dataclass
class Resolution:
    root: OrgUnit
    units: dict[str, OrgUnit] = field(default_factory=dict)

    def unit(self, ref: str | None) -> OrgUnit:
        """The unit a reference names; a group lead and no reference mean the province."""
        if ref is None or ref in GROUP_LEADS:
            return self.root
        return self.units[ref]


def _refs(raw: dict[str, Any]) -> Iterator[tuple[Loc, str, bool]]:
    """(path, reference, may be a group) of every org-unit reference in a raw document."""
    for i, task in _items(raw, "tasks"):
        if isinstance(task.get("lead"), str):
            yield ("tasks", i, "lead"), task["lead"], True
        support = task.get("support")
        if isinstance(support, list):
            for j, ref in enumerate(support):
                if isinstance(ref, str):
                    yield ("tasks", i, "support", j), ref, True
    for i, target in _items(raw, "targets"):
        if isinstance(target.get("scope"), str):
            yield ("targets", i, "scope"), target["scope"], False


def _items(raw: dict[str, Any], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    items = raw.get(name)
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield i, item


async def resolve_units(
    session: AsyncSession, raw: dict[str, Any], period: tuple[date, date] | None
) -> tuple[Resolution | None, list[Fault]]:
    province = raw.get("province")
    if not isinstance(province, str):
        return None, []  # pydantic reports the province itself
    units = await org_units.in_province(session, province)
    root = _province_unit(units, period)
    if root is None:
        return None, [(("province",), f"unknown province {province!r}: no province-level org unit")]
    by_ref = {u.slug: u for u in units if u.slug} | {u.code: u for u in units}
    resolution = Resolution(root=root)
    faults: list[Fault] = []
    for loc, ref, may_be_group in _refs(raw):
        if may_be_group and ref in GROUP_LEADS:
            continue
        unit = by_ref.get(ref) or await _by_code_anywhere(session, ref)
        if unit is None:
            faults.append((loc, f"unknown org unit {ref!r} in province {province!r}"))
        elif period is not None and not overlaps(unit.valid_from, unit.valid_to, *period):
            faults.append((loc, _not_in_force(unit, period)))
        else:
            resolution.units[ref] = unit
    return resolution, faults


async def _by_code_anywhere(session: AsyncSession, ref: str) -> OrgUnit | None:
    # A MaDinhDanh names one unit whatever its province (e.g. a commune that came from ingest).
    return await org_units.by_code(session, ref) if "." in ref else None


def _province_unit(units: list[OrgUnit], period: tuple[date, date] | None) -> OrgUnit | None:
    roots = [u for u in units if u.level == "province"]
    if period is not None:
        roots = [u for u in roots if overlaps(u.valid_from, u.valid_to, *period)] or roots
    return min(roots, key=lambda u: u.code) if roots else None


def _not_in_force(unit: OrgUnit, period: tuple[date, date]) -> str:
    span = f"{unit.valid_from or '…'} to {unit.valid_to or '…'}"
    return (
        f"org unit {unit.slug or unit.code!r} is valid {span}, "
        f"not during the plan period ({period[0]} to {period[1]})"
    )
