"""Today in Vietnam: due dates are local calendar days (UTC+07:00, no DST)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "UTC+07:00")


def today_vn() -> date:
    return datetime.now(VN_TZ).date()
