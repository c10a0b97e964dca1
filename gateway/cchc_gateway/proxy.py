"""Forwarding to the services: the product's hottest loop.

aiohttp's client, one pooled session per process: measured far ahead of httpx on this path (see
shared/engineering.md and bench/). Hop-by-hop headers are dropped both ways; the request id and
``traceparent`` pass through.
"""

from __future__ import annotations

import aiohttp
from fastapi import Request
from fastapi.responses import Response

from cchc_shared.errors import ProblemError

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


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

    async def forward(self, service: str, request: Request) -> Response:
        url = self.urls[service] + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            headers["x-request-id"] = request_id
        if request.client is not None:
            prior = request.headers.get("x-forwarded-for")
            client_host = request.client.host
            headers["x-forwarded-for"] = f"{prior}, {client_host}" if prior else client_host
        body = await request.body()
        try:
            async with self.session.request(
                request.method, url, headers=headers, data=body or None, allow_redirects=False
            ) as upstream:
                content = await upstream.read()
                out_headers = {
                    k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP
                }
                return Response(content=content, status_code=upstream.status, headers=out_headers)
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
