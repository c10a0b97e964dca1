"""Value types shared by the services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cchc_shared.types import utc_instant


def test_an_instant_is_given_in_utc() -> None:
    local = datetime(2024, 3, 1, 8, tzinfo=timezone(timedelta(hours=7)))
    assert utc_instant(local) == datetime(2024, 3, 1, 1, tzinfo=UTC)
    assert utc_instant(local).tzinfo is UTC


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_instant_outside_years_1_to_9999_in_utc_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="outside the years 1 to 9999"):
        utc_instant(datetime.fromisoformat(text))
