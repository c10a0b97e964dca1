"""Planning dossiers: who files what, where, when, and what then happens to it.

Volumes follow working days (few dossiers on weekends and at Tết, more before year end), channels
follow the procedure's online level, and each dossier's life is drawn as a timeline: received
(at once at the desk, or after an online or postal submission, which may be refused), processed,
perhaps asked for supplements (0, 1 or 2 rounds) or for a financial obligation, perhaps
withdrawn, finished early, on time or late, returned, synced to the national portal, rated.
Events fall in office hours except online submissions and ratings.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from itertools import accumulate
from operator import itemgetter

from cchc_simulator.agencies import AgencyTree
from cchc_simulator.catalogue import Procedure
from cchc_simulator.dossiers import (
    CHANNEL_IN_PERSON,
    CHANNEL_ONLINE,
    CHANNEL_POSTAL,
    DossierPlan,
    DossierTable,
    Event,
)
from cchc_simulator.randomness import largest_remainder
from cchc_simulator.timeutil import DAY, HOUR, MINUTE, date_of_day, day_of, weekday_of_day
from cchc_simulator.workdays import add_working_days, is_holiday, is_working_day, next_working_day

_MONTH_FACTOR = (1.05, 0.75, 1.1, 1.0, 1.0, 1.05, 1.0, 0.95, 0.95, 1.0, 1.05, 1.2)
_WEEKDAY_FACTOR = (1.15, 1.05, 1.0, 1.0, 0.95, 0.06, 0.02)  # Monday first; weekends online only
_HOLIDAY_FACTOR = 0.03
_MORNING = (7 * HOUR, 11 * HOUR + 30 * MINUTE)
_AFTERNOON = (13 * HOUR + 30 * MINUTE, 17 * HOUR)
# Channel shares by legacy online level: (online, postal); the rest come to the desk.
_CHANNEL_SHARES = {4: (0.62, 0.04), 3: (0.38, 0.04), 2: (0.0, 0.06)}
_LEVEL_SHARES_ALL_THREE = (("XA", 0.5), ("HUYEN", 0.8), ("TINH", 1.0))


def day_weight(day: int) -> float:
    """Relative dossier volume of a local day."""
    if is_holiday(day):
        return _HOLIDAY_FACTOR
    return _MONTH_FACTOR[date_of_day(day).month - 1] * _WEEKDAY_FACTOR[weekday_of_day(day)]


def _in_office_hours(instant: int) -> bool:
    day, second = divmod(instant, DAY)
    in_session = _MORNING[0] <= second < _MORNING[1] or _AFTERNOON[0] <= second < _AFTERNOON[1]
    return in_session and is_working_day(day)


def due_after(received: int, working_days: int) -> int:
    """NgayHenTra: the same time of day, ``working_days`` working days after receipt."""
    return add_working_days(day_of(received), working_days) * DAY + received % DAY


class DossierPlanner:
    """Draws dossiers from one random stream, so a seed gives the same province every time."""

    def __init__(
        self, catalogue: Sequence[Procedure], agencies: AgencyTree, rng: random.Random
    ) -> None:
        self.catalogue = catalogue
        self.agencies = agencies
        self._random = rng.random
        self._all_cumulative = list(accumulate(p.volume for p in catalogue))
        self._online = [i for i, p in enumerate(catalogue) if p.online_capable]
        self._online_cumulative = list(accumulate(catalogue[i].volume for i in self._online))
        self._district_cumulative = list(accumulate(agencies.district_weights))

    # -- what, where, how ------------------------------------------------------------------------
    def plan_on_day(self, day: int, low: int, high: int) -> DossierPlan:
        """A dossier submitted on local ``day``, at an instant within [low, high]."""
        online_only = not is_working_day(day)
        procedure, channel = self._procedure_and_channel(online_only)
        submitted = self._instant_on(day, channel, online_only, low, high)
        return self._plan(procedure, channel, submitted)

    def plan_at(self, submitted: int) -> DossierPlan:
        """A dossier submitted at a given instant (the live producer's new dossiers); outside
        office hours only online."""
        procedure, channel = self._procedure_and_channel(not _in_office_hours(submitted))
        return self._plan(procedure, channel, submitted)

    def _procedure_and_channel(self, online_only: bool) -> tuple[int, int]:
        chance = self._random
        if online_only:
            pick = chance() * self._online_cumulative[-1]
            return self._online[bisect(self._online_cumulative, pick)], CHANNEL_ONLINE
        index = bisect(self._all_cumulative, chance() * self._all_cumulative[-1])
        procedure = self.catalogue[index]
        online_share, postal_share = _CHANNEL_SHARES[procedure.online_level]
        draw = chance()
        if draw < online_share:
            return index, CHANNEL_ONLINE
        if procedure.postal and draw < online_share + postal_share:
            return index, CHANNEL_POSTAL
        return index, CHANNEL_IN_PERSON

    def _agency(self, procedure: Procedure, day: int) -> int:
        chance = self._random
        level = procedure.levels[0]
        if len(procedure.levels) > 1:
            draw = chance()
            level = next(lv for lv, upper in _LEVEL_SHARES_ALL_THREE if draw < upper)
        if level == "TINH":
            return self.agencies.receiving_unit(procedure.field.department, day, 0)
        cumulative = self._district_cumulative
        district = self.agencies.districts[bisect(cumulative, chance() * cumulative[-1])]
        if level == "HUYEN":
            return self.agencies.receiving_unit(district, day, int(chance() * 65536))
        communes = self.agencies.communes_of_district[district]
        return self.agencies.receiving_unit(communes[int(chance() * len(communes))], day, 0)

    # -- when ------------------------------------------------------------------------------------
    def _instant_on(self, day: int, channel: int, online_only: bool, low: int, high: int) -> int:
        chance, between = self._random, self._between
        for _ in range(5):
            if online_only:
                second = between(6 * HOUR, 23 * HOUR)
            elif channel == CHANNEL_ONLINE and chance() < 0.3:  # evenings, some nights
                second = between(0, DAY - 1) if chance() < 0.2 else between(17 * HOUR, 23 * HOUR)
            else:
                start, end = _MORNING if chance() < 0.6 else _AFTERNOON
                second = between(start, end - 1)
            instant = day * DAY + second
            if low <= instant <= high:
                return instant
        return between(low, high)  # a sliver of a day at the window's edge

    def _between(self, low: int, high: int) -> int:
        """A whole number in [low, high]; ``random()`` arithmetic is 4x faster than randint."""
        return low + int(self._random() * (high - low + 1))

    def _office_after(self, instant: int, low: int, high: int) -> int:
        """An instant in office hours, ``low`` to about ``high`` seconds after ``instant``."""
        chance = self._random
        at = instant + low + int(chance() * max(0, high - low))
        day, second = divmod(at, DAY)
        if is_working_day(day):
            if second < _MORNING[0]:
                return day * DAY + _MORNING[0] + int(chance() * 90 * MINUTE)
            if _MORNING[1] <= second < _AFTERNOON[0]:
                return day * DAY + _AFTERNOON[0] + int(chance() * 60 * MINUTE)
            if second < _AFTERNOON[1]:
                return at
        return next_working_day(day + 1) * DAY + _MORNING[0] + int(chance() * 120 * MINUTE)

    # -- what happens ----------------------------------------------------------------------------
    def _plan(self, procedure_index: int, channel: int, submitted: int) -> DossierPlan:
        procedure = self.catalogue[procedure_index]
        agency = self._agency(procedure, day_of(submitted))
        events: list[tuple[int, int]] = []
        due = self._timeline(procedure, channel, submitted, events)
        events.sort(key=itemgetter(1))
        for i in range(1, len(events)):  # one version per second at most, in event order
            if events[i][1] <= events[i - 1][1]:
                events[i] = (events[i][0], events[i - 1][1] + 1)
        return DossierPlan(procedure_index, agency, channel, due, events)

    def _timeline(
        self, procedure: Procedure, channel: int, submitted: int, events: list[tuple[int, int]]
    ) -> int:
        """Append the dossier's events; returns its appointment instant (0 if never received)."""
        chance = self._random
        if channel == CHANNEL_IN_PERSON:
            received = submitted
            events.append((Event.RECEIVE, received))
        else:
            events.append((Event.SUBMIT, submitted))
            received = self._office_after(submitted, 10 * MINUTE, 30 * HOUR)
            draw = chance()
            if draw < 0.03:
                events.append((Event.REFUSE, received))
                return 0
            if draw < 0.036:
                events.append((Event.WITHDRAW, received))
                return 0
            events.append((Event.RECEIVE, received))
        due = due_after(received, procedure.days)
        if chance() < 0.88:
            events.append((Event.SYNC, received + self._between(2 * MINUTE, 6 * HOUR)))
        self._processing(procedure, channel, received, due, events)
        return due

    def _processing(
        self,
        procedure: Procedure,
        channel: int,
        received: int,
        due: int,
        events: list[tuple[int, int]],
    ) -> None:
        chance = self._random
        at = received
        if procedure.days > 1 and chance() < 0.97:
            at = self._office_after(at, 5 * MINUTE, 6 * HOUR)
            events.append((Event.PROCESS, at))
        rounds = self._supplement_rounds(procedure)
        supplement_delay = 0
        for _ in range(rounds):
            asked = self._office_after(at, HOUR, max(HOUR, (due - at) // 3))
            events.append((Event.ASK_SUPPLEMENT, asked))
            if chance() < 0.07:  # the citizen never answers
                if chance() < 0.5:
                    events.append((Event.STOP, self._office_after(asked, 20 * DAY, 40 * DAY)))
                return
            at = self._office_after(asked, DAY, 10 * DAY)
            events.append((Event.SUPPLEMENT_DONE, at))
            supplement_delay = at - asked
        if procedure.has_fee and procedure.field.code == "DAT_DAI" and chance() < 0.3:
            events.append((Event.ASK_PAYMENT, at := self._office_after(at, HOUR, 2 * DAY)))
            events.append((Event.PAYMENT_DONE, at := self._office_after(at, DAY, 7 * DAY)))
        if chance() < 0.01:
            events.append((Event.WITHDRAW, self._office_after(at, HOUR, 5 * DAY)))
            return
        effective_due = due + supplement_delay if rounds == 1 else due
        finished = self._finish_instant(at, effective_due, late=rounds >= 2)
        events.append((Event.FINISH, finished))
        self._after_finish(channel, finished, events)

    def _supplement_rounds(self, procedure: Procedure) -> int:
        if procedure.days < 3:
            return 0
        draw = self._random()
        return 0 if draw < 0.9 else 1 if draw < 0.98 else 2

    def _finish_instant(self, at: int, due: int, *, late: bool) -> int:
        """Early (before the due day) 70%, on the due day 25%, late 5% or when forced."""
        chance = self._random
        draw = chance()
        if not late and draw < 0.7 and day_of(at) < day_of(due) - 1:
            finished = self._office_after(at, 10 * MINUTE, (day_of(due) * DAY - at) * 4 // 5)
            if day_of(finished) < day_of(due):
                return finished
        if not late and draw < 0.95:
            finished = due - int(chance() * 4 * HOUR)
            if finished > at:
                return finished
        return self._office_after(max(at, due), HOUR, 15 * DAY)

    def _after_finish(self, channel: int, finished: int, events: list[tuple[int, int]]) -> None:
        chance = self._random
        if chance() >= 0.93:
            return  # the result is waiting at the desk
        returned = self._office_after(finished, 10 * MINUTE, 5 * DAY)
        events.append((Event.RETURN, returned))
        if chance() < (0.45 if channel == CHANNEL_ONLINE else 0.2):
            events.append((Event.RATE, returned + self._between(MINUTE, 3 * DAY)))


def generate_history(
    table: DossierTable, planner: DossierPlanner, start: int, end: int, count: int
) -> None:
    """Add ``count`` dossiers submitted within [start, end], releasing events up to ``end``."""
    days = list(range(day_of(start), day_of(end) + 1))
    weights = [day_weight(day) * _coverage(day, start, end) for day in days]
    for day, how_many in zip(days, largest_remainder(weights, count), strict=True):
        low, high = max(start, day * DAY), min(end, day * DAY + DAY - 1)
        plans = sorted(
            (planner.plan_on_day(day, low, high) for _ in range(how_many)),
            key=lambda plan: plan.events[0][1],
        )
        for plan in plans:
            events = plan.events
            released = len(events)
            if events[-1][1] > end:  # still open when the history ends
                released = sum(1 for _, at in events if at <= end)
            table.add(plan, planner.agencies.agencies[plan.agency].code, released)


def _coverage(day: int, start: int, end: int) -> float:
    """Share of a local day that lies inside the window."""
    inside = min(end + 1, (day + 1) * DAY) - max(start, day * DAY)
    return max(0, inside) / DAY
