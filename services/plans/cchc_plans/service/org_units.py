"""Org units: the demo trees, agencies from ingest, and planners' edits.

A change of a unit is an edit with an effective date, never an overwrite of history: a unit that
ends gets its ``valid_to`` (and successors); a unit that begins is a new unit with its own code.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.domain.org_units import UnitSpec, tree_units
from cchc_plans.events import publish as ev
from cchc_plans.store import audit, org_units
from cchc_plans.store.models import OrgUnit
from cchc_plans.store.snapshots import org_unit_content
from cchc_shared.reference import kontum_org_units

DEMO_TREES = ("backan_org_units.yaml", "khanhhoa_org_units.yaml")
_SEED_LOCK = zlib.crc32(b"plans:demo-org-units")


def demo_trees() -> list[dict[str, Any]]:
    """The Kon Tum tree (shared with the simulator) and this service's Bắc Kạn and Khánh Hòa
    trees, all demo data."""
    package = resources.files("cchc_plans.demo")
    own = [
        yaml.safe_load(package.joinpath(name).read_text(encoding="utf-8")) for name in DEMO_TREES
    ]
    return [kontum_org_units(), *own]


async def seed_demo(session: AsyncSession) -> int:
    """Add the demo units that are missing (never overwrite a unit we hold: ingest and
    planners know better than demo data). Answers how many were added."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SEED_LOCK})
    specs = [unit for tree in demo_trees() for unit in tree_units(tree)]
    known = await org_units.all_codes(session, (s.code for s in specs))
    added = [_new_unit(s, source="demo") for s in specs if s.code not in known]
    session.add_all(added)
    await session.flush()
    for unit in added:
        audit.record(
            session,
            entity_type="org_unit",
            entity_id=unit.id,
            plan_id=None,
            action="created",
            actor="system",
            before=None,
            after=org_unit_content(unit),
        )
    await ev.publish(session, *[await changed_event(session, unit) for unit in added])
    return len(added)


def _new_unit(spec: UnitSpec, *, source: str) -> OrgUnit:
    return OrgUnit(
        id=uuid.uuid4(),
        code=spec.code,
        slug=spec.slug,
        province=spec.province,
        name=spec.name,
        level=spec.level,
        parent_code=spec.parent,
        valid_from=spec.valid_from,
        valid_to=spec.valid_to,
        successor_codes=[spec.successor] if spec.successor else [],
        source=source,
        version=1,
    )


@dataclass(frozen=True)
class Links:
    parent_id: uuid.UUID | None
    successor_ids: list[uuid.UUID]


async def links(session: AsyncSession, unit: OrgUnit) -> Links:
    codes = [*([unit.parent_code] if unit.parent_code else []), *unit.successor_codes]
    ids = await org_units.ids_by_code(session, codes)
    parent_id = ids.get(unit.parent_code) if unit.parent_code else None
    return Links(parent_id, [ids[c] for c in unit.successor_codes if c in ids])


async def changed_event(session: AsyncSession, unit: OrgUnit) -> Any:
    found = await links(session, unit)
    return ev.org_unit_changed(unit, found.parent_id, found.successor_ids)


@dataclass(frozen=True)
class UnitChange:
    """Fields to set on a unit (None: leave as is, unless named in ``clear``)."""

    name: str | None = None
    slug: str | None = None
    province: str | None = None
    level: str | None = None
    parent_code: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    successor_codes: list[str] | None = None
    clear: frozenset[str] = frozenset()


async def change_unit(
    session: AsyncSession,
    unit: OrgUnit,
    change: UnitChange,
    *,
    actor: str,
    source_version: int | None = None,
) -> bool:
    """Apply a change; audit and publish it if anything differs. Answers whether it did."""
    before = org_unit_content(unit)
    for name in ("name", "slug", "province", "level", "parent_code", "valid_from", "valid_to",
                 "successor_codes"):  # fmt: skip
        value = getattr(change, name)
        if value is not None or name in change.clear:
            setattr(unit, name, value if value is not None else _cleared(name))
    if source_version is not None:
        unit.source_version = source_version
    after = org_unit_content(unit)
    if after == before:
        return False
    unit.version += 1
    audit.record(
        session,
        entity_type="org_unit",
        entity_id=unit.id,
        plan_id=None,
        action="updated",
        actor=actor,
        before=before,
        after=after,
    )
    await session.flush()
    await ev.publish(session, await changed_event(session, unit))
    return True


def _cleared(name: str) -> Any:
    return [] if name == "successor_codes" else None


async def create_unit(session: AsyncSession, spec: UnitSpec, *, actor: str, source: str,
                      source_version: int | None = None) -> OrgUnit:  # fmt: skip
    unit = _new_unit(spec, source=source)
    unit.source_version = source_version
    session.add(unit)
    await session.flush()
    audit.record(
        session,
        entity_type="org_unit",
        entity_id=unit.id,
        plan_id=None,
        action="created",
        actor=actor,
        before=None,
        after=org_unit_content(unit),
    )
    await ev.publish(session, await changed_event(session, unit))
    return unit
