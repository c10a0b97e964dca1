"""Source timestamps: Vietnam local time as ``yyyyMMddHHmmss``, or ISO 8601 with an offset.

Everything is stored as a UTC instant; periods are cut in local time (UTC+07:00, no DST), so the
local date of an instant is computed here too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from cchc_shared.types import utc_instant

VN = timezone(timedelta(hours=7), "ICT")
VN_OFFSET = timedelta(hours=7)


class BadInstant(ValueError):
    """A timestamp that is neither ``yyyyMMddHHmmss`` nor ISO 8601."""


def parse_instant(value: object) -> datetime | None:
    """The UTC instant of a source timestamp; None for a missing or empty one.

    ``yyyyMMddHHmmss`` is local time. ISO 8601 keeps its own offset; without one it is local time
    too (the contract: "Vietnam local time unless they carry an offset").
    """
    if value.__class__ is str:
        found = _PARSED.get(value)
        if found is not None:
            return found
        result = _parse_text(value)
        if result is not None:
            remember(_PARSED, value, result)
        return result
    if value is None:
        return None
    raise BadInstant(f"not a date-time string: {value!r}")


# The change feed carries every version of a dossier, and its dates (submitted, received, due)
# repeat from version to version: remembering what a string meant saves most of the parsing.
_PARSED: dict[str, datetime] = {}
_ISO: dict[datetime, str] = {}
CACHE_LIMIT = 200_000


def remember(cache: dict[Any, Any], key: object, value: object, limit: int = CACHE_LIMIT) -> None:
    """Add to a bounded memo; when full, start over (cheaper than LRU bookkeeping per hit)."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value


def _parse_text(value: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    if len(text) == 14 and text.isascii() and text.isdigit():
        return _compact_local(text)
    if len(text) >= 19 and text[4] == "-" and text[10] in "Tt ":
        return _iso(text)
    raise BadInstant(f"not yyyyMMddHHmmss nor ISO 8601: {value!r}")


def _compact_local(text: str) -> datetime:
    midnight = _local_midnight(text[:8])
    hours, minutes, seconds = int(text[8:10]), int(text[10:12]), int(text[12:14])
    if midnight is None or hours > 23 or minutes > 59 or seconds > 59:
        raise BadInstant(f"not a valid date-time: {text!r}")
    return midnight + timedelta(seconds=hours * 3600 + minutes * 60 + seconds)


@lru_cache(maxsize=8192)
def _local_midnight(day: str) -> datetime | None:
    """The UTC instant of local midnight of a ``yyyyMMdd`` day (cached: days repeat a lot)."""
    try:
        return datetime(int(day[0:4]), int(day[4:6]), int(day[6:8]), tzinfo=UTC) - VN_OFFSET
    except (ValueError, OverflowError):  # 00010101: no UTC instant before year 1
        return None


def _iso(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadInstant(f"not a valid ISO 8601 date-time: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VN)
    try:
        return utc_instant(moment)
    except ValueError as exc:
        # 0001-01-01T00:00:00 (a .NET "no date") local time falls before year 1 in UTC.
        raise BadInstant(f"date-time out of range: {text!r}") from exc


def parse_day(value: object) -> date | None:
    """A ``yyyyMMdd`` date (or ISO ``YYYY-MM-DD``); None for a missing or empty one."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInstant(f"not a date string: {value!r}")
    text = value.strip()
    if not text:
        return None
    try:
        if len(text) == 8 and text.isascii() and text.isdigit():
            return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return date.fromisoformat(text)
    except ValueError as exc:
        raise BadInstant(f"not a valid date: {value!r}") from exc
    raise BadInstant(f"not yyyyMMdd: {value!r}")


def local_date(moment: datetime) -> date:
    """The Vietnam-local calendar date of a UTC instant."""
    return (moment + VN_OFFSET).date()


def local_day_start(day: date) -> datetime:
    """The UTC instant at which a local day begins."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - VN_OFFSET


def format_compact_local(moment: datetime) -> str:
    """``yyyyMMddHHmmss`` in local time: how the source wants instants in queries."""
    return (moment.astimezone(UTC) + VN_OFFSET).strftime("%Y%m%d%H%M%S")


def format_compact_day(day: date) -> str:
    return day.strftime("%Y%m%d")


def iso_utc(moment: datetime | None) -> str | None:
    """``2024-03-05T02:30:00Z``: the event payloads' instant format."""
    if moment is None:
        return None
    found = _ISO.get(moment)
    if found is None:
        # isoformat() is several times faster than strftime(); instants here are all UTC.
        found = moment.isoformat().replace("+00:00", "Z")
        remember(_ISO, moment, found)
    return found
