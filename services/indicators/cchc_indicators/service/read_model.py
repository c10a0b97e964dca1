# ruff: noqa: S608  # SQL text holds only our own table/column names; values are bound
"""The read model: per-(agency, local day) totals of every measure, mirrored in process memory.

Why: a dashboard question (an indicator of an org unit's subtree for a period, as one value, per
child unit, or month by month) read from the aggregate tables costs a query and the summing of
hundreds of rows in Python for every distinct question — about ten milliseconds, too much for a
wall of dashboards on a small machine. The same answer from memory is a few binary searches.

What it holds: ``agg_agency_day`` summed over channels — a province has a few hundred agencies
and a few hundred days each, tens of thousands of rows. For any group of agencies (an org unit's
subtree, with either boundaries) it builds, when first asked, that group's per-day totals and
their running sums; a flow over a period is then the running sum before its end minus the one
before its start, a stock at its end the running sum before its end (``domain/aggregates.py``).

Staying current: every consumer transaction stamps the ``agg_agency_day`` rows it changes with
its ``data_version`` (``store.state.mark_applied`` explains why the stamps are in commit order).
A read that finds ``service_state`` at a newer version than the model pulls the rows stamped
after the model's version, in one statement (one snapshot, state included), and adds their
differences to the groups that contain their agency. A rebuild leaves a new epoch: the model
then loads everything afresh. Each process (replica) keeps its own model; the consumer may run in
any of them.

What it answers: flows and stocks of any set of agencies, whole or per agency, for any period —
the questions without a filter or breakdown on procedure, field, field group or channel. Those
keep reading the aggregate tables (``store/aggregates.py``), as do catalogue indicators.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from operator import add, sub
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_indicators.domain.aggregates import STOCK_MEASURES, Measure, MeasureSums
from cchc_indicators.domain.periods import Period
from cchc_indicators.store.models import AggAgencyDay, ServiceState
from cchc_indicators.store.state import Freshness

ENABLED = True
"""Whether figures read from the model (tests switch it off to compare with the SQL path)."""


@contextmanager
def switched(enabled: bool) -> Iterator[None]:
    """Figures read from the model (True) or from the aggregate tables (False) inside."""
    global ENABLED  # one switch for the process, as the model is one
    was, ENABLED = ENABLED, enabled
    try:
        yield
    finally:
        ENABLED = was


FLOWS: tuple[Measure, ...] = tuple(m for m in Measure if m not in STOCK_MEASURES)
STOCKS: tuple[Measure, ...] = tuple(m for m in Measure if m in STOCK_MEASURES)
MEASURES: tuple[Measure, ...] = FLOWS + STOCKS
"""The order of every total the model holds: flows first, so that a period's flows are the
first ``len(FLOWS)`` differences of two running sums and its stocks the rest of one."""
WIDTH = len(MEASURES)
ZERO: tuple[int, ...] = (0,) * WIDTH
N_FLOWS = len(FLOWS)
SUMS_KEPT = 32
"""Sums of periods kept per group (all dropped when full): the periods a dashboard asks about
are few; a bound on memory for callers that ask for many."""
MAX_GROUPS = 20_000
"""Groups kept before all are dropped (rebuilt when asked): a bound on memory for callers that
ask for arbitrary sets of agencies; a province's subtrees are a few thousand at most."""

_SUMS = ", ".join(f"SUM({m.value})::bigint" for m in MEASURES)
_NULLS = ", ".join("NULL::bigint" for _ in MEASURES)
_AGENCY_DAY: Any = AggAgencyDay.__table__
_STATE: Any = ServiceState.__table__
# One statement, hence one snapshot: the state row (agency NULL) and the new totals of every
# (agency, day) with a row changed after :after, summed over channels.
PULL = text(
    f"SELECT epoch::text, data_version, NULL::text, NULL::date, {_NULLS} "
    f"FROM {_STATE.fullname} WHERE id = 1 "
    "UNION ALL "
    f"SELECT NULL, NULL, a.agency_code, a.day, {_SUMS} FROM {_AGENCY_DAY.fullname} AS a "
    "WHERE (a.agency_code, a.day) IN ("
    f"  SELECT agency_code, day FROM {_AGENCY_DAY.fullname} WHERE changed_version > :after) "
    "GROUP BY a.agency_code, a.day"
)


class DaySeries:
    """Per-day totals of a group of agencies, and their running sums (built when first read).

    The sums of the periods asked are kept until the totals change: dashboards ask about the
    same few periods (this month, the months of a year) of every unit, for every indicator."""

    __slots__ = ("_days", "_running", "_sums", "daily")

    def __init__(self) -> None:
        # day ordinal → totals in MEASURES order. Tuples, not lists: the collector stops tracking
        # tuples of numbers, so a full collection does not walk the model's tens of thousands.
        self.daily: dict[int, tuple[int, ...]] = {}
        self._days: list[int] | None = None
        self._running: list[tuple[int, ...]] = []
        self._sums: dict[tuple[date, date], MeasureSums] = {}

    def add(self, day: int, delta: Sequence[int]) -> None:
        held = self.daily.get(day)
        self.daily[day] = tuple(delta) if held is None else tuple(map(add, held, delta))
        self._days = None

    def add_all(self, other: DaySeries) -> None:
        daily = self.daily
        for day, totals in other.daily.items():
            held = daily.get(day)
            daily[day] = totals if held is None else tuple(map(add, held, totals))
        self._days = None

    def before(self, day: int) -> tuple[int, ...]:
        """Totals summed over every day before ``day`` (an ordinal)."""
        days = self._days
        if days is None:
            days = self._index()
        at = bisect_left(days, day)
        return self._running[at - 1] if at else ZERO

    def _index(self) -> list[int]:
        days = sorted(self.daily)
        running: list[tuple[int, ...]] = []
        current = ZERO
        for day in days:
            current = tuple(map(add, current, self.daily[day]))
            running.append(current)
        self._days, self._running = days, running
        self._sums = {}  # the totals changed: so did the sums
        return days

    def sums(self, period: Period) -> MeasureSums:
        """Flows over the period's days, stocks at its end (``aggregates.MeasureSums``)."""
        if self._days is None:
            self._index()
        key = (period.start, period.end)
        held = self._sums.get(key)
        if held is not None:
            return held
        end = self.before(period.end.toordinal())
        start = self.before(period.start.toordinal())
        # zip stops at the last flow: the stocks that follow in ``end`` are taken as they are.
        flow = dict(zip(FLOWS, map(sub, end, start), strict=False))
        sums = MeasureSums(flow, dict(zip(STOCKS, end[N_FLOWS:], strict=True)))
        if len(self._sums) >= SUMS_KEPT:
            self._sums = {}
        self._sums[key] = sums
        return sums


@dataclass
class ReadModel:
    epoch: str | None = None  # None: nothing loaded yet
    version: int = -1
    agencies: dict[str, DaySeries] = field(default_factory=dict)
    everything: DaySeries = field(default_factory=DaySeries)
    groups: dict[tuple[str, ...], DaySeries] = field(default_factory=dict)  # by agency codes
    members: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # agency → groups
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def usable(self, freshness: Freshness) -> bool:
        """Without a ``service_state`` row there is no version to follow: read the tables."""
        return ENABLED and bool(freshness.epoch)

    async def catch_up(
        self,
        session: Callable[[], AsyncSession],
        freshness: Freshness,
        likely_groups: Callable[[], Iterable[Iterable[str]]] = tuple,
    ) -> None:
        """Bring the model to at least the state ``freshness`` describes (``session`` gives the
        session to read with, opened only if the model is behind).

        After loading afresh it builds ``likely_groups`` (the org units' subtrees) at once:
        built on first use instead, the province's group (every agency's days, a tenth of a
        second) would stall every request in flight behind the one that asked first.
        """
        if self._current(freshness):
            return
        async with self.lock:
            if self._current(freshness):  # another request pulled meanwhile
                return
            if await self._pull(session()):
                for agencies in likely_groups():
                    self.group(agencies)

    def _current(self, freshness: Freshness) -> bool:
        return self.epoch == freshness.epoch and self.version >= freshness.data_version

    async def _pull(self, session: AsyncSession) -> bool:
        """Pull the rows changed since the model's version; answer whether it loaded afresh."""
        loaded = self.epoch is not None
        rows = (await session.execute(PULL, {"after": self.version if loaded else -1})).all()
        epoch, version = self._state_of(rows)
        afresh = epoch != self.epoch
        if afresh:  # first use, or a rebuild: everything afresh
            self._reset()
            if loaded:
                rows = (await session.execute(PULL, {"after": -1})).all()
                epoch, version = self._state_of(rows)
        for row in rows:
            if row[2] is not None:
                self._set(row[2], row[3].toordinal(), row[4:])
        self.epoch, self.version = epoch, version
        return afresh

    @staticmethod
    def _state_of(rows: Sequence[Any]) -> tuple[str, int]:
        state = next((r for r in rows if r[2] is None), None)
        return ("", 0) if state is None else (state[0], state[1])

    def _reset(self) -> None:
        self.agencies, self.everything = {}, DaySeries()
        self.groups, self.members = {}, {}

    def _set(self, agency: str, day: int, totals: Sequence[int]) -> None:
        """The agency's new totals for the day: add the difference wherever the agency counts."""
        series = self.agencies.get(agency)
        if series is None:
            series = self.agencies[agency] = DaySeries()
        held = series.daily.get(day)
        new = [int(t) for t in totals]
        delta = new if held is None else [t - h for t, h in zip(new, held, strict=True)]
        if not any(delta):
            return
        series.add(day, delta)
        self.everything.add(day, delta)
        for key in self.members.get(agency, ()):
            self.groups[key].add(day, delta)

    def group(self, agencies: Iterable[str] | None) -> DaySeries:
        """The totals of a set of agencies (all when None), built on first use and kept."""
        if agencies is None:
            return self.everything
        given = tuple(agencies)
        series = self.groups.get(given)  # a subtree's codes come sorted and unique: the key
        if series is not None:
            return series
        key = tuple(sorted(set(given)))
        if len(key) == 1:
            return self.agencies.get(key[0]) or DaySeries()
        series = self.groups.get(key)
        if series is None:
            if len(self.groups) >= MAX_GROUPS:
                self.groups, self.members = {}, {}
            series = self.groups[key] = DaySeries()
            for agency in key:
                self.members.setdefault(agency, []).append(key)
                held = self.agencies.get(agency)
                if held is not None:
                    series.add_all(held)
        return series

    def sums(self, agencies: Iterable[str] | None, period: Period) -> MeasureSums:
        return self.group(agencies).sums(period)

    def sums_by_agency(
        self, agencies: Iterable[str] | None, period: Period
    ) -> dict[str | None, MeasureSums]:
        """One entry per agency holding any total (of the given ones; all when None)."""
        codes = self.agencies.keys() if agencies is None else set(agencies) & self.agencies.keys()
        return {code: self.agencies[code].sums(period) for code in sorted(codes)}

    def series_sums(
        self, agencies: Iterable[str] | None, periods: Sequence[Period]
    ) -> list[MeasureSums]:
        series = self.group(agencies)
        return [series.sums(p) for p in periods]


MODEL = ReadModel()
