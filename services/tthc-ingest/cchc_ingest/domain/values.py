"""Scalar values as one-stop systems send them: flags as "0"/"1" or numbers, empty strings for
absent values, Vietnamese text possibly decomposed (NFD).

These run tens of times per record on the ingest's hot path, so the common spellings are answered
by a dictionary lookup and only unusual ones take the slow path.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation
from functools import cache


class BadValue(ValueError):
    """A value that cannot mean what its field says."""


_MISSING = object()


def storable(text: str) -> str:
    """Text a PostgreSQL text or JSONB column can hold: one with NUL is BadValue."""
    if "\x00" in text:
        raise BadValue("contains a NUL character")
    return text


def text(value: object) -> str | None:
    """NFC text, stripped; None for missing or blank. Numbers are accepted as their text."""
    if value.__class__ is str:
        stripped = value.strip()
        if not stripped:
            return None
        if stripped.isascii():
            return stripped
        return unicodedata.normalize("NFC", stripped)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):  # a str subclass
        return text(str(value))
    raise BadValue(f"not text: {value!r}")


class Spellings(dict[object, "int | None"]):
    """Every spelling of the numbers of an enumeration ("3", 3, 3.0; "" and None for none)."""

    def __init__(self, allowed: range) -> None:
        super().__init__(_spellings(allowed))
        self.allowed = allowed


@cache
def _spellings(allowed: range) -> dict[object, int | None]:
    table: dict[object, int | None] = {None: None, "": None}
    for number in allowed:
        table[number] = number
        table[str(number)] = number
        table[float(number)] = number
    return table


def small_int(value: object, *, allowed: range, what: str) -> int | None:
    """An enumeration sent as "3" or 3; None for missing or empty; BadValue outside ``allowed``."""
    if value.__class__ is not bool:
        try:
            found = _spellings(allowed).get(value, _MISSING)
        except TypeError:  # unhashable: a list or an object
            found = _MISSING
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        if isinstance(value, str) and value.strip() != value:
            return small_int(value.strip(), allowed=allowed, what=what)
    raise BadValue(f"unknown {what}: {value!r}")


# 0 == 0.0 == False and 1 == 1.0 == True as dictionary keys: numbers and booleans hit too.
FLAG_VALUES: dict[object, bool] = {"0": False, "1": True, 0: False, 1: True, "": False, None: False}
"""Every value read as a flag as it is (a lookup: TypeError for an unhashable value)."""
FLAG_SPELLINGS: dict[object, bool] = {"0": False, "1": True, "": False}
"""The string spellings of a flag (a lookup that needs no guard against unhashable values)."""


def flag(value: object) -> bool:
    """ "1"/1/true -> True; "0"/0/false/""/missing -> False; anything else is a BadValue."""
    try:
        found = FLAG_VALUES.get(value, _MISSING)
    except TypeError:
        found = _MISSING
    if found is _MISSING:
        if isinstance(value, str) and value.strip() != value:
            return flag(value.strip())
        raise BadValue(f"not a flag: {value!r}")
    return found  # type: ignore[return-value]


def amount(value: object) -> int:
    """A fee in whole VND, sent as a number or a numeric string; empty means 0."""
    if value is None or value == "":
        return 0
    if value.__class__ is int:
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadValue(f"not an amount: {value!r}")
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation as exc:
        raise BadValue(f"not an amount: {value!r}") from exc
    if not number.is_finite() or number < 0:
        raise BadValue(f"not an amount: {value!r}")
    return int(number.to_integral_value())


def positive_int(value: object, *, what: str) -> int:
    """A required non-negative integer (e.g. ``PhienBan``) sent as a number or a numeric string."""
    if value.__class__ is int:
        number: int = value
    elif isinstance(value, bool) or value is None or value == "":
        raise BadValue(f"missing {what}" if value in (None, "") else f"not an integer: {value!r}")
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        number = int(value.strip())
    else:
        raise BadValue(f"not an integer: {value!r}")
    if number < 0 or number > 2**31 - 1:
        raise BadValue(f"out of range: {value!r}")
    return number
