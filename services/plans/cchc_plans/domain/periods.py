"""Reporting periods of reported figures: ``2024-03-05``, ``2024-03``, ``2024-Q1``, ``2024-H1``,
``2024`` (indicators.md "Time"), as inclusive local date ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_PATTERN = re.compile(
    r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})(?:-(?P<day>\d{2}))?|Q(?P<quarter>[1-4])|H(?P<half>[12])))?$"
)


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    first_day: date
    last_day: date

    def overlaps(self, start: date, end: date) -> bool:
        return self.first_day <= end and start <= self.last_day


def parse_period(label: str) -> Period:
    """Raise ValueError for anything but an absolute period of indicators.md."""
    match = _PATTERN.match(label)
    if match is None:
        raise ValueError("expected a period such as 2024, 2024-H1, 2024-Q1, 2024-03 or 2024-03-05")
    year = int(match["year"])
    if match["day"]:
        day = date(year, int(match["month"]), int(match["day"]))
        return Period(label, day, day)
    if match["month"]:
        return _months(label, year, int(match["month"]), 1)
    if match["quarter"]:
        return _months(label, year, 3 * int(match["quarter"]) - 2, 3)
    if match["half"]:
        return _months(label, year, 6 * int(match["half"]) - 5, 6)
    return Period(label, date(year, 1, 1), date(year, 12, 31))


def _months(label: str, year: int, first_month: int, count: int) -> Period:
    start = date(year, first_month, 1)  # raises ValueError for month 13
    end_month = first_month + count
    end = date(year + 1, 1, 1) if end_month > 12 else date(year, end_month, 1)
    return Period(label, start, end - timedelta(days=1))
