"""What every read needs: freshness, the org-unit tree, the fields, today's local date.

The tree and the fields change only with reference events; they are cached per process and
reloaded when ``reference_version`` moves (one small read per request tells).
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
    reading: bool = False


_FRESHNESS = FreshnessCache()


async def current_freshness(session: SessionSource) -> Freshness:
    """``service_state`` as read at most ``FRESHNESS_TTL`` ago.

    One request reads it when it is due; requests arriving meanwhile keep the value held (a
    quarter second old at most, plus that one read) instead of each reading it too: under a
    wall of dashboards, dozens of concurrent reads of the same row used to cost more connections
    and round trips than the answers themselves.
    """
    now = time.monotonic()
    held = _FRESHNESS.value
    if held is not None and now - _FRESHNESS.read_at < FRESHNESS_TTL:
        return held
    if held is not None and _FRESHNESS.reading and FRESHNESS_TTL > 0:
        return held
    _FRESHNESS.reading = True
    try:
        _FRESHNESS.value = value = await read_state(session())
        _FRESHNESS.read_at = now
    finally:
        _FRESHNESS.reading = False
    return value


SessionSource = Callable[[], AsyncSession]
"""Gives the request's session, opening it on first use: most reads are answered from memory
and never need one, and opening and closing a session was a tenth of a cached answer's cost."""


@dataclass(frozen=True, slots=True)
class ReadContext:
    open_session: SessionSource
    freshness: Freshness
    reference: Reference
    now: datetime
    today: date = field(init=False)  # the local date of ``now``: read many times per request

    def __post_init__(self) -> None:
        object.__setattr__(self, "today", local_date(self.now))

    @property
    def session(self) -> AsyncSession:
        return self.open_session()

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
    session: AsyncSession | SessionSource, now: datetime | None = None, *, cached: bool = False
) -> ReadContext:
    """What a read needs; ``cached`` lets freshness come from the last quarter second."""
    source = _source(session) if isinstance(session, AsyncSession) else session
    freshness = await (current_freshness(source) if cached else read_state(source()))
    version = (freshness.epoch, freshness.reference_version)
    if _CACHE.version != version:
        _CACHE.value = await load_reference(source())
        _CACHE.version = version
    return ReadContext(source, freshness, _CACHE.value, now or datetime.now(UTC))


def _source(session: AsyncSession) -> SessionSource:
    return lambda: session
