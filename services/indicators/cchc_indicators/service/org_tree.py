"""The org-unit tree over time, held in memory (a province has a few hundred to a few thousand
units) and reloaded whenever an org-unit event changes it.

Roll-ups: a dossier counts in every unit on its receiving agency's ancestor path. Both producers
describe a restructuring by ending units (``valid_to``) and naming successors rather than by
moving a unit under a new parent, so an agency's path is the hierarchy valid when it received
the dossier: roll-ups follow the tree at receipt without storing a receipt date in the buckets.
With ``boundaries=today`` an agency that has ended is followed through its successors to the unit
that stands today, and counted where that unit stands.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from cchc_indicators.domain.periods import Period
from cchc_indicators.store.models import OrgUnit

MAX_DEPTH = 32  # guards against a cycle in bad reference data


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    id: uuid.UUID | None
    slug: str | None
    name: str
    level: str
    parent_code: str | None
    valid_from: date | None
    valid_to: date | None
    successors: tuple[str, ...]
    path: tuple[str, ...]

    @classmethod
    def of(cls, row: OrgUnit) -> Unit:
        return cls(
            row.code,
            row.id,
            row.slug,
            row.name,
            row.level,
            row.parent_code,
            row.valid_from,
            row.valid_to,
            tuple(row.successor_codes or ()),
            tuple(row.path or (row.code,)),
        )

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def valid_during(self, period: Period) -> bool:
        return (self.valid_from is None or self.valid_from <= period.last_day) and (
            self.valid_to is None or period.start <= self.valid_to
        )


def compute_paths(parents: dict[str, str | None]) -> dict[str, list[str]]:
    """Codes from the root down to each unit; an unknown parent starts the path."""
    paths: dict[str, list[str]] = {}
    for code in parents:
        chain = [code]
        parent = parents.get(code)
        while parent is not None and parent not in chain and len(chain) < MAX_DEPTH:
            chain.append(parent)
            parent = parents.get(parent)
        paths[code] = list(reversed(chain))
    return paths


class OrgTree:
    def __init__(self, units: Iterable[Unit]) -> None:
        self.units = {u.code: u for u in units}
        self._refs: dict[str, Unit] = {}
        for unit in self.units.values():
            if unit.slug:
                self._refs[unit.slug] = unit
            if unit.id is not None:
                self._refs[str(unit.id)] = unit
        for unit in self.units.values():
            self._refs[unit.code] = unit  # a code wins over a slug that happens to equal it
        # A tree never changes (a new one replaces it): answers are kept, as every request
        # asks for subtrees and children and each is a scan of every unit.
        self._subtrees: dict[str, list[str]] = {}
        self._subtrees_today: dict[tuple[str, date], list[str]] = {}
        self._children: dict[tuple[str | None, date, date], list[Unit]] = {}

    def find(self, ref: str) -> Unit | None:
        """A unit by its code (MaDinhDanh), its UUID or its slug."""
        unit = self._refs.get(ref.strip())
        if unit is None:
            try:
                unit = self._refs.get(str(uuid.UUID(ref.strip())))
            except ValueError:
                return None
        return unit

    def subtree(self, code: str) -> list[str]:
        """Agency codes counted in a unit: every unit whose path passes through it."""
        codes = self._subtrees.get(code)
        if codes is None:
            codes = sorted(c for c, u in self.units.items() if code in u.path)
            self._subtrees[code] = _bounded(self._subtrees, codes)
        return list(codes)

    def standing_today(self, code: str, today: date) -> Unit | None:
        """The unit an agency is today: itself if still valid, else its successors' heir."""
        unit = self.units.get(code)
        seen: set[str] = set()
        while unit is not None and not unit.valid_on(today) and unit.code not in seen:
            seen.add(unit.code)
            heir = next((self._by_ref(s) for s in unit.successors if self._by_ref(s)), None)
            if heir is None:
                break
            unit = heir
        return unit

    def subtree_today(self, code: str, today: date) -> list[str]:
        """Agency codes counted in a unit with today's boundaries."""
        held = self._subtrees_today.get((code, today))
        if held is None:
            held = self._subtrees_today[(code, today)] = _bounded(
                self._subtrees_today, self._subtree_today(code, today)
            )
        return list(held)

    def _subtree_today(self, code: str, today: date) -> list[str]:
        codes = []
        for agency in self.units:
            standing = self.standing_today(agency, today)
            if standing is not None and code in standing.path:
                codes.append(agency)
        return sorted(codes)

    def children(self, code: str | None, period: Period) -> list[Unit]:
        """Direct children valid during the period (the roots when ``code`` is None)."""
        key = (code, period.start, period.end)
        held = self._children.get(key)
        if held is None:
            valid = self._valid_children(code, period)
            held = self._children[key] = _bounded(self._children, valid)
        return list(held)

    def _valid_children(self, code: str | None, period: Period) -> list[Unit]:
        return sorted(
            (
                u
                for u in self.units.values()
                if (u.parent_code == code or (code is None and u.parent_code not in self.units))
                and u.code != code
                and u.valid_during(period)
            ),
            key=lambda u: u.code,
        )

    def at_level(self, level: str, period: Period) -> list[Unit]:
        return sorted(
            (u for u in self.units.values() if u.level == level and u.valid_during(period)),
            key=lambda u: u.code,
        )

    def _by_ref(self, ref: str) -> Unit | None:
        return self.units.get(ref) or self._refs.get(ref)


MAX_KEPT = 10_000  # answers kept per kind: questions name few units and periods, but any may


def _bounded(cache: dict[Any, Any], value: list[Any]) -> list[Any]:
    """``value``, after emptying ``cache`` when it is full."""
    if len(cache) >= MAX_KEPT:
        cache.clear()
    return value
