"""Incrementally maintained aggregates: what the store keeps so that dashboards never scan dossiers.

Contributions
    Each dossier version turns into *contributions*: rows ``(bucket, measure, delta)``. A bucket
    is ``(agency_code, procedure_code, field_code, channel, local day)``; a measure is an additive
    counter. The store keeps one running total per ``(bucket, measure)`` and only ever adds
    deltas to it. When a newer version of a dossier arrives, it applies ``diff(before, after)``,
    the contributions of ``after`` minus those of ``before``, netted so that only the totals that
    change are touched. Whatever the order of versions, the totals therefore equal the sum of
    the contributions of the latest version of every dossier, which is exactly what a rebuild
    from scratch gives (the property tests check both against ``reference.py``).

Flow measures: range sums
    A flow counts events on the local day they happened: receipts (``received``, ``online``,
    ``has_fee``...), finishes (``finished``, ``finished_early``, ``processing_seconds``...) and
    ratings (``rated``, ``satisfied``...). A period's figure is the sum over its days::

        flow(period) = Σ total(bucket, measure)  for  start ≤ bucket.day ≤ last_day

Stock measures: prefix sums of per-day changes
    "Open at the period end" and "overdue at the period end" describe a state, not events. As a
    function of time a dossier is open on a run of days and overdue on a sub-run of those, so we
    store only where each run starts (+1) and stops (−1). The state at the end of day D is the
    prefix sum::

        stock(D) = Σ total(bucket, measure)  for  bucket.day ≤ D

    Example: a dossier received on 4 March, due 8 March at 17:00 local, finished 12 March:
    ``open`` +1 on 4 March and −1 on 12 March; ``open_overdue`` +1 on 8 March and −1 on 12
    March. The prefix sums say: open at the end of 4..11 March, overdue at the end of 8..11 March,
    neither from the end of 12 March. While it was still open, its version had only the two +1
    rows; the finishing version's diff adds the two −1 rows (and the ``finished*`` flows of 12
    March).

From instants to days (see "at instant T" in facts.py)
    The end of local day D is the instant T = 00:00 local on D+1. An event at instant x has
    happened by T when x < T, that is when ``local_date(x) ≤ D``; a dossier is in time by its due
    date when T ≤ ``due_at``, that is when ``D < local_date(due_at)``. Hence, with r, f, d, q, c
    the local days of receipt, finish (∞ while open), due, supplement request and supplement
    answer (∞ while waiting):

    - open on days ``[r, f)``;
    - overdue on ``[max(r, d), f)`` minus the days ``[q, c)`` waiting for the citizen (single
      supplement round only); overdue on all of ``[r, f)`` after two or more supplement rounds;
      never overdue without a due date.

    Note that ``open_overdue`` rises *on* the due day, not the day after: at the end of the due
    day the due instant has passed (unless it is exactly midnight, which starts the next day).

Every period ends at a local midnight, so these day-end figures are exact for every period.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import NamedTuple

from .facts import (
    Breakdown,
    Channel,
    DossierFacts,
    Timeliness,
    finished_instant,
    in_timeliness_scope,
    is_rated_1_or_2,
    is_satisfied,
    processing_time,
    rating_instant,
    received_instant,
    timeliness,
)
from .periods import Period, local_date


class Measure(StrEnum):
    # Flows on the receipt day, for every received dossier (withdrawn ones too).
    RECEIVED = "received"
    ONLINE = "online"
    POSTAL = "postal"
    HAS_FEE = "has_fee"
    HAS_FEE_PAID_ONLINE = "has_fee_paid_online"
    DIGITIZED = "digitized"
    E_CERTIFIED = "e_certified"
    SYNCED = "synced"
    # Flows on the finishing day, for finished dossiers not withdrawn.
    FINISHED = "finished"
    FINISHED_EARLY = "finished_early"
    FINISHED_ON_TIME = "finished_on_time"
    PROCESSING_SECONDS = "processing_seconds"
    # Flows on the rating day.
    RATED = "rated"
    SATISFIED = "satisfied"
    RATED_1_2 = "rated_1_2"
    # Stocks (per-day changes; prefix sums give the state at a day's end), not withdrawn.
    OPEN = "open"
    OPEN_OVERDUE = "open_overdue"


STOCK_MEASURES = frozenset({Measure.OPEN, Measure.OPEN_OVERDUE})
FLOW_MEASURES = frozenset(Measure) - STOCK_MEASURES


class BucketKey(NamedTuple):
    agency_code: str
    procedure_code: str
    field_code: str | None
    channel: Channel
    day: date


@dataclass(frozen=True, slots=True)
class Contribution:
    key: BucketKey
    measure: Measure
    delta: int


def contributions(facts: DossierFacts | None) -> list[Contribution]:
    """Everything one dossier version adds to the aggregates (nothing for None)."""
    if facts is None:
        return []
    rows = [*_receipt_rows(facts), *_finish_rows(facts), *_rating_rows(facts)]
    rows += _stock_rows(facts)
    return _netted(rows)


def diff(before: DossierFacts | None, after: DossierFacts | None) -> list[Contribution]:
    """The net change from ``before`` to ``after``: retract the old rows, add the new ones.

    Rows that cancel out are dropped, so a version that changes nothing the aggregates see
    (a new ``updated_at``, say) touches no total.
    """
    retracted = [Contribution(row.key, row.measure, -row.delta) for row in contributions(before)]
    return _netted([*retracted, *contributions(after)])


def _netted(rows: Iterable[Contribution]) -> list[Contribution]:
    """Sum the deltas of equal (bucket, measure) pairs, drop zeros, sort in a stable order.

    A stable order also lets the store lock total rows in the same order in every transaction.
    """
    net: dict[tuple[BucketKey, Measure], int] = {}
    for row in rows:
        slot = (row.key, row.measure)
        net[slot] = net.get(slot, 0) + row.delta
    kept = [Contribution(key, measure, delta) for (key, measure), delta in net.items() if delta]
    return sorted(kept, key=_sort_key)


def _sort_key(row: Contribution) -> tuple[date, str, str, str, str, str]:
    key = row.key
    return (
        key.day,
        key.agency_code,
        key.procedure_code,
        key.field_code or "",
        key.channel,
        row.measure.value,
    )


def _bucket(facts: DossierFacts, day: date) -> BucketKey:
    return BucketKey(facts.agency_code, facts.procedure_code, facts.field_code, facts.channel, day)


def _counts(facts: DossierFacts, day: date, flags: dict[Measure, bool]) -> Iterator[Contribution]:
    """One +1 row per measure whose flag holds."""
    key = _bucket(facts, day)
    return (Contribution(key, measure, 1) for measure, flag in flags.items() if flag)


def _receipt_rows(facts: DossierFacts) -> Iterator[Contribution]:
    received = received_instant(facts)
    if received is None:
        return iter(())
    return _counts(
        facts,
        local_date(received),
        {
            Measure.RECEIVED: True,
            Measure.ONLINE: facts.channel == "online",
            Measure.POSTAL: facts.channel == "postal",
            Measure.HAS_FEE: facts.has_fee,
            Measure.HAS_FEE_PAID_ONLINE: facts.has_fee and facts.paid_online,
            Measure.DIGITIZED: facts.digitized,
            Measure.E_CERTIFIED: facts.e_certified,
            Measure.SYNCED: facts.synced,
        },
    )


def _finish_rows(facts: DossierFacts) -> list[Contribution]:
    finished = finished_instant(facts)
    duration = processing_time(facts)  # None when withdrawn: out of every timeliness figure
    if finished is None or duration is None:
        return []
    day = local_date(finished)
    verdict = timeliness(facts)
    rows = list(
        _counts(
            facts,
            day,
            {
                Measure.FINISHED: True,
                Measure.FINISHED_EARLY: verdict is Timeliness.EARLY,
                Measure.FINISHED_ON_TIME: verdict is Timeliness.ON_TIME,
            },
        )
    )
    # Whole seconds keep the measure an exact integer; sources stamp to the second anyway.
    seconds = duration // timedelta(seconds=1)
    return [*rows, Contribution(_bucket(facts, day), Measure.PROCESSING_SECONDS, seconds)]


def _rating_rows(facts: DossierFacts) -> Iterator[Contribution]:
    rated = rating_instant(facts)
    if rated is None:
        return iter(())
    return _counts(
        facts,
        local_date(rated),
        {
            Measure.RATED: True,
            Measure.SATISFIED: is_satisfied(facts),
            Measure.RATED_1_2: is_rated_1_or_2(facts),
        },
    )


class DayRun(NamedTuple):
    """Local days ``[first, stop)``; ``stop`` None means "still running"."""

    first: date
    stop: date | None


def _stock_rows(facts: DossierFacts) -> list[Contribution]:
    received = received_instant(facts)
    if received is None or not in_timeliness_scope(facts):
        return []
    finished = finished_instant(facts)
    open_run = DayRun(local_date(received), None if finished is None else local_date(finished))
    rows = _run_edges(facts, Measure.OPEN, [open_run])
    return rows + _run_edges(facts, Measure.OPEN_OVERDUE, _overdue_runs(facts, open_run))


def _overdue_runs(facts: DossierFacts, open_run: DayRun) -> list[DayRun]:
    """The days at whose end the dossier is open and overdue (rules in the module docstring)."""
    if facts.supplement_rounds >= 2:
        return [open_run]
    if facts.due_at is None:
        return []
    past_due = _from_day(open_run, local_date(facts.due_at))
    if past_due is None:
        return []
    waiting = _waiting_run(facts)
    return [past_due] if waiting is None else _minus(past_due, waiting)


def _waiting_run(facts: DossierFacts) -> DayRun | None:
    """Days at whose end the single supplement round is requested and not yet answered."""
    requested = facts.supplement_requested_at
    if facts.supplement_rounds != 1 or requested is None:
        return None
    completed = facts.supplement_completed_at
    return DayRun(local_date(requested), None if completed is None else local_date(completed))


def _before(day: date, stop: date | None) -> bool:
    """``day < stop``, where a None stop is "never"."""
    return stop is None or day < stop


def _non_empty(first: date, stop: date | None) -> DayRun | None:
    return DayRun(first, stop) if _before(first, stop) else None


def _from_day(run: DayRun, day: date) -> DayRun | None:
    """The part of ``run`` from ``day`` on."""
    return _non_empty(max(run.first, day), run.stop)


def _minus(run: DayRun, gap: DayRun) -> list[DayRun]:
    """``run`` without the days of ``gap``: at most a part before it and a part after it."""
    if not _before(gap.first, gap.stop):
        return [run]  # an empty gap (answered before requested: a source error)
    before_stop = gap.first if run.stop is None else min(run.stop, gap.first)
    head = _non_empty(run.first, before_stop)
    tail = None if gap.stop is None else _non_empty(max(run.first, gap.stop), run.stop)
    return [part for part in (head, tail) if part is not None]


def _run_edges(facts: DossierFacts, measure: Measure, runs: list[DayRun]) -> list[Contribution]:
    """+1 where each run starts, −1 where it stops: the per-day changes of a stock."""
    rows: list[Contribution] = []
    for run in runs:
        rows.append(Contribution(_bucket(facts, run.first), measure, 1))
        if run.stop is not None:
            rows.append(Contribution(_bucket(facts, run.stop), measure, -1))
    return rows


# In-memory totals: the reference behaviour of the store, used by the tests.

Totals = dict[tuple[BucketKey, Measure], int]
"""Running total per (bucket, measure); zero totals are not kept."""


def apply(totals: Totals, rows: Iterable[Contribution]) -> None:
    """Add contributions to running totals (what the store does with ``UPSERT … + delta``)."""
    for row in rows:
        slot = (row.key, row.measure)
        total = totals.get(slot, 0) + row.delta
        if total:
            totals[slot] = total
        else:
            del totals[slot]


@dataclass(frozen=True, slots=True)
class MeasureSums:
    """The totals a period's figures need: flows summed over its days, stocks at its end."""

    flow: Mapping[Measure, int] = field(default_factory=dict)
    """Range sums: Σ over ``period.start ≤ day ≤ period.last_day``."""
    stock_at_end: Mapping[Measure, int] = field(default_factory=dict)
    """Prefix sums: Σ over ``day ≤ period.last_day`` (the state at the period's end)."""

    def __getitem__(self, measure: Measure) -> int:
        source = self.stock_at_end if measure in STOCK_MEASURES else self.flow
        return source.get(measure, 0)


def combine(parts: Iterable[MeasureSums]) -> MeasureSums:
    """Add the sums of several groups (a roll-up): every measure is additive."""
    flow: dict[Measure, int] = {}
    stock: dict[Measure, int] = {}
    for part in parts:
        _add_into(flow, part.flow)
        _add_into(stock, part.stock_at_end)
    return MeasureSums(flow, stock)


def _add_into(target: dict[Measure, int], source: Mapping[Measure, int]) -> None:
    for measure, total in source.items():
        target[measure] = target.get(measure, 0) + total


def period_sums(
    totals: Totals, period: Period, *, agencies: Collection[str] | None = None
) -> MeasureSums:
    """The sums for a period over the given agencies (all when None)."""
    grouped = _grouped_sums(totals, period, agencies, lambda _key: None)
    return grouped.get(None, MeasureSums())


def period_sums_by(
    totals: Totals, period: Period, by: Breakdown, *, agencies: Collection[str] | None = None
) -> dict[str | None, MeasureSums]:
    """The sums for a period, one entry per value of the breakdown."""
    return _grouped_sums(totals, period, agencies, lambda key: _group(key, by))


def _group(key: BucketKey, by: Breakdown) -> str | None:
    if by is Breakdown.AGENCY:
        return key.agency_code
    if by is Breakdown.PROCEDURE:
        return key.procedure_code
    if by is Breakdown.FIELD:
        return key.field_code
    return key.channel


def _grouped_sums(
    totals: Totals,
    period: Period,
    agencies: Collection[str] | None,
    group_of: Callable[[BucketKey], str | None],
) -> dict[str | None, MeasureSums]:
    flows: dict[str | None, dict[Measure, int]] = {}
    stocks: dict[str | None, dict[Measure, int]] = {}
    for (key, measure), total in totals.items():
        if agencies is not None and key.agency_code not in agencies:
            continue
        if measure in STOCK_MEASURES:
            target = stocks if key.day <= period.last_day else None
        else:
            target = flows if period.contains_day(key.day) else None
        if target is not None:
            sums = target.setdefault(group_of(key), {})
            sums[measure] = sums.get(measure, 0) + total
    groups = flows.keys() | stocks.keys()
    return {g: MeasureSums(flows.get(g, {}), stocks.get(g, {})) for g in groups}
