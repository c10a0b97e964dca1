"""What every read endpoint shares: the read context, ETags and 304s, a small answer cache,
parameters (periods, org units) turned into domain values, problem documents for bad ones, and
the org-unit scope of the caller.

An answer depends only on the request, the caller's org-unit scope, the data (``epoch`` and
``data_version``, which every applied batch moves) and today's date: together they are the ETag,
and the key of a per-process cache of rendered answers, so a wall of dashboards asking the same
questions costs one computation per change of the data.

Scope: a principal limited to an org unit sees that unit's subtree only. The subtree is today's
tree as this service holds it (from the org-unit and agency events): every unit whose parent
chain passes through the scope unit, and every unit that has ended and whose successor standing
today lies in it (so a merged unit's history stays visible to whoever holds its successor).
"""

from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cchc_indicators.domain.catalogue import IndicatorDefinition, indicator
from cchc_indicators.domain.evaluate import Figure
from cchc_indicators.domain.periods import Period, parse_period
from cchc_indicators.service.context import ReadContext, read_context
from cchc_indicators.service.figures import QueryError
from cchc_indicators.service.org_tree import OrgTree, Unit
from cchc_shared.auth import DescendantCheck, Forbidden, Principal, scoped_org_unit
from cchc_shared.errors import FieldError, NotFound, ValidationFailed

CACHE_SIZE = 4096


class LazySession:
    """The request's session, opened on first use: most answers come from memory and need none,
    and reads need no commit, so none is opened before it is needed."""

    __slots__ = ("_maker", "_session")

    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker
        self._session: AsyncSession | None = None

    def __call__(self) -> AsyncSession:
        if self._session is None:
            self._session = self._maker()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def _read_context(request: Request) -> AsyncIterator[ReadContext]:
    session = LazySession(request.app.state.sessionmaker)
    try:
        yield await read_context(session, cached=True)
    finally:
        await session.close()


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


@dataclass(frozen=True, slots=True)
class Asked:
    """What an answer depends on in a request besides its parsed parameters: the path, the raw
    query string (part of the ETag) and ``If-None-Match``. Built from a FastAPI request or, on
    the fast path (``api/fast.py``), from the ASGI scope: the answer is then the same."""

    path: str
    query: bytes
    if_none_match: str | None

    @classmethod
    def of(cls, request: Request) -> Asked:
        scope = request.scope
        return cls(
            scope["path"], scope.get("query_string", b""), request.headers.get("if-none-match")
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer and its ETag; ``body`` None: the client has it (304)."""

    tag: str
    body: bytes | None


def etag(ctx: ReadContext, asked: Asked, principal: Principal) -> str:
    # The raw query string, its parameters sorted: parsing it (and building ``request.url``)
    # cost more than the rest of a cached answer.
    query = b"&".join(sorted(asked.query.split(b"&"))).decode("latin-1")
    fresh = ctx.freshness
    # The same URL answers differently for callers of different scopes (defaults, filtered rows).
    scope = principal.org_unit_scope or ""
    key = f"{fresh.epoch}:{fresh.data_version}:{ctx.today}:{scope}:{asked.path}?{query}"
    return f'W/"{hashlib.blake2b(key.encode(), digest_size=12).hexdigest()}"'


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    offered = {t.strip() for t in if_none_match.split(",")}
    return "*" in offered or tag in offered or tag.removeprefix("W/") in offered


async def answered(
    asked: Asked,
    ctx: ReadContext,
    principal: Principal,
    compute: Callable[[], Awaitable[dict[str, Any]]],
) -> Answer:
    """The answer with its ETag: none when the client has it, from the cache when we have it."""
    tag = etag(ctx, asked, principal)
    if _matches(asked.if_none_match, tag):
        return Answer(tag, None)
    body = CACHE.get(tag)
    if body is None:
        with problems():
            content = await compute()
        body = orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        CACHE.put(tag, body)
    return Answer(tag, body)


def as_response(answer: Answer) -> Response:
    """The HTTP response of an answer: JSON, or 304; ``ETag`` and ``Cache-Control`` on both."""
    headers = {"ETag": answer.tag, "Cache-Control": "no-cache"}
    if answer.body is None:
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type="application/json", headers=headers)


async def answer(
    request: Request,
    ctx: ReadContext,
    principal: Principal,
    compute: Callable[[], Awaitable[dict[str, Any]]],
) -> Response:
    """The answer with its ETag: 304 when the client has it, from the cache when we have it."""
    return as_response(await answered(Asked.of(request), ctx, principal, compute))


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
        return _clipped_period(text, ctx.today)
    except ValueError as exc:
        raise ValidationFailed([FieldError(field=field, message=str(exc))]) from None


@lru_cache(maxsize=4096)
def _clipped_period(text: str, today: date) -> Period:
    """Dashboards ask about the same few periods: parsed once per day (errors are not kept)."""
    return parse_period(text, today=today).clipped(today)


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


# Org-unit scope


def within(tree: OrgTree, unit: Unit, root: Unit, today: date) -> bool:
    """Whether ``unit`` lies in ``root``'s subtree: on its parent chain, or on the chain of the
    unit that stands in its place today when it has ended."""
    if root.code in unit.path:
        return True
    standing = tree.standing_today(unit.code, today)
    return standing is not None and root.code in standing.path


def descendant_check(ctx: ReadContext) -> DescendantCheck:
    """``is_descendant(unit, ancestor)`` on the tree this service holds (ids, codes or slugs)."""

    def check(ref: str, ancestor_ref: str) -> bool:
        unit, root = ctx.tree.find(ref), ctx.tree.find(ancestor_ref)
        return unit is not None and root is not None and within(ctx.tree, unit, root, ctx.today)

    return check


async def org_unit_param(
    ctx: ReadContext, principal: Principal, requested: str | None, field: str = "query.org_unit"
) -> str | None:
    """The org unit a read is about: the one asked for, within the caller's scope (403 naming
    ``field`` otherwise), or the caller's own unit when none is asked for."""
    ref = await scoped_org_unit(principal, requested, descendant_check(ctx), field=field)
    if ref is not None and ctx.tree.find(ref) is None and not (requested and requested.strip()):
        raise Forbidden(f"Your org unit {ref} is not known to this service (yet).", field=field)
    return ref


def visible_units(ctx: ReadContext, principal: Principal) -> Callable[[Unit], bool]:
    """Which units' rows the caller may see in a list across units."""
    scope = principal.org_unit_scope
    if scope is None:
        return lambda unit: True
    root = ctx.tree.find(scope)
    if root is None:
        return lambda unit: False
    return lambda unit: within(ctx.tree, unit, root, ctx.today)


def sees_province_wide(ctx: ReadContext, principal: Principal) -> bool:
    """Whether the caller may see figures of a whole province (targets without a unit): an
    unscoped caller, or one whose unit is a top of the tree."""
    scope = principal.org_unit_scope
    if scope is None:
        return True
    root = ctx.tree.find(scope)
    return root is not None and (root.parent_code is None or root.parent_code not in ctx.tree.units)
