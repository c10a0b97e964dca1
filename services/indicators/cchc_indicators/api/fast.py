"""The fast path of the two hottest reads: ``GET /api/v1/indicators/{code}/values`` and
``/series``, answered without FastAPI's routing, dependency solving and pydantic validation.

Why: a wall of dashboards asks these two questions over and over. Through FastAPI a request
cost about 0.9 ms of CPU here, nearly half of it in resolving the dependencies and validating
the parameters; with 32 clients on 2 cores latency is mostly queueing, so it grows with the CPU
each request takes.

How: a plain ASGI middleware, inside the request-id and metrics middleware (so every answer
carries its ``X-Request-ID`` and is counted as before). For these two paths it parses the query
with a small validator of the routes' own rules, takes the caller from the token (verified
tokens are cached by the verifier), and answers through the same functions the routes call
(``values_answer``, ``series_answer``): the same body, ETag, ``Cache-Control`` and 304.

What it does not answer, FastAPI does: anything it is not sure of goes on to the app unchanged
(a parameter that breaks a rule or appears twice, an unknown indicator, a missing or refused
token, a caller outside its scope, a question the service refuses). The routes then answer it
as they always have, so every problem document (status, field at fault, headers) stays theirs;
and the routes stay declared, so the OpenAPI document is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import get_args
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from cchc_indicators.api.common import Answer, Asked, LazySession
from cchc_indicators.api.indicators import (
    SeriesQuestion,
    ValuesQuestion,
    series_answer,
    values_answer,
)
from cchc_indicators.domain.periods import Grain
from cchc_indicators.service.context import read_context
from cchc_indicators.service.figures import Boundaries, Breakdown
from cchc_shared.auth import READ_ROLES, Authenticator, Principal
from cchc_shared.errors import ProblemError

ENABLED = True
"""Whether the fast path answers (tests switch it off to compare with the routes)."""

PREFIX = "/api/v1/indicators/"
VALUES, SERIES = "/values", "/series"

# The routes' rules (api/indicators.py): lengths of the text parameters, the allowed values.
PERIOD_MAX, ORG_UNIT_MAX = 40, 100
BREAKDOWNS: dict[str, Breakdown] = {b: b for b in get_args(Breakdown)}
BOUNDARIES: dict[str, Boundaries] = {b: b for b in get_args(Boundaries)}
GRAINS: dict[str, Grain] = {g.value: g for g in Grain}
VALUES_PARAMS = frozenset({"period", "org_unit", "by", "boundaries"})
SERIES_PARAMS = frozenset({"from", "to", "grain", "org_unit", "boundaries"})

_CACHE_CONTROL = (b"cache-control", b"no-cache")
_JSON = (b"content-type", b"application/json")


class Counts:
    """How many requests the fast path answered and passed on (read by tests)."""

    __slots__ = ("answered", "passed")

    def __init__(self) -> None:
        self.answered = 0
        self.passed = 0


COUNTS = Counts()


@contextmanager
def switched(enabled: bool) -> Iterator[None]:
    """The fast path on (True) or off (False) inside."""
    global ENABLED  # one switch for the process, as the middleware is one per app
    was, ENABLED = ENABLED, enabled
    try:
        yield
    finally:
        ENABLED = was


class FastReads:
    """ASGI middleware answering ``/values`` and ``/series`` when it can; ``app`` otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if ENABLED and scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(PREFIX) and not scope.get("root_path"):
                answer = await _answer(scope, path)
                if answer is not None:
                    COUNTS.answered += 1
                    await _send(send, answer)
                    return
                COUNTS.passed += 1
        await self.app(scope, receive, send)


async def _answer(scope: Scope, path: str) -> Answer | None:
    """The answer, or None when the routes should answer (or refuse) the request."""
    if path.endswith(VALUES):
        code = path[len(PREFIX) : -len(VALUES)]
        series = False
    elif path.endswith(SERIES):
        code = path[len(PREFIX) : -len(SERIES)]
        series = True
    else:
        return None
    if not code or "/" in code:  # not the route's `{code}` (one non-empty path segment)
        return None
    raw: bytes = scope["query_string"]
    question: ValuesQuestion | SeriesQuestion | None = (
        series_question(code, raw) if series else values_question(code, raw)
    )
    if question is None:
        return None
    authorization, if_none_match = _headers(scope)
    principal = await _principal(scope, authorization)
    if principal is None:
        return None
    session = LazySession(scope["app"].state.sessionmaker)
    try:
        ctx = await read_context(session, cached=True)
        asked = Asked(path, raw, if_none_match)
        if isinstance(question, SeriesQuestion):
            return await series_answer(ctx, principal, question, asked)
        return await values_answer(ctx, principal, question, asked)
    except ProblemError:
        return None  # a problem: the route finds it again and answers it as it always has
    finally:
        await session.close()


# Parameters


def query_params(raw: bytes, known: frozenset[str]) -> dict[str, str] | None:
    """The known parameters of a query string as Starlette reads it (``parse_qsl``, blanks
    kept); None when one appears twice (the routes decide which counts)."""
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        pairs = parse_qsl(text, keep_blank_values=True)
    else:  # nothing to unquote: the same pairs, split directly
        pairs = [part.partition("=")[::2] for part in text.split("&") if part]
    found: dict[str, str] = {}
    for name, value in pairs:
        if name in known:
            if name in found:
                return None
            found[name] = value
    return found


def _org_unit(params: dict[str, str]) -> tuple[bool, str | None]:
    value = params.get("org_unit")
    return (value is None or len(value) <= ORG_UNIT_MAX), value


def values_question(code: str, raw: bytes) -> ValuesQuestion | None:
    """``/values``'s parameters if they keep the route's rules; None otherwise."""
    params = query_params(raw, VALUES_PARAMS)
    if params is None:
        return None
    period = params.get("period", "this_year")
    by_text = params.get("by")
    by = None if by_text is None else BREAKDOWNS.get(by_text)
    boundaries = BOUNDARIES.get(params.get("boundaries", "receipt"))
    ok, org_unit = _org_unit(params)
    if not ok or len(period) > PERIOD_MAX or boundaries is None:
        return None
    if by_text is not None and by is None:
        return None
    return ValuesQuestion(code, period, org_unit, by, boundaries)


def series_question(code: str, raw: bytes) -> SeriesQuestion | None:
    """``/series``'s parameters if they keep the route's rules; None otherwise."""
    params = query_params(raw, SERIES_PARAMS)
    if params is None:
        return None
    first, last = params.get("from"), params.get("to")
    grain = GRAINS.get(params.get("grain", "month"))
    boundaries = BOUNDARIES.get(params.get("boundaries", "receipt"))
    ok, org_unit = _org_unit(params)
    if first is None or last is None or len(first) > PERIOD_MAX or len(last) > PERIOD_MAX:
        return None
    if not ok or grain is None or boundaries is None:
        return None
    return SeriesQuestion(code, first, last, grain, org_unit, boundaries)


# The caller


def _headers(scope: Scope) -> tuple[str | None, str | None]:
    """``Authorization`` and ``If-None-Match``, the first of each (as Starlette's headers)."""
    authorization = if_none_match = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is None:
                authorization = value.decode("latin-1")
        elif name == b"if-none-match" and if_none_match is None:
            if_none_match = value.decode("latin-1")
    return authorization, if_none_match


async def _principal(scope: Scope, authorization: str | None) -> Principal | None:
    """The caller as the routes' security would find it (``HTTPBearer`` without auto error,
    then ``Authenticator.principal``), if it may read; None otherwise."""
    token = None
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        if scheme and credentials and scheme.lower() == "bearer":
            token = credentials
    authenticator: Authenticator = scope["app"].state.auth
    try:
        principal = await authenticator.principal(token)
    except ProblemError:
        return None
    if not principal.has_any_role(READ_ROLES):
        return None
    scope.setdefault("state", {})["principal"] = principal  # as `current_principal` leaves it
    return principal


# The response


async def _send(send: Send, answer: Answer) -> None:
    """What ``as_response(answer)`` sends: the same status, headers (in order) and body."""
    headers = [(b"etag", answer.tag.encode("latin-1")), _CACHE_CONTROL]
    body = answer.body
    if body is None:
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    headers.append((b"content-length", str(len(body)).encode("latin-1")))
    headers.append(_JSON)
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
