"""What every read endpoint shares: the read context, ETags and 304s, a small answer cache,
parameters (periods, org units) turned into domain values, and problem documents for bad ones.

An answer depends only on the request, the data (``epoch`` and ``data_version``, which every
applied batch moves) and today's date: that triple is the ETag, and the key of a per-process
cache of rendered answers, so a wall of dashboards asking the same questions costs one
computation per change of the data.
"""

from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cchc_indicators.domain.catalogue import IndicatorDefinition, indicator
from cchc_indicators.domain.evaluate import Figure
from cchc_indicators.domain.periods import Period, parse_period
from cchc_indicators.service.context import ReadContext, read_context
from cchc_indicators.service.figures import QueryError
from cchc_indicators.service.org_tree import Unit
from cchc_shared.errors import FieldError, NotFound, ValidationFailed

CACHE_SIZE = 4096


async def _read_context(request: Request) -> AsyncIterator[ReadContext]:
    # A session that touches the database only if the answer is not cached already; reads
    # need no commit, so none is opened before it is needed.
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield await read_context(session, cached=True)


Ctx = Annotated[ReadContext, Depends(_read_context, scope="function")]


class AnswerCache:
    """Rendered answers by ETag; least recently used ones go first."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._answers: OrderedDict[str, bytes] = OrderedDict()

    def get(self, tag: str) -> bytes | None:
        body = self._answers.get(tag)
        if body is not None:
            self._answers.move_to_end(tag)
        return body

    def put(self, tag: str, body: bytes) -> None:
        self._answers[tag] = body
        if len(self._answers) > self._size:
            self._answers.popitem(last=False)

    def clear(self) -> None:
        self._answers.clear()


CACHE = AnswerCache()


def etag(ctx: ReadContext, request: Request) -> str:
    query = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    fresh = ctx.freshness
    key = f"{fresh.epoch}:{fresh.data_version}:{ctx.today}:{request.url.path}?{query}"
    return f'W/"{hashlib.blake2b(key.encode(), digest_size=12).hexdigest()}"'


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    offered = {t.strip() for t in if_none_match.split(",")}
    return "*" in offered or tag in offered or tag.removeprefix("W/") in offered


async def answer(
    request: Request, ctx: ReadContext, compute: Callable[[], Awaitable[dict[str, Any]]]
) -> Response:
    """The answer with its ETag: 304 when the client has it, from the cache when we have it."""
    tag = etag(ctx, request)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    body = CACHE.get(tag)
    if body is None:
        with problems():
            content = await compute()
        body = orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        CACHE.put(tag, body)
    return Response(body, media_type="application/json", headers=headers)


@contextmanager
def problems() -> Iterator[None]:
    """A question the service cannot answer becomes a 422 naming the parameter at fault."""
    try:
        yield
    except QueryError as exc:
        raise ValidationFailed([FieldError(field=exc.field, message=str(exc))]) from None


def definition_of(code: str) -> IndicatorDefinition:
    try:
        return indicator(code)
    except ValueError:
        raise NotFound("Indicator", code) from None


def period_param(ctx: ReadContext, text: str, field: str = "query.period") -> Period:
    """A period text, cut at today's end when it is still running."""
    try:
        period = parse_period(text, today=ctx.today)
        return period.clipped(ctx.today)
    except ValueError as exc:
        raise ValidationFailed([FieldError(field=field, message=str(exc))]) from None


def instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def figure_fields(figure: Figure) -> dict[str, Any]:
    return {
        "value": figure.value,
        "numerator": figure.numerator,
        "denominator": figure.denominator,
    }


def unit_fields(unit: Unit | None) -> dict[str, Any]:
    if unit is None:
        return {"org_unit_id": None, "org_unit_code": None, "org_unit_name": None}
    return {
        "org_unit_id": str(unit.id) if unit.id else unit.code,
        "org_unit_code": unit.code,
        "org_unit_name": unit.name,
    }


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


def decode_cursor(cursor: str | None, field: str = "query.cursor") -> list[Any] | None:
    if not cursor:
        return None
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        values = None
    if not isinstance(values, list):
        raise ValidationFailed([FieldError(field=field, message="not a cursor this API gave")])
    return values
