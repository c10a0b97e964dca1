"""An HTTP client for APIs behind the provincial LGSP.

OAuth2 client credentials with the token cached until shortly before it expires; a 401 fetches a
new token and retries once. 429 and 503 honour ``Retry-After``; every 5xx, timeout and broken
connection is transient and retried with exponential backoff and full jitter. At most
``max_concurrency`` requests are in flight.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgspec
import orjson
import structlog

from cchc_ingest.domain.dossier_json import JsonPage, decode_records
from cchc_shared.memory import paused_gc

_log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class SourceError(Exception):
    """The source could not answer (after retries) or refused the request."""


class SourceUnavailable(SourceError):
    """Transient failures outlasted the retries; try again later."""


class SourceRejected(SourceError):
    """A 4xx other than 401/429: the request itself is wrong (e.g. a stale cursor)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"source answered {status}: {detail[:300]}")
        self.status = status


class SourceAuthFailed(SourceError):
    """The LGSP refused our credentials."""


def decode_json(content: bytes) -> Any:
    """orjson first; the standard library for what orjson refuses (integers beyond 64 bits)."""
    with paused_gc():  # a page of records is some fifty thousand containers, none in a cycle
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            return json.loads(content)


_PAGE_FIELDS = msgspec.json.Decoder(dict[str, msgspec.Raw])


def decode_page(content: bytes) -> Any:
    """A page of records (``{"data": [...], ...}``) whose records stay JSON (:class:`RawRecords`,
    read by the dossier parser without building dictionaries); other fields are decoded.

    What msgspec cannot take apart that way (not an object, ``data`` not an array, JSON only
    the standard library reads) is decoded by :func:`decode_json`, records as dictionaries.
    """
    page = JsonPage(content)
    with paused_gc():
        try:
            fields = _PAGE_FIELDS.decode(content)
            records = decode_records(fields["data"], page) if "data" in fields else None
        except (msgspec.DecodeError, RecursionError):
            return decode_json(content)
        return {name: records if name == "data" else page.load(raw) for name, raw in fields.items()}


class LgspClient:
    TOKEN_MARGIN = 30.0  # renew this many seconds before the token expires

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_concurrency: int = 4,
        timeout: float = 30.0,
        max_attempts: int = 8,
        backoff_base: float = 0.2,
        backoff_cap: float = 30.0,
        retry_after_cap: float = 120.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_concurrency, max_keepalive_connections=max_concurrency
            ),
        )
        self._auth = (client_id, client_secret)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._retry_after_cap = retry_after_cap
        self._sleep = sleep
        self.tokens_fetched = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET an API resource; its decoded JSON body. 404 answers None."""
        response = await self._get(path, params)
        return None if response.status_code == 404 else decode_json(response.content)

    async def get_page(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET a page of records, decoded by :func:`decode_page`. 404 answers None."""
        response = await self._get(path, params)
        return None if response.status_code == 404 else decode_page(response.content)

    async def _get(self, path: str, params: Mapping[str, str | int] | None) -> httpx.Response:
        return await self._send(
            lambda token: self._http.get(
                path, params=params, headers={"Authorization": f"Bearer {token}"}
            )
        )

    async def _send(self, request: Callable[[str], Awaitable[httpx.Response]]) -> httpx.Response:
        renewed = False
        attempt = 0
        while True:
            token = await self._current_token()
            delay: float
            try:
                async with self._slots:
                    response = await request(token)
            except httpx.TransportError as exc:  # timeouts, refused and broken connections
                delay, why = self._backoff(attempt), repr(exc)
            else:
                status = response.status_code
                if status == 401 and not renewed:
                    renewed = True
                    self._forget_token(token)
                    continue
                if status == 401:
                    raise SourceAuthFailed("the LGSP refused a fresh token")
                if status < 400 or status == 404:
                    return response
                if status != 429 and status < 500:
                    raise SourceRejected(status, response.text)
                delay, why = self._delay_for(response, attempt), f"HTTP {status}"
            attempt += 1
            if attempt >= self._max_attempts:
                raise SourceUnavailable(f"gave up after {attempt} attempts: {why}")
            _log.info("source busy, retrying", delay=round(delay, 2), reason=why, attempt=attempt)
            await self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        # Full jitter: many clients retrying at once spread out instead of stampeding.
        return random.uniform(0, min(self._backoff_cap, self._backoff_base * 2**attempt))

    def _delay_for(self, response: httpx.Response, attempt: int) -> float:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None:
            return self._backoff(attempt)
        # Honour the server's wait, plus a little jitter so waiting clients do not return together.
        wait = min(retry_after, self._retry_after_cap)
        return wait + random.uniform(0, min(1.0, wait * 0.1 + 0.05))

    async def _current_token(self) -> str:
        if self._token is not None and time.monotonic() < self._token_expires:
            return self._token
        async with self._token_lock:
            if self._token is None or time.monotonic() >= self._token_expires:
                await self._fetch_token()
            assert self._token is not None
            return self._token

    def _forget_token(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def _fetch_token(self) -> None:
        attempt = 0
        while True:
            try:
                async with self._slots:
                    response = await self._http.post(
                        "/token", data={"grant_type": "client_credentials"}, auth=self._auth
                    )
            except httpx.TransportError as exc:
                delay, why = self._backoff(attempt), repr(exc)
            else:
                if response.status_code in (400, 401, 403):
                    raise SourceAuthFailed(f"token refused: HTTP {response.status_code}")
                if response.status_code < 400:
                    self._accept_token(response)
                    return
                delay, why = self._delay_for(response, attempt), f"HTTP {response.status_code}"
            attempt += 1
            if attempt >= self._max_attempts:
                raise SourceUnavailable(f"no token after {attempt} attempts: {why}")
            await self._sleep(delay)

    def _accept_token(self, response: httpx.Response) -> None:
        try:
            body = decode_json(response.content)
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in") or 300)
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceUnavailable(f"unreadable token answer: {exc!r}") from exc
        self._token = token
        self._token_expires = time.monotonic() + max(
            1.0, lifetime - min(self.TOKEN_MARGIN, lifetime / 2)
        )
        self.tokens_fetched += 1


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
