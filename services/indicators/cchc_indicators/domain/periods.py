"""Reporting periods, cut in Vietnam local time.

Every period is a half-open range of local calendar days ``[start, end)``: ``2024-03`` is
``[2024-03-01, 2024-04-01)``. Vietnam keeps UTC+07:00 all year (no DST), so a local day maps to
the fixed UTC range ``[start 00:00+07:00, next day 00:00+07:00)``: a dossier received at 23:30 on
31 March local time (16:30 UTC) belongs to March, one received at 00:00 on 1 April to April.

Accepted texts (indicators.md "Time"):
- absolute: day ``2024-03-05``, month ``2024-03``, quarter ``2024-Q1``, half ``2024-H1``, year
  ``2024``;
- relative to a local ``today``: ``this_month``, ``this_quarter``, ``this_year`` (the whole
  calendar period that contains today), ``year_to_date`` (1 January to today, today included),
  ``last_12_months`` (the twelve months that end with today, today included: on 2024-03-05 that
  is 2023-03-06 to 2024-03-05).

A period that has not ended yet (``this_year`` in March) reaches into the future; figures "at the
period end" of such a period should be read at the end of today: see :meth:`Period.clipped`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum

VN_TZ = timezone(timedelta(hours=7), "UTC+07:00")
"""Vietnam local time: indicators.md cuts every period in it."""

MIN_YEAR = 1900
MAX_YEAR = 2999  # a sanity bound: far-future years are typos, and `date` ends at 9999
MAX_SERIES_POINTS = 5000  # about 13 years of days: a guard against a runaway request


class Grain(StrEnum):
    DAY = "day"
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


_MONTHS_PER_GRAIN = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.HALF: 6, Grain.YEAR: 12}

RELATIVE_PERIODS = ("this_month", "this_quarter", "this_year", "year_to_date", "last_12_months")


def local_date(instant: datetime) -> date:
    """The Vietnam local calendar date of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError(f"instant {instant.isoformat()} has no UTC offset")
    return instant.astimezone(VN_TZ).date()


def local_midnight(day: date) -> datetime:
    """The UTC instant at which a local day begins (00:00+07:00 = 17:00 UTC the day before)."""
    return datetime.combine(day, time(0), tzinfo=VN_TZ).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """Local days ``[start, end)``; ``grain`` is None for a range such as ``year_to_date``."""

    label: str
    start: date
    end: date
    grain: Grain | None

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"period {self.label!r} is empty: {self.start} to {self.end}")

    @property
    def last_day(self) -> date:
        """The last local day inside the period (its stock figures are read at this day's end)."""
        return self.end - timedelta(days=1)

    @property
    def start_utc(self) -> datetime:
        return local_midnight(self.start)

    @property
    def end_utc(self) -> datetime:
        """The first instant after the period: figures "at period end" are judged here."""
        return local_midnight(self.end)

    def contains_day(self, day: date) -> bool:
        return self.start <= day < self.end

    def contains_instant(self, instant: datetime) -> bool:
        return self.start_utc <= instant < self.end_utc

    def clipped(self, today: date) -> Period:
        """The period cut at the end of ``today`` when it has not ended yet.

        An open dossier is judged overdue or in time "at period end"; for a period still running
        that instant is in the future and would count dossiers due next week as overdue already.
        """
        if self.end <= today + timedelta(days=1):
            return self
        if today < self.start:
            raise ValueError(f"period {self.label!r} starts after today ({today})")
        return Period(self.label, self.start, today + timedelta(days=1), self.grain)


def period_of(day: date, grain: Grain) -> Period:
    """The period of the given grain that contains a local day."""
    if grain is Grain.DAY:
        return Period(day.isoformat(), day, day + timedelta(days=1), grain)
    months = _MONTHS_PER_GRAIN[grain]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    return Period(_label(start, grain), start, _add_months(start, months), grain)


def _label(start: date, grain: Grain) -> str:
    if grain is Grain.DAY:
        return start.isoformat()
    if grain is Grain.MONTH:
        return f"{start.year:04d}-{start.month:02d}"
    if grain is Grain.QUARTER:
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    if grain is Grain.HALF:
        return f"{start.year:04d}-H{(start.month - 1) // 6 + 1}"
    return f"{start.year:04d}"


def _add_months(day: date, months: int) -> date:
    """Shift by whole months, keeping the day of month where it exists (31 Mar - 1 = 29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month_start = date(year + (month == 12), month % 12 + 1, 1)
    last_day_of_month = (next_month_start - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day_of_month))


_ABSOLUTE = re.compile(
    r"^(?P<year>\d{4})"
    r"(?:-(?:(?P<month>\d{2})(?:-(?P<day>\d{2}))?|Q(?P<quarter>\d)|H(?P<half>\d)))?$"
)

_FORMATS_HELP = "expected YYYY-MM-DD, YYYY-MM, YYYY-Qn, YYYY-Hn, YYYY or one of " + ", ".join(
    RELATIVE_PERIODS
)


def parse_period(text: str, *, today: date | None = None) -> Period:
    """Parse a period text; relative texts need the local ``today`` they are relative to."""
    cleaned = text.strip()
    if cleaned.lower() in RELATIVE_PERIODS:
        if today is None:
            raise ValueError(f"relative period {cleaned!r} needs today's date")
        return _relative(cleaned.lower(), today)
    match = _ABSOLUTE.match(cleaned.upper())
    if match is None:
        raise ValueError(f"invalid period {text!r}: {_FORMATS_HELP}")
    return _absolute(text, match)


def _absolute(text: str, match: re.Match[str]) -> Period:
    year = int(match["year"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"invalid period {text!r}: year must be {MIN_YEAR}..{MAX_YEAR}")
    if match["day"] is not None:
        return period_of(
            _checked_date(text, year, int(match["month"]), int(match["day"])), Grain.DAY
        )
    if match["month"] is not None:
        return period_of(_checked_date(text, year, int(match["month"]), 1), Grain.MONTH)
    if match["quarter"] is not None:
        return _numbered(text, year, int(match["quarter"]), Grain.QUARTER, count=4)
    if match["half"] is not None:
        return _numbered(text, year, int(match["half"]), Grain.HALF, count=2)
    return period_of(date(year, 1, 1), Grain.YEAR)


def _checked_date(text: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"invalid period {text!r}: {exc}") from None


def _numbered(text: str, year: int, number: int, grain: Grain, *, count: int) -> Period:
    if not 1 <= number <= count:
        letter = "Q" if grain is Grain.QUARTER else "H"
        raise ValueError(f"invalid period {text!r}: {letter} must be 1..{count}")
    first_month = (number - 1) * _MONTHS_PER_GRAIN[grain] + 1
    return period_of(date(year, first_month, 1), grain)


def _relative(name: str, today: date) -> Period:
    if name == "this_month":
        return period_of(today, Grain.MONTH)
    if name == "this_quarter":
        return period_of(today, Grain.QUARTER)
    if name == "this_year":
        return period_of(today, Grain.YEAR)
    tomorrow = today + timedelta(days=1)
    if name == "year_to_date":
        start = date(today.year, 1, 1)
    else:  # last_12_months
        start = _add_months(today, -12) + timedelta(days=1)
    return Period(f"{start.isoformat()}/{today.isoformat()}", start, tomorrow, None)


def period_series(
    first: str | Period, last: str | Period, grain: Grain | str, *, today: date | None = None
) -> list[Period]:
    """Consecutive periods of ``grain`` from the one containing ``first``'s start to the one
    containing ``last``'s last day: ``("2024-01", "2024-12", "month")`` gives twelve months."""
    chosen = _grain(grain)
    start = _as_period(first, today).start
    stop = _as_period(last, today).last_day
    if stop < start:
        raise ValueError(f"series ends ({stop}) before it starts ({start})")
    points: list[Period] = []
    current = period_of(start, chosen)
    while current.start <= stop:
        if len(points) == MAX_SERIES_POINTS:
            raise ValueError(
                f"series has more than {MAX_SERIES_POINTS} points: use a coarser grain"
            )
        points.append(current)
        current = period_of(current.end, chosen)
    return points


def _grain(grain: Grain | str) -> Grain:
    try:
        return Grain(grain)
    except ValueError:
        names = ", ".join(g.value for g in Grain)
        raise ValueError(f"invalid grain {grain!r}: expected one of {names}") from None


def _as_period(period: str | Period, today: date | None) -> Period:
    return period if isinstance(period, Period) else parse_period(period, today=today)
