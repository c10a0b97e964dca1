"""Working days of a Vietnamese public office: Monday to Friday, minus public holidays.

Legal processing times (``ThoiHanGiaiQuyet``) count working days, and dossier volume collapses on
weekends and at Tết, so both the appointment dates and the daily volumes come from here. Lunar
holidays move every year; the table holds the official leave of the years a demo is likely to
cover and falls back to a typical early-February week elsewhere.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache, lru_cache

from cchc_simulator.timeutil import date_of_day, weekday_of_day

# Official Tết leave (first and last day off) and the Hùng Kings' day off, by year.
_TET_LEAVE: dict[int, tuple[date, date]] = {
    2023: (date(2023, 1, 20), date(2023, 1, 26)),
    2024: (date(2024, 2, 8), date(2024, 2, 14)),
    2025: (date(2025, 1, 25), date(2025, 2, 2)),
    2026: (date(2026, 2, 14), date(2026, 2, 22)),
    2027: (date(2027, 2, 4), date(2027, 2, 10)),
    2028: (date(2028, 1, 24), date(2028, 1, 30)),
}
_HUNG_KINGS: dict[int, date] = {
    2023: date(2023, 5, 2),
    2024: date(2024, 4, 18),
    2025: date(2025, 4, 7),
    2026: date(2026, 4, 27),
    2027: date(2027, 4, 16),
    2028: date(2028, 4, 4),
}


@cache
def holidays_of_year(year: int) -> frozenset[date]:
    days = {
        date(year, 1, 1),
        date(year, 4, 30),
        date(year, 5, 1),
        date(year, 9, 1),
        date(year, 9, 2),
    }
    first, last = _TET_LEAVE.get(year, (date(year, 2, 1), date(year, 2, 7)))
    days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    days.add(_HUNG_KINGS.get(year, date(year, 4, 10)))
    return frozenset(days)


@cache
def is_holiday(day: int) -> bool:
    moment = date_of_day(day)
    return moment in holidays_of_year(moment.year)


@cache
def is_working_day(day: int) -> bool:
    return weekday_of_day(day) < 5 and not is_holiday(day)


@lru_cache(maxsize=1 << 16)
def add_working_days(day: int, count: int) -> int:
    """The working day ``count`` working days after ``day`` (``day`` itself need not be one)."""
    while count > 0:
        day += 1
        if is_working_day(day):
            count -= 1
    return day


@lru_cache(maxsize=1 << 14)
def next_working_day(day: int) -> int:
    """``day`` itself if it is a working day, else the next one."""
    while not is_working_day(day):
        day += 1
    return day
