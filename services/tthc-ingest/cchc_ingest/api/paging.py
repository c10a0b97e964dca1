"""Opaque list cursors (``?cursor=``) and the ``?limit=`` convention (default 50, max 500)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import Query

from cchc_shared.errors import FieldError, ValidationFailed
from cchc_shared.types import utc_instant

Limit = Annotated[int, Query(ge=1, le=500, description="Items per page (at most 500).")]
CursorParam = Annotated[
    str | None, Query(description="Opaque cursor from the previous page's `next_cursor`.")
]


def encode(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def _decode(cursor: str) -> object:
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise _bad_cursor() from exc


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed([FieldError(field="query.cursor", message="not a cursor of this list")])


BIGINT_MAX = 2**63 - 1
"""The largest id a `bigint` column holds: a larger one failed in the database driver (a 500)."""


def decode_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    value = _decode(cursor)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= BIGINT_MAX:
        raise _bad_cursor()
    return value


def decode_time_id(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    value = _decode(cursor)
    try:
        assert isinstance(value, list) and len(value) == 2
        instant, row_id = datetime.fromisoformat(value[0]), uuid.UUID(value[1])
        # Ours carry an offset; an instant outside years 1-9999 in UTC failed in the driver.
        if instant.tzinfo is None:
            raise _bad_cursor()
        return utc_instant(instant), row_id
    except (AssertionError, TypeError, ValueError) as exc:
        raise _bad_cursor() from exc


def encode_time_id(created_at: datetime, row_id: uuid.UUID) -> str:
    return encode([created_at.isoformat(), str(row_id)])
