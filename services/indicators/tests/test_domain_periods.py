"""Periods: parsing, local-time cuts, relative periods, series."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchc_indicators.domain.periods import (
    VN_TZ,
    Grain,
    Period,
    local_date,
    local_midnight,
    parse_period,
    period_of,
    period_series,
)

TODAY = date(2024, 3, 5)


@pytest.mark.parametrize(
    ("text", "start", "end", "grain", "label"),
    [
        ("2024-03-05", date(2024, 3, 5), date(2024, 3, 6), Grain.DAY, "2024-03-05"),
        ("2024-03", date(2024, 3, 1), date(2024, 4, 1), Grain.MONTH, "2024-03"),
        ("2024-12", date(2024, 12, 1), date(2025, 1, 1), Grain.MONTH, "2024-12"),
        ("2024-Q1", date(2024, 1, 1), date(2024, 4, 1), Grain.QUARTER, "2024-Q1"),
        ("2024-q4", date(2024, 10, 1), date(2025, 1, 1), Grain.QUARTER, "2024-Q4"),
        ("2024-H1", date(2024, 1, 1), date(2024, 7, 1), Grain.HALF, "2024-H1"),
        ("2024-H2", date(2024, 7, 1), date(2025, 1, 1), Grain.HALF, "2024-H2"),
        (" 2024 ", date(2024, 1, 1), date(2025, 1, 1), Grain.YEAR, "2024"),
    ],
)
def test_absolute_periods(text: str, start: date, end: date, grain: Grain, label: str) -> None:
    assert parse_period(text) == Period(label, start, end, grain)


@pytest.mark.parametrize(
    ("text", "today", "start", "end", "label"),
    [
        ("this_month", TODAY, date(2024, 3, 1), date(2024, 4, 1), "2024-03"),
        ("this_quarter", TODAY, date(2024, 1, 1), date(2024, 4, 1), "2024-Q1"),
        ("this_year", TODAY, date(2024, 1, 1), date(2025, 1, 1), "2024"),
        ("year_to_date", TODAY, date(2024, 1, 1), date(2024, 3, 6), "2024-01-01/2024-03-05"),
        ("last_12_months", TODAY, date(2023, 3, 6), date(2024, 3, 6), "2023-03-06/2024-03-05"),
        ("LAST_12_MONTHS", date(2024, 2, 29), date(2023, 3, 1), date(2024, 3, 1), None),
        ("year_to_date", date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 2), None),
    ],
)
def test_relative_periods(
    text: str, today: date, start: date, end: date, label: str | None
) -> None:
    period = parse_period(text, today=today)
    assert (period.start, period.end) == (start, end)
    if label is not None:
        assert period.label == label


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-13", "month must be in 1..12"),
        ("2024-02-30", "day is out of range"),
        ("2024-Q5", "Q must be 1..4"),
        ("2024-Q0", "Q must be 1..4"),
        ("2024-H3", "H must be 1..2"),
        ("1850", "year must be 1900..2999"),
        ("24-03", "expected YYYY-MM-DD"),
        ("", "expected YYYY-MM-DD"),
        ("2024-3", "expected YYYY-MM-DD"),
        ("this_week", "this_month, this_quarter"),
        ("2024-03-05T00:00", "invalid period"),
    ],
)
def test_bad_periods_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period(text, today=TODAY)


def test_relative_period_needs_today() -> None:
    with pytest.raises(ValueError, match="needs today's date"):
        parse_period("this_month")


def test_periods_are_cut_in_local_time() -> None:
    march = parse_period("2024-03")
    assert march.start_utc == datetime(2024, 2, 29, 17, tzinfo=UTC)
    assert march.end_utc == datetime(2024, 3, 31, 17, tzinfo=UTC)
    half_past_eleven_on_31_march = datetime(2024, 3, 31, 23, 30, tzinfo=VN_TZ)
    assert half_past_eleven_on_31_march.astimezone(UTC).day == 31  # 16:30 UTC
    assert march.contains_instant(half_past_eleven_on_31_march)
    assert local_date(half_past_eleven_on_31_march) == date(2024, 3, 31)
    midnight_1_april = datetime(2024, 4, 1, tzinfo=VN_TZ)
    assert not march.contains_instant(midnight_1_april)
    assert parse_period("2024-04").contains_instant(midnight_1_april)
    # 1 April 06:00 local is still 31 March in UTC, and it is April.
    assert local_date(datetime(2024, 3, 31, 23, tzinfo=UTC)) == date(2024, 4, 1)


def test_local_date_rejects_naive_instants() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        local_date(datetime(2024, 3, 5, 12))


def test_series_of_months() -> None:
    months = period_series("2024-01", "2024-12", "month")
    assert [p.label for p in months] == [f"2024-{m:02d}" for m in range(1, 13)]


def test_series_covers_partial_ends() -> None:
    quarters = period_series("2024-02-15", "2024-11", Grain.QUARTER)
    assert [p.label for p in quarters] == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    halves = period_series("2023-Q4", "2024", "half")
    assert [p.label for p in halves] == ["2023-H2", "2024-H1", "2024-H2"]
    days = period_series("2024-02-28", "2024-03-01", "day")
    assert [p.label for p in days] == ["2024-02-28", "2024-02-29", "2024-03-01"]
    assert [p.label for p in period_series("this_year", "this_year", "year", today=TODAY)] == [
        "2024"
    ]


def test_series_errors() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        period_series("2024-05", "2024-03", "month")
    with pytest.raises(ValueError, match="invalid grain 'week'"):
        period_series("2024-01", "2024-03", "week")
    with pytest.raises(ValueError, match="more than 5000 points"):
        period_series("2000", "2030", "day")


def test_clipped_period_ends_with_today() -> None:
    this_year = parse_period("this_year", today=TODAY)
    clipped = this_year.clipped(TODAY)
    assert (clipped.start, clipped.end) == (date(2024, 1, 1), date(2024, 3, 6))
    assert clipped.label == "2024"
    assert parse_period("2023").clipped(TODAY) == parse_period("2023")
    with pytest.raises(ValueError, match="starts after today"):
        parse_period("2025").clipped(TODAY)


days = st.dates(min_value=date(1950, 1, 1), max_value=date(2990, 12, 31))


@settings(max_examples=200, deadline=None, database=None)
@given(day=days, grain=st.sampled_from(Grain))
def test_period_of_contains_the_day_and_round_trips(day: date, grain: Grain) -> None:
    period = period_of(day, grain)
    assert period.contains_day(day)
    assert parse_period(period.label) == period
    assert local_midnight(period.start) == period.start_utc
    assert period.end_utc - period.start_utc == timedelta(days=(period.end - period.start).days)


@settings(max_examples=100, deadline=None, database=None)
@given(first=days, length=st.integers(0, 800), grain=st.sampled_from(Grain))
def test_series_tiles_without_gaps(first: date, length: int, grain: Grain) -> None:
    last = first + timedelta(days=length)
    series = period_series(first.isoformat(), last.isoformat(), grain)
    assert series[0].contains_day(first)
    assert series[-1].contains_day(last)
    assert all(a.end == b.start for a, b in pairwise(series))
