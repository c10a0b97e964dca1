"""The simulated one-stop system: catalogue, agencies, dossiers, change feed, live changes.

Everything a request needs is here, free of HTTP, so tests and tools can drive it directly. All
of it runs on the event loop's thread: a page is rendered without awaiting, so the live
producer never changes the feed under a page being read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cchc_shared.memory import paused_gc
from cchc_simulator.agencies import AgencyTree, build_agency_tree
from cchc_simulator.catalogue import Procedure, build_catalogue
from cchc_simulator.daily_counts import DailyCounts
from cchc_simulator.dossiers import DossierTable, Event
from cchc_simulator.faults import FaultInjector, FaultSettings
from cchc_simulator.feed import FeedIndex
from cchc_simulator.history import DossierPlanner, due_after, generate_history
from cchc_simulator.render import DossierRenderer, Record

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    seed: int
    dossiers: int  # submitted within the history window
    start: int  # history window, VN seconds, inclusive
    end: int
    live_new_share: float = 0.3  # share of live changes that are new dossiers


@dataclass(slots=True)
class FeedPage:
    records: list[Record]
    next_position: int
    page_start: int
    more: bool


@dataclass(slots=True)
class _LiveState:
    rng: random.Random
    open_dossiers: list[int] = field(default_factory=list)


class Simulator:
    def __init__(self, config: SimulationConfig, faults: FaultSettings | None = None) -> None:
        self.config = config
        self.agencies: AgencyTree = build_agency_tree()
        self.catalogue: tuple[Procedure, ...] = build_catalogue(config.seed)
        self.table = DossierTable()
        self._planner = DossierPlanner(
            self.catalogue, self.agencies, random.Random(f"history:{config.seed}")
        )
        self.renderer = DossierRenderer(self.table, self.catalogue, self.agencies, config.seed)
        self.faults = FaultInjector(config.seed, faults)
        self.daily_counts = DailyCounts(self.table, self.faults, self.agencies)
        with paused_gc():
            generate_history(self.table, self._planner, config.start, config.end, config.dossiers)
            self.feed = FeedIndex.of_history(self.table)
            self.daily_counts.rebuild()
        self._live = _LiveState(
            random.Random(f"live:{config.seed}"),
            [d for d in range(len(self.table)) if self.table.is_open(d)],
        )

    # -- reading ---------------------------------------------------------------------------------
    def served_record(self, dossier: int, version: int) -> Record:
        """A version as the feed serves it, faults included."""
        return self.faults.dirty(self.renderer.render(dossier, version), dossier, version)

    def read_page(self, start: int, previous_start: int | None, size: int) -> FeedPage:
        """Up to ``size`` records from feed position ``start``.

        With faults on, some records of the previous page (from ``previous_start``) come again
        first, and some records are followed by their previous version; neither ever takes more
        than the page's room, and at least one new position is read whenever one is left.
        """
        feed, faults = self.feed, self.faults
        records: list[Record] = []
        if previous_start is not None and faults.settings.duplicate_rate > 0:
            first = max(previous_start, start - MAX_PAGE)  # a page never spans more
            for position in range(first, min(start, len(feed))):
                if len(records) >= size // 2:
                    break
                if faults.duplicated(position):
                    records.append(self._record_at(position))
        position = start
        older_too = faults.settings.out_of_order_rate > 0
        while position < len(feed) and len(records) < size:
            records.append(self._record_at(position))
            version = feed.version[position]
            if (
                older_too
                and version > 1
                and len(records) < size
                and faults.followed_by_older(position)
            ):
                records.append(self.served_record(feed.dossier[position], version - 1))
            position += 1
        return FeedPage(records, position, start, more=position < len(feed))

    def _record_at(self, position: int) -> Record:
        return self.served_record(self.feed.dossier[position], self.feed.version[position])

    def latest(self, code: str) -> Record | None:
        """The latest released version of a dossier, as served; None if there is no such dossier."""
        dossier = self.table.index_by_code.get(code)
        if dossier is None or self.table.released[dossier] == 0:
            return None
        return self.served_record(dossier, self.table.released[dossier])

    # -- live changes ----------------------------------------------------------------------------
    def live_step(self, now: int, changes: int) -> int:
        """Write ``changes`` changes stamped ``now`` (VN seconds): new dossiers and next steps of
        open ones, one per dossier. Returns how many were written (0 if ``now`` is not later
        than the feed's last change, which would break the feed's order)."""
        last = self.feed.last_time
        if changes <= 0 or (last is not None and now <= last):
            return 0
        written: list[tuple[int, int]] = []
        touched: set[int] = set()
        for _ in range(changes):
            dossier = None
            if self._live.rng.random() >= self.config.live_new_share:
                dossier = self._pick_open(touched)
            if dossier is None:
                dossier = self._add_live_dossier(now)
                written.append((dossier, 1))
            else:
                written.append((dossier, self._advance(dossier, now)))
            touched.add(dossier)
        written.sort(key=lambda change: (self.table.codes[change[0]], change[1]))
        for dossier, version in written:
            self.feed.append(now, dossier, version)
            self.daily_counts.refresh(dossier)
        return len(written)

    def _pick_open(self, touched: set[int]) -> int | None:
        candidates, rng = self._live.open_dossiers, self._live.rng
        while candidates:
            slot = int(rng.random() * len(candidates))
            dossier = candidates[slot]
            if not self.table.is_open(dossier):  # finished since: drop it
                candidates[slot] = candidates[-1]
                candidates.pop()
                continue
            return None if dossier in touched else dossier
        return None

    def _advance(self, dossier: int, now: int) -> int:
        kind, version = self.table.release_next(dossier, now)
        if kind == Event.RECEIVE:  # received later than planned: the appointment follows
            procedure = self.catalogue[self.table.procedure[dossier]]
            self.table.due[dossier] = due_after(now, procedure.days)
        return version

    def _add_live_dossier(self, now: int) -> int:
        plan = self._planner.plan_at(now)
        dossier = self.table.add(plan, self.agencies.agencies[plan.agency].code, released=1)
        if self.table.is_open(dossier):
            self._live.open_dossiers.append(dossier)
        return dossier
