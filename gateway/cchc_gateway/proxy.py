"""Forwarding to the services: the product's hottest loop.

Plain ASGI, in front of FastAPI's routing: a request for a service's path is admitted (token,
rate limit, role floor) and streamed on as raw header pairs and bytes, with no request or
response objects built for it. aiohttp's client, one pooled session per process: measured far
ahead of httpx on this path (see shared/engineering.md and bench/). Hop-by-hop headers are
dropped both ways; the request id and ``traceparent`` pass through.
"""

from __future__ import annotations

from http import HTTPStatus

import aiohttp
import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from cchc_gateway.gate import Gate
from cchc_gateway.routes import service_for
from cchc_shared.errors import Problem, ProblemError, problem_response

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
_log = structlog.get_logger(__name__)


class Upstreams:
    def __init__(
        self, urls: dict[str, str], *, timeout: float, connect_timeout: float = 3.0
    ) -> None:
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(connect_timeout, timeout))
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=30, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, auto_decompress=False
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "Upstreams.start() not called"
        return self._session

    async def forward(self, service: str, scope: Scope, body: bytes, send: Send) -> None:
        """Send the request on to ``service`` unchanged (raw path, query, body) and its answer
        back; 504 when it does not answer in time, 502 when it cannot be reached."""
        target = self.urls[service] + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        try:
            async with self.session.request(
                scope["method"],
                URL(target, encoded=True),  # as the client sent it: no second round of quoting
                headers=_upstream_headers(scope),
                data=body or None,
                allow_redirects=False,
            ) as upstream:
                content = await upstream.read()
                headers = [
                    (name, value)
                    for name, value in upstream.raw_headers
                    if name.lower() not in HOP_BY_HOP
                ]
        except TimeoutError as exc:
            raise ProblemError(
                504, "Gateway Timeout", f"The {service} service did not answer in time."
            ) from exc
        except aiohttp.ClientError as exc:
            raise ProblemError(
                502,
                "Bad Gateway",
                f"The {service} service cannot be reached.",
                headers={"Retry-After": "5"},
            ) from exc
        headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": upstream.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _upstream_headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name.lower() not in HOP_BY_HOP:
            headers[name.decode("latin-1")] = value.decode("latin-1")
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        headers["x-request-id"] = request_id
    client = scope.get("client")
    if client is not None:
        prior = headers.pop("x-forwarded-for", None)
        headers["x-forwarded-for"] = f"{prior}, {client[0]}" if prior else client[0]
    return headers


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPException(400, "The client went away before sending its whole request.")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class ServiceForwarder:
    """ASGI middleware: paths a service answers go through the gate and on to the service;
    everything else (the gateway's own routes) goes to ``app``."""

    def __init__(self, app: ASGIApp, *, gate: Gate, upstreams: Upstreams) -> None:
        self.app = app
        self.gate = gate
        self.upstreams = upstreams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = service_for(scope["path"]) if scope["type"] == "http" else None
        if service is None:
            await self.app(scope, receive, send)
            return
        try:
            await self.gate.admit(Request(scope))
            body = await _read_body(receive)  # after the gate: no reading for a stranger
            await self.upstreams.forward(service, scope, body, send)
        except ProblemError as exc:
            await problem_response(exc.problem, exc.headers)(scope, receive, send)
        except HTTPException as exc:  # the body cap (413), a client gone
            problem = Problem(
                title=HTTPStatus(exc.status_code).phrase, status=exc.status_code, detail=exc.detail
            )
            await problem_response(problem, dict(exc.headers or {}))(scope, receive, send)
        except Exception:
            _log.exception("forwarding failed", path=scope["path"], service=service)
            problem = Problem(
                title="Internal Server Error", status=500, detail="An unexpected error occurred."
            )
            await problem_response(problem)(scope, receive, send)
