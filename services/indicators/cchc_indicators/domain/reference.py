"""Brute force: every dossier indicator straight from the latest facts of every dossier.

This is indicators.md's table read row by row, with no aggregates and no day arithmetic: each
figure filters the dossiers by instants (``Period.start_utc`` / ``end_utc``) and counts. It is
slow by design (it scans every dossier for every figure) and exists to prove the incremental
aggregates right, in the tests and in an operator's consistency check. "At the period end" is the
instant ``period.end_utc``, judged with the rules of facts.py.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta

from .catalogue import DOSSIER_CODES, IndicatorCode
from .evaluate import Figure, count, late_from_on_time, rate
from .facts import (
    Breakdown,
    DossierFacts,
    OpenStatus,
    Timeliness,
    breakdown_value,
    finished_instant,
    in_timeliness_scope,
    is_satisfied,
    open_status_at,
    processing_time,
    rating_instant,
    received_instant,
    timeliness,
)
from .periods import Period

Figures = dict[IndicatorCode, Figure]
DossierTest = Callable[[DossierFacts], bool]


def reference_figures(
    dossiers: Iterable[DossierFacts], period: Period, *, agencies: Collection[str] | None = None
) -> Figures:
    """Every dossier indicator for a period over the dossiers received by the given agencies."""
    chosen = [d for d in dossiers if agencies is None or d.agency_code in agencies]
    return _figures(chosen, period)


def reference_figures_by(
    dossiers: Iterable[DossierFacts],
    period: Period,
    by: Breakdown,
    *,
    agencies: Collection[str] | None = None,
) -> dict[str | None, Figures]:
    """Every dossier indicator, one entry per value of ``by`` among the given dossiers."""
    groups: dict[str | None, list[DossierFacts]] = {}
    for dossier in dossiers:
        if agencies is None or dossier.agency_code in agencies:
            groups.setdefault(breakdown_value(dossier, by), []).append(dossier)
    return {group: _figures(members, period) for group, members in groups.items()}


def _figures(dossiers: list[DossierFacts], period: Period) -> Figures:
    received = [d for d in dossiers if _in(received_instant(d), period)]
    on_time = _on_time_rate(dossiers, period)
    figures = {
        IndicatorCode.DOSSIER_RECEIVED: count(len(received)),
        IndicatorCode.DOSSIER_ONLINE_RATE: _share(received, lambda d: d.channel == "online"),
        IndicatorCode.DOSSIER_POSTAL_RATE: _share(received, lambda d: d.channel == "postal"),
        IndicatorCode.DOSSIER_ONLINE_PAYMENT_RATE: _share(
            [d for d in received if d.has_fee], lambda d: d.paid_online
        ),
        IndicatorCode.DOSSIER_DIGITIZED_RATE: _share(received, lambda d: d.digitized),
        IndicatorCode.DOSSIER_E_CERTIFIED_RATE: _share(received, lambda d: d.e_certified),
        IndicatorCode.DOSSIER_SYNCED_RATE: _share(received, lambda d: d.synced),
        IndicatorCode.DOSSIER_ON_TIME_RATE: on_time,
        IndicatorCode.DOSSIER_LATE_RATE: late_from_on_time(on_time),
        IndicatorCode.DOSSIER_OVERDUE_OPEN: count(_overdue_open(dossiers, period.end_utc)),
        IndicatorCode.DOSSIER_AVG_PROCESSING_DAYS: _average_processing_days(dossiers, period),
        IndicatorCode.DOSSIER_SATISFACTION_RATE: _share(
            [d for d in dossiers if _in(rating_instant(d), period)], is_satisfied
        ),
    }
    return {code: figures[code] for code in DOSSIER_CODES}


def _in(instant: datetime | None, period: Period) -> bool:
    return instant is not None and period.contains_instant(instant)


def _share(dossiers: list[DossierFacts], test: DossierTest) -> Figure:
    return rate(sum(1 for d in dossiers if test(d)), len(dossiers))


def _on_time_rate(dossiers: list[DossierFacts], period: Period) -> Figure:
    """Scope: received by the period end, not withdrawn, not finished before the period."""
    scope = [d for d in dossiers if _in_on_time_scope(d, period)]
    finished = [d for d in scope if _in(finished_instant(d), period)]
    still_open = [d for d in scope if open_status_at(d, period.end_utc) is not None]
    good = (Timeliness.EARLY, Timeliness.ON_TIME)
    finished_good = sum(1 for d in finished if timeliness(d) in good)
    open_in_time = sum(
        1 for d in still_open if open_status_at(d, period.end_utc) is OpenStatus.IN_TIME
    )
    return rate(finished_good + open_in_time, len(finished) + len(still_open))


def _in_on_time_scope(dossier: DossierFacts, period: Period) -> bool:
    received = received_instant(dossier)
    if received is None or not in_timeliness_scope(dossier) or received >= period.end_utc:
        return False
    finished = finished_instant(dossier)
    return finished is None or finished >= period.start_utc


def _overdue_open(dossiers: list[DossierFacts], instant: datetime) -> int:
    return sum(1 for d in dossiers if open_status_at(d, instant) is OpenStatus.OVERDUE)


def _average_processing_days(dossiers: list[DossierFacts], period: Period) -> Figure:
    """Finished in the period, not withdrawn: Σ (finished_at − received_at) / number finished."""
    durations = [
        duration
        for d in dossiers
        if _in(finished_instant(d), period) and (duration := processing_time(d)) is not None
    ]
    days = sum(durations, timedelta()) / timedelta(days=1)
    return Figure(days, len(durations), None if not durations else days / len(durations))
