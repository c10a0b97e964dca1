"""Keyset pagination: the cursor is the sort key of the last row, opaque to clients."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import Select, Uuid, literal, tuple_
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.types import BigInteger, Date, DateTime, Integer, SmallInteger

from cchc_shared.types import utc_instant

T = TypeVar("T")


class BadCursor(ValueError):
    """The cursor was not made by us (answered 422 on `query.cursor`)."""


def encode_cursor(values: Sequence[Any]) -> str:
    raw = orjson.dumps([str(v) if not isinstance(v, int) else v for v in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[QueryableAttribute[Any]]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("wrong arity")
        return [_coerce(key, value) for key, value in zip(keys, values, strict=True)]
    except (ValueError, TypeError) as exc:  # JSONDecodeError and binascii.Error are ValueErrors
        raise BadCursor("not a cursor of this list") from exc


def _coerce(key: QueryableAttribute[Any], value: Any) -> Any:
    """The cursor's value as the key's column takes it. A value the database driver refuses
    (a NUL in text, an integer past the column's range, a number for text, an instant outside
    years 1-9999 in UTC) is not one of our cursors: refused here, not failing there (a 500)."""
    type_ = key.expression.type
    if isinstance(type_, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("bad cursor value")
        if not -_int_bound(type_) <= value < _int_bound(type_):
            raise ValueError("bad cursor value")
        return value
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("bad cursor value")
    if isinstance(type_, Uuid):
        return uuid.UUID(value)
    if isinstance(type_, DateTime):
        instant = datetime.fromisoformat(value)
        return instant if instant.tzinfo is None else utc_instant(instant)
    if isinstance(type_, Date):
        return date.fromisoformat(value)
    return value


def _int_bound(type_: Integer) -> int:
    """Integers the column holds lie in ``[-bound, bound)``."""
    if isinstance(type_, SmallInteger):
        return 2**15
    if isinstance(type_, BigInteger):
        return 2**63
    return 2**31


def keyset(
    stmt: Select[Any], keys: Sequence[QueryableAttribute[Any]], cursor: str | None, limit: int
) -> Select[Any]:
    """Order by ``keys`` and start after the cursor's row; one extra row tells if more follow."""
    if cursor is not None:
        values = decode_cursor(cursor, keys)
        bound = [literal(v, type_=k.expression.type) for k, v in zip(keys, values, strict=True)]
        stmt = stmt.where(tuple_(*keys) > tuple_(*bound))
    return stmt.order_by(*keys).limit(limit + 1)


def page(
    rows: Sequence[T], limit: int, key_of: Callable[[T], Sequence[Any]]
) -> tuple[list[T], str | None]:
    items = list(rows[:limit])
    next_cursor = encode_cursor(key_of(items[-1])) if len(rows) > limit and items else None
    return items, next_cursor
