"""Local-time arithmetic and the working-day calendar behind appointment dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

from cchc_simulator.history import due_after
from cchc_simulator.timeutil import (
    day_number,
    format_datetime,
    format_iso,
    parse_datetime,
    vn_seconds_from_unix,
)
from cchc_simulator.workdays import add_working_days, is_working_day


def test_local_time_round_trips_and_matches_the_vietnam_offset() -> None:
    unix = datetime(2025, 3, 31, 16, 30, 5, tzinfo=UTC).timestamp()

    local = vn_seconds_from_unix(unix)

    assert format_datetime(local) == "20250331233005"
    assert parse_datetime("20250331233005") == local
    assert format_iso(local, as_utc=False) == "2025-03-31T23:30:05+07:00"
    assert format_iso(local, as_utc=True) == "2025-03-31T16:30:05+00:00"


def test_working_days_skip_weekends_and_tet() -> None:
    friday = day_number(date(2025, 1, 17))

    assert not is_working_day(day_number(date(2025, 1, 18)))  # Saturday
    assert not is_working_day(day_number(date(2025, 1, 28)))  # Tết
    assert add_working_days(friday, 1) == day_number(date(2025, 1, 20))
    assert add_working_days(friday, 5) == day_number(date(2025, 1, 24))
    assert add_working_days(friday, 6) == day_number(date(2025, 2, 3))  # after the Tết leave


def test_appointment_keeps_the_time_of_day() -> None:
    received = parse_datetime("20250424093000")  # Thursday; 30/4 and 1/5 are holidays

    assert format_datetime(due_after(received, 3)) == "20250429093000"
    assert format_datetime(due_after(received, 4)) == "20250502093000"
