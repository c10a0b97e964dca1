"""The LGSP client against a scripted LGSP (httpx.MockTransport): tokens, retries, limits."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

import httpx
import pytest

from cchc_ingest.sources.lgsp import (
    LgspClient,
    SourceAuthFailed,
    SourceRejected,
    SourceUnavailable,
    parse_retry_after,
)

Handler = Callable[[httpx.Request], httpx.Response]


class FakeLgsp:
    """Issues numbered tokens; API answers follow a script, then 200."""

    def __init__(self, script: list[int | Exception] | None = None, retry_after: str | None = None):
        self.script = list(script or [])
        self.retry_after = retry_after
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.api_calls: list[httpx.Request] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            assert (
                request.headers["authorization"]
                == "Basic " + base64.b64encode(b"cchc:secret").decode()
            )
            assert request.content == b"grant_type=client_credentials"
            self.tokens_issued += 1
            token = f"t{self.tokens_issued}"
            self.valid_tokens.add(token)
            return httpx.Response(200, json={"access_token": token, "expires_in": 3600})
        self.api_calls.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            if self.script:
                step = self.script.pop(0)
                if isinstance(step, Exception):
                    raise step
                headers = {"Retry-After": self.retry_after} if self.retry_after else {}
                return httpx.Response(step, headers=headers, json={"error": "scripted"})
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.valid_tokens:
                return httpx.Response(401, json={"error": "invalid_token"})
            return httpx.Response(200, json={"data": [], "path": request.url.path})
        finally:
            self.in_flight -= 1


def client_for(lgsp: FakeLgsp, sleeps: list[float], **kwargs: object) -> LgspClient:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return LgspClient(
        "http://lgsp.test",
        "cchc",
        "secret",
        transport=httpx.MockTransport(lgsp),
        sleep=sleep,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_a_token_is_fetched_once_and_reused() -> None:
    lgsp, sleeps = FakeLgsp(), list[float]()
    client = client_for(lgsp, sleeps)
    for _ in range(3):
        assert (await client.get_json("/motcua/1.0/coquan"))["data"] == []
    assert lgsp.tokens_issued == 1
    assert all(r.headers["authorization"] == "Bearer t1" for r in lgsp.api_calls)
    await client.aclose()


async def test_an_expired_token_is_renewed_and_the_call_retried_once() -> None:
    lgsp, sleeps = FakeLgsp(), list[float]()
    client = client_for(lgsp, sleeps)
    await client.get_json("/x")
    lgsp.valid_tokens.clear()  # the LGSP forgets every token (expiry, restart)
    assert (await client.get_json("/x"))["data"] == []
    assert lgsp.tokens_issued == 2 and sleeps == []
    await client.aclose()


async def test_a_token_refused_twice_is_an_auth_failure() -> None:
    lgsp, sleeps = FakeLgsp(script=[401, 401]), list[float]()
    client = client_for(lgsp, sleeps)
    with pytest.raises(SourceAuthFailed):
        await client.get_json("/x")
    await client.aclose()


async def test_retry_after_is_honoured_on_429_and_503() -> None:
    lgsp, sleeps = FakeLgsp(script=[429, 503], retry_after="3"), list[float]()
    client = client_for(lgsp, sleeps)
    assert (await client.get_json("/x"))["data"] == []
    assert len(sleeps) == 2 and all(3.0 <= s <= 4.0 for s in sleeps)
    await client.aclose()


async def test_transient_failures_back_off_with_jitter_then_give_up() -> None:
    failures: list[int | Exception] = [500, 502, httpx.ConnectError("refused"), 504]
    lgsp, sleeps = FakeLgsp(script=failures), list[float]()
    client = client_for(lgsp, sleeps, backoff_base=1.0, backoff_cap=8.0)
    assert (await client.get_json("/x"))["data"] == []
    caps = [1.0, 2.0, 4.0, 8.0]
    assert len(sleeps) == 4 and all(0 <= s <= cap for s, cap in zip(sleeps, caps, strict=True))

    lgsp.script = [503] * 10
    with pytest.raises(SourceUnavailable):
        await client.get_json("/x")
    await client.aclose()


async def test_a_client_error_is_not_retried() -> None:
    lgsp, sleeps = FakeLgsp(script=[400]), list[float]()
    client = client_for(lgsp, sleeps)
    with pytest.raises(SourceRejected) as caught:
        await client.get_json("/x")
    assert caught.value.status == 400 and sleeps == []
    await client.aclose()


async def test_no_more_than_the_allowed_requests_are_in_flight() -> None:
    lgsp, sleeps = FakeLgsp(), list[float]()
    client = client_for(lgsp, sleeps, max_concurrency=3)
    await asyncio.gather(*(client.get_json(f"/x/{i}") for i in range(20)))
    assert lgsp.max_in_flight == 3
    await client.aclose()


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: at once
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
