"""What every read needs: freshness, the org-unit tree, the fields, today's local date.

The tree and the fields change only with reference events; they are cached per process and
reloaded when ``reference_version`` moves (one small read per request tells).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cchc_indicators.domain.periods import local_date
from cchc_indicators.service.org_tree import OrgTree, Unit
from cchc_indicators.store import reference
from cchc_indicators.store.state import Freshness, read_state


@dataclass(frozen=True, slots=True)
class FieldInfo:
    code: str
    name: str
    group: str


@dataclass(frozen=True, slots=True)
class Reference:
    tree: OrgTree
    fields: dict[str, FieldInfo]

    def fields_in_groups(self, groups: list[str]) -> list[str]:
        return sorted(f.code for f in self.fields.values() if f.group in groups)


@dataclass
class ReferenceCache:
    version: tuple[str, int] = ("", -1)
    value: Reference = field(default_factory=lambda: Reference(OrgTree(()), {}))


_CACHE = ReferenceCache()

FRESHNESS_TTL = 0.25
"""Seconds a process reuses what it read of ``service_state``: a wall of dashboards asking
the same questions is then answered from the answer cache without touching the database, and
figures stay fresh within a quarter of a second of their commit."""


@dataclass
class FreshnessCache:
    read_at: float = float("-inf")
    value: Freshness | None = None


_FRESHNESS = FreshnessCache()


async def current_freshness(session: AsyncSession) -> Freshness:
    now = time.monotonic()
    if _FRESHNESS.value is None or now - _FRESHNESS.read_at >= FRESHNESS_TTL:
        _FRESHNESS.value = await read_state(session)
        _FRESHNESS.read_at = now
    return _FRESHNESS.value


def forget_freshness() -> None:
    """Read ``service_state`` again on the next request (tests that just wrote data)."""
    _FRESHNESS.value = None


@dataclass(frozen=True, slots=True)
class ReadContext:
    session: AsyncSession
    freshness: Freshness
    reference: Reference
    now: datetime

    @property
    def today(self) -> date:
        return local_date(self.now)

    @property
    def tree(self) -> OrgTree:
        return self.reference.tree


async def load_reference(session: AsyncSession) -> Reference:
    units = [Unit.of(row) for row in await reference.all_org_units(session)]
    fields = {
        f.code: FieldInfo(f.code, f.name, f.field_group)
        for f in await reference.all_fields(session)
    }
    return Reference(OrgTree(units), fields)


async def read_context(
    session: AsyncSession, now: datetime | None = None, *, cached: bool = False
) -> ReadContext:
    """What a read needs; ``cached`` lets freshness come from the last quarter second."""
    freshness = await (current_freshness(session) if cached else read_state(session))
    version = (freshness.epoch, freshness.reference_version)
    if _CACHE.version != version:
        _CACHE.value = await load_reference(session)
        _CACHE.version = version
    return ReadContext(session, freshness, _CACHE.value, now or datetime.now(UTC))
