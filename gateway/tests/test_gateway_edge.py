"""The edge: tokens checked before forwarding (and forwarded), rate limits, body size, upstream
timeouts, security headers, CORS, and the audit log of writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI, Request
from httpx import AsyncClient

from cchc_gateway.edge import TokenBuckets
from cchc_gateway.main import create_app
from cchc_gateway.testing import (
    ADMIN_PASSWORD,
    IOC_DASHBOARD_SECRET,
    bearer,
    client_token,
    gateway_settings,
    password_token,
    serving,
)
from cchc_shared.embedded import free_port

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]


def upstream_app(calls: list[dict[str, Any]]) -> FastAPI:
    """A stand-in service that tells what it received."""
    app = FastAPI()

    @app.api_route("/api/v1/plans/echo", methods=["GET", "POST"])
    async def echo(request: Request) -> dict[str, Any]:
        body = await request.body()
        seen = {
            "authorization": request.headers.get("authorization"),
            "x-request-id": request.headers.get("x-request-id"),
            "x-forwarded-for": request.headers.get("x-forwarded-for"),
            "body_length": len(body),
        }
        calls.append(seen)
        return seen

    @app.get("/api/v1/plans/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(3)
        return {"late": "yes"}

    return app


@pytest.fixture
def calls() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def open_gateway(
    empty_gateway_schema: None, make_client: ClientFactory, calls: list[dict[str, Any]]
) -> Callable[..., AbstractAsyncContextManager[AsyncClient]]:
    @asynccontextmanager
    async def open_(**overrides: Any) -> AsyncIterator[AsyncClient]:
        async with serving(upstream_app(calls)) as url:
            settings = gateway_settings(
                plans_url=url,
                ingest_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
                upstream_timeout=0.5,
                **overrides,
            )
            async with make_client(create_app(settings), role=None) as client:
                yield client

    return open_


async def test_a_request_needs_a_token_and_carries_it_to_the_service(
    open_gateway: Callable[..., AbstractAsyncContextManager[AsyncClient]],
    calls: list[dict[str, Any]],
) -> None:
    async with open_gateway() as gw:
        refused = await gw.get("/api/v1/plans/echo")
        token = await client_token(gw, "ioc-dashboard", IOC_DASHBOARD_SECRET)
        passed = await gw.get(
            "/api/v1/plans/echo", headers={**bearer(token), "X-Request-ID": "req-42"}
        )
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.headers["content-type"] == "application/problem+json"
    assert passed.status_code == 200
    assert calls == [passed.json()]  # the refused request never reached the service
    assert calls[0]["authorization"] == f"Bearer {token}"
    assert calls[0]["x-request-id"] == "req-42"
    assert calls[0]["x-forwarded-for"]


async def test_viewer_cannot_write_through_the_gateway(
    open_gateway: Callable[..., AbstractAsyncContextManager[AsyncClient]],
    calls: list[dict[str, Any]],
) -> None:
    async with open_gateway() as gw:
        token = await client_token(gw, "ioc-dashboard", IOC_DASHBOARD_SECRET)
        resp = await gw.post("/api/v1/plans/echo", json={}, headers=bearer(token))
    assert resp.status_code == 403
    assert calls == []


async def test_writes_are_audited_with_who_what_when_where(
    open_gateway: Callable[..., AbstractAsyncContextManager[AsyncClient]],
) -> None:
    async with open_gateway() as gw:
        admin = bearer(await password_token(gw, "admin", ADMIN_PASSWORD))
        write = await gw.post(
            "/api/v1/plans/echo?x=1",
            json={"a": 1},
            headers={**admin, "X-Request-ID": "audit-1", "User-Agent": "probe/1"},
        )
        read = await gw.get("/api/v1/plans/echo", headers=admin)
        audit = await gw.get("/api/v1/auth/audit", headers=admin)
    assert write.status_code == read.status_code == 200
    entries = audit.json()["items"]
    writes = [e for e in entries if e["path"] == "/api/v1/plans/echo"]
    assert len(writes) == 1  # the read is not audited
    entry = writes[0]
    assert entry["subject"] == "admin"
    assert entry["roles"] == ["admin"]
    assert entry["method"] == "POST"
    assert entry["query"] == "x=1"
    assert entry["status"] == 200
    assert entry["request_id"] == "audit-1"
    assert entry["user_agent"] == "probe/1"
    assert entry["remote_addr"]
    # sign-ins are writes too: who tried, from where, and whether it worked
    sign_ins = [e for e in entries if e["path"] == "/api/v1/auth/token"]
    assert sign_ins and sign_ins[-1]["subject"] == "admin"


async def test_audit_since_must_be_an_instant_of_years_1_to_9999_in_utc(
    open_gateway: Callable[..., AbstractAsyncContextManager[AsyncClient]],
) -> None:
    """`0001-01-01T00:00:00+01:00` is in year 0 in UTC: the database driver failed on it (a 500).
    It is refused with the parameter named; the edges themselves work."""
    async with open_gateway() as gw:
        admin = bearer(await password_token(gw, "admin", ADMIN_PASSWORD))
        refused = [
            await gw.get("/api/v1/auth/audit", params={"since": since}, headers=admin)
            for since in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00")
        ]
        taken = [
            await gw.get("/api/v1/auth/audit", params={"since": since}, headers=admin)
            for since in ("0001-01-01T00:00:00Z", "0001-01-01T00:59:59", "9999-12-31T23:59:59Z")
        ]
    for resp in refused:
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in resp.json()["errors"]] == ["query.since"]
    assert [r.status_code for r in taken] == [200, 200, 200]
    sign_ins = [e for e in taken[0].json()["items"] if e["path"] == "/api/v1/auth/token"]
    assert sign_ins and taken[2].json()["items"] == []


async def test_slow_and_unreachable_services_are_504_and_502(
    open_gateway: Callable[..., AbstractAsyncContextManager[AsyncClient]],
) -> None:
    async with open_gateway() as gw:
        admin = bearer(await password_token(gw, "admin", ADMIN_PASSWORD))
        slow = await gw.get("/api/v1/plans/slow", headers=admin)
        down = await gw.get("/api/v1/ingest/status", headers=admin)
    assert slow.status_code == 504
    assert down.status_code == 502
    assert down.headers["retry-after"]
    for resp in (slow, down):
        assert resp.headers["content-type"] == "application/problem+json"


async def test_a_client_over_its_rate_gets_429_and_others_do_not(
    open_gateway: Callable[..., AbstractAsyncContextManager[AsyncClient]],
) -> None:
    async with open_gateway(rate_limit_burst=3, rate_limit_per_second=0.01) as gw:
        viewer = bearer(await client_token(gw, "ioc-dashboard", IOC_DASHBOARD_SECRET))
        admin = bearer(await password_token(gw, "admin", ADMIN_PASSWORD))
        answers = [await gw.get("/api/v1/plans/echo", headers=viewer) for _ in range(4)]
        other = await gw.get("/api/v1/plans/echo", headers=admin)
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert answers[-1].headers["content-type"] == "application/problem+json"
    assert other.status_code == 200


async def test_guessing_passwords_is_slowed_per_address(
    open_gateway: Callable[..., AbstractAsyncContextManager[AsyncClient]],
) -> None:
    async with open_gateway(token_rate_per_minute=6) as gw:  # a burst of 2
        form = {"grant_type": "password", "username": "admin", "password": "guess-guess"}
        answers = [await gw.post("/api/v1/auth/token", data=form) for _ in range(3)]
    assert [r.status_code for r in answers] == [400, 400, 429]


async def test_bodies_over_the_limit_are_413(
    open_gateway: Callable[..., AbstractAsyncContextManager[AsyncClient]],
    calls: list[dict[str, Any]],
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 1000

    async with open_gateway(max_body_bytes=2048) as gw:
        admin = bearer(await password_token(gw, "admin", ADMIN_PASSWORD))
        declared = await gw.post("/api/v1/plans/echo", content=b"x" * 3000, headers=admin)
        streamed = await gw.post("/api/v1/plans/echo", content=chunks(), headers=admin)
        fits = await gw.post("/api/v1/plans/echo", content=b"x" * 2000, headers=admin)
    for resp in (declared, streamed):
        assert resp.status_code == 413
        assert resp.headers["content-type"] == "application/problem+json"
    assert fits.status_code == 200
    assert [c["body_length"] for c in calls] == [2000]


async def test_security_headers_and_cors_from_settings(
    open_gateway: Callable[..., AbstractAsyncContextManager[AsyncClient]],
) -> None:
    async with open_gateway(cors_origins=["https://ioc.kontum.gov.vn"]) as gw:
        refused = await gw.get("/api/v1/plans/echo")
        preflight = {"Access-Control-Request-Method": "GET"}
        allowed = await gw.options(
            "/api/v1/plans/echo", headers={"Origin": "https://ioc.kontum.gov.vn", **preflight}
        )
        foreign = await gw.options(
            "/api/v1/plans/echo", headers={"Origin": "https://evil.example", **preflight}
        )
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert refused.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in refused.headers["content-security-policy"]
    assert allowed.headers["access-control-allow-origin"] == "https://ioc.kontum.gov.vn"
    assert "access-control-allow-origin" not in foreign.headers


def test_token_buckets_refill_at_their_rate() -> None:
    buckets = TokenBuckets(rate=2.0, burst=2)
    assert [buckets.take("a", now=0.0) for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("a", now=0.0) == pytest.approx(0.5)
    assert buckets.take("b", now=0.0) == 0.0  # per key
    assert buckets.take("a", now=0.5) == 0.0  # one token back after 1/rate seconds


def test_token_buckets_stay_bounded() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1, max_keys=100)
    for i in range(1000):
        buckets.take(f"ip:{i}", now=float(i))
    assert len(buckets._buckets) <= 100


async def test_another_method_on_a_gateway_path_is_405_with_allow(
    open_gateway: Callable[..., AbstractAsyncContextManager[AsyncClient]],
) -> None:
    async with open_gateway() as gw:
        resp = await gw.put("/api/v1/auth/me")
        missing = await gw.get("/api/v1/nowhere")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET"
    assert missing.status_code == 404
