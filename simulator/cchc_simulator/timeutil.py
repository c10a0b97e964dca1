"""Vietnam local time as plain integers.

The simulator keeps every instant as "VN seconds": seconds since 1970-01-01 00:00 *local* time
(UTC+07:00, no DST). Day arithmetic is then a division, and formatting the contract's
``yyyyMMddHHmmss`` strings needs no timezone machinery on the hot path of the change feed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache

VN_OFFSET_SECONDS = 7 * 3600
DAY = 86_400
HOUR = 3600
MINUTE = 60
_EPOCH = date(1970, 1, 1)


def vn_seconds_from_unix(unix_seconds: float) -> int:
    """VN seconds of a Unix timestamp (what ``time.time()`` returns)."""
    return int(unix_seconds) + VN_OFFSET_SECONDS


def day_of(vn: int) -> int:
    """Local day number (days since 1970-01-01) of an instant."""
    return vn // DAY


def day_number(d: date) -> int:
    return (d - _EPOCH).days


def date_of_day(day: int) -> date:
    return _EPOCH + timedelta(days=day)


def weekday_of_day(day: int) -> int:
    """Monday is 0. 1970-01-01 was a Thursday."""
    return (day + 3) % 7


@cache
def format_day(day: int) -> str:
    """``yyyyMMdd`` of a local day; cached because the feed formats the same days over and over."""
    return date_of_day(day).strftime("%Y%m%d")


# "HHmmss" of every second of a day (5 MB): formatting a datetime is then two lookups, which
# matters when the feed formats a few million of them.
_TWO_DIGITS = [f"{n:02d}" for n in range(60)]
_CLOCK_TEXT = tuple(h + m + s for h in _TWO_DIGITS[:24] for m in _TWO_DIGITS for s in _TWO_DIGITS)


_DAY_TEXT: dict[int, str] = {}


def format_datetime(vn: int) -> str:
    """``yyyyMMddHHmmss`` in local time."""
    day, second = divmod(vn, DAY)
    day_text = _DAY_TEXT.get(day)
    if day_text is None:
        day_text = _DAY_TEXT[day] = format_day(day)
    return day_text + _CLOCK_TEXT[second]


def format_iso(vn: int, *, as_utc: bool) -> str:
    """ISO 8601 with an explicit offset: local ``+07:00`` or the same instant at ``+00:00``."""
    if as_utc:
        vn -= VN_OFFSET_SECONDS
    text = format_datetime(vn)
    offset = "+00:00" if as_utc else "+07:00"
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}T{text[8:10]}:{text[10:12]}:{text[12:14]}{offset}"


def parse_datetime(text: str) -> int:
    """VN seconds of a ``yyyyMMddHHmmss`` string; ValueError if it is not one."""
    if len(text) != 14 or not text.isdigit():
        raise ValueError(f"not yyyyMMddHHmmss: {text!r}")
    moment = datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return int(moment.timestamp())


def parse_day(text: str) -> int:
    """Local day number of a ``yyyyMMdd`` string; ValueError if it is not one."""
    if len(text) != 8 or not text.isdigit():
        raise ValueError(f"not yyyyMMdd: {text!r}")
    return day_number(datetime.strptime(text, "%Y%m%d").date())


def parse_end(text: str) -> int:
    """An end instant given as ``yyyyMMdd`` (end of that day) or ``yyyyMMddHHmmss``."""
    if len(text) == 8:
        return (parse_day(text) + 1) * DAY - 1
    return parse_datetime(text)
