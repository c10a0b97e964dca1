"""Dossier indicators from summed measures (see aggregates.py for the measures).

Input: ``MeasureSums`` for one period and one group (an org-unit subtree, a procedure...), with
flow measures summed over the period's days and stock measures summed up to its last day. No
indicator needs the stock at the period's start: the scope of ``DOSSIER_ON_TIME_RATE`` ("received
by the period end, not finished before the period") is split exactly into "finished in the
period" (a flow) and "open at the period end" (a stock).

Output: a ``Figure`` (numerator, denominator, value). Rates are ``100 × numerator /
denominator`` and have no value (None) when the denominator is 0. A roll-up (an org unit's subtree,
several fields) adds the groups' measure sums (``aggregates.combine``) and evaluates the total,
so rates come out as Σ numerator / Σ denominator, never as an average of rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .aggregates import Measure, MeasureSums
from .catalogue import DOSSIER_CODES, IndicatorCode

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Figure:
    """One indicator's value with the parts it is made of.

    Counts have ``denominator`` None and ``value == numerator``. ``DOSSIER_AVG_PROCESSING_DAYS``
    has a numerator in days (Σ processing time) and a denominator in dossiers.
    """

    numerator: int | float
    denominator: int | None
    value: int | float | None


def rate(numerator: int, denominator: int) -> Figure:
    """A percentage; no value on a zero denominator (never 0 or 100)."""
    value = None if denominator == 0 else 100 * numerator / denominator
    return Figure(numerator, denominator, value)


def count(total: int) -> Figure:
    return Figure(total, None, total)


def average_days(total_seconds: int, finished: int) -> Figure:
    days = total_seconds / SECONDS_PER_DAY
    return Figure(days, finished, None if finished == 0 else days / finished)


def late_from_on_time(on_time: Figure) -> Figure:
    """``DOSSIER_LATE_RATE`` = 100 − ``DOSSIER_ON_TIME_RATE``, over the same dossiers.

    The value is computed as the definition states (100 − on-time), so a client showing both sees
    them add up to 100; the numerator is the complement (late finishes + overdue open dossiers).
    """
    denominator = on_time.denominator or 0
    value = None if on_time.value is None else 100 - on_time.value
    return Figure(denominator - on_time.numerator, denominator, value)


Rule = Callable[[MeasureSums], Figure]


def _received_rate(numerator: Measure, denominator: Measure = Measure.RECEIVED) -> Rule:
    return lambda sums: rate(sums[numerator], sums[denominator])


def _on_time(sums: MeasureSums) -> Figure:
    """Finished in the period early/on time + open in time at its end, over both groups."""
    finished_in_time = sums[Measure.FINISHED_EARLY] + sums[Measure.FINISHED_ON_TIME]
    open_in_time = sums[Measure.OPEN] - sums[Measure.OPEN_OVERDUE]
    return rate(finished_in_time + open_in_time, sums[Measure.FINISHED] + sums[Measure.OPEN])


RULES: dict[IndicatorCode, Rule] = {
    IndicatorCode.DOSSIER_RECEIVED: lambda sums: count(sums[Measure.RECEIVED]),
    IndicatorCode.DOSSIER_ONLINE_RATE: _received_rate(Measure.ONLINE),
    IndicatorCode.DOSSIER_POSTAL_RATE: _received_rate(Measure.POSTAL),
    IndicatorCode.DOSSIER_ONLINE_PAYMENT_RATE: _received_rate(
        Measure.HAS_FEE_PAID_ONLINE, Measure.HAS_FEE
    ),
    IndicatorCode.DOSSIER_DIGITIZED_RATE: _received_rate(Measure.DIGITIZED),
    IndicatorCode.DOSSIER_E_CERTIFIED_RATE: _received_rate(Measure.E_CERTIFIED),
    IndicatorCode.DOSSIER_SYNCED_RATE: _received_rate(Measure.SYNCED),
    IndicatorCode.DOSSIER_ON_TIME_RATE: _on_time,
    IndicatorCode.DOSSIER_LATE_RATE: lambda sums: late_from_on_time(_on_time(sums)),
    IndicatorCode.DOSSIER_OVERDUE_OPEN: lambda sums: count(sums[Measure.OPEN_OVERDUE]),
    IndicatorCode.DOSSIER_AVG_PROCESSING_DAYS: lambda sums: average_days(
        sums[Measure.PROCESSING_SECONDS], sums[Measure.FINISHED]
    ),
    IndicatorCode.DOSSIER_SATISFACTION_RATE: lambda sums: rate(
        sums[Measure.SATISFIED], sums[Measure.RATED]
    ),
}


def evaluate(code: IndicatorCode, sums: MeasureSums) -> Figure:
    """One dossier indicator; ValueError for a catalogue (procedure) indicator."""
    rule = RULES.get(code)
    if rule is None:
        raise ValueError(f"{code} is not computed from dossier aggregates")
    return rule(sums)


def evaluate_all(sums: MeasureSums) -> dict[IndicatorCode, Figure]:
    """Every dossier indicator, in catalogue order."""
    return {code: RULES[code](sums) for code in DOSSIER_CODES}


def rated_1_2_share(sums: MeasureSums) -> Figure:
    """Share of ratings that are 1 or 2, which QĐ 766 score 5.4 subtracts (not a catalogue code)."""
    return rate(sums[Measure.RATED_1_2], sums[Measure.RATED])
