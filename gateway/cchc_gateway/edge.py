"""What the edge does to every request before any route sees it: security headers, a cap on the
body size, and per-client rate limits (token buckets, in memory, per process).

The middlewares are plain ASGI: they sit on the hottest path of the product.
"""

from __future__ import annotations

import math
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cchc_shared.errors import Problem, ProblemError, problem_response

API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# The docs page loads Swagger UI from its CDN.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    b"https://fastapi.tiangolo.com; connect-src 'self'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts_seconds: int = 0) -> None:
        self.app = app
        fixed = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-resource-policy", b"same-site"),
        ]
        if hsts_seconds:
            fixed.append((b"strict-transport-security", f"max-age={hsts_seconds}".encode()))
        self._fixed = fixed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] == "/docs" else API_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self._fixed if k not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """413 for a body over ``max_bytes``: at once when Content-Length says so, else as soon as
    the streamed body passes the limit (the route reading it gets the 413)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and (declared < 0 or declared > self.max_bytes):
            response = problem_response(self._problem())
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises an HTTPException met while reading a body (other errors
                    # become a 400), and the problem handlers render it.
                    raise HTTPException(413, self._problem().detail)
            return message

        await self.app(scope, limited_receive, send)

    def _problem(self) -> Problem:
        return Problem(
            title="Content Too Large",
            status=413,
            detail=f"The request body is larger than {self.max_bytes} bytes.",
        )


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


class TokenBuckets:
    """One bucket per key (a token's subject, or an address): ``rate`` tokens a second, at most
    ``burst`` saved up. Memory stays bounded: past ``max_keys`` the full (idle) buckets go."""

    def __init__(self, *, rate: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float | None = None) -> float:
        """Spend a token: 0.0 if there was one, else the seconds until there will be."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            self._prune(now)
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0

    def enforce(self, key: str) -> None:
        wait = self.take(key)
        if wait > 0:
            raise ProblemError(
                429,
                "Too Many Requests",
                "Too many requests from this client; slow down.",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def _prune(self, now: float) -> None:
        full = [
            k
            for k, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:  # everyone is busy: forget the oldest half
            for key in list(self._buckets)[: self.max_keys // 2]:
                del self._buckets[key]
