"""Every service answers bad input with problem+json naming the field, and never a 500."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
from fastapi import APIRouter, FastAPI
from httpx import AsyncClient
from pydantic import BaseModel, Field

from cchc_indicators.main import create_app as create_indicators
from cchc_ingest.main import create_app as create_ingest
from cchc_plans.main import create_app as create_plans
from cchc_shared.app import ServiceDefinition, create_service_app
from cchc_shared.settings import ServiceSettings

ClientFactory = Callable[[FastAPI], AbstractAsyncContextManager[AsyncClient]]


class Item(BaseModel):
    value: int = Field(ge=0, le=100)


class Order(BaseModel):
    name: str = Field(min_length=1)
    items: list[Item]


def probe_app() -> FastAPI:
    """A service built by the shared factory with one endpoint that validates a nested body."""
    router = APIRouter()

    @router.post("/api/v1/orders")
    async def create_order(order: Order) -> Order:
        return order

    @router.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    definition = ServiceDefinition(name="probe", title="probe", description="", routers=[router])
    return create_service_app(definition, ServiceSettings(run_background_workers=False))


async def test_validation_error_names_every_field(make_client: ClientFactory) -> None:
    async with make_client(probe_app()) as client:
        resp = await client.post(
            "/api/v1/orders", json={"name": "", "items": [{"value": 5}, {"value": 500}]}
        )
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == 422
    assert {e["field"] for e in body["errors"]} == {"body.name", "body.items[1].value"}


@pytest.mark.parametrize(
    "payload",
    [b"{not json", b"", b"[]", b'{"name": 1, "items": "x"}', '{"name": "\u0000"}'.encode()],
)
async def test_malformed_bodies_are_4xx_problems(
    make_client: ClientFactory, payload: bytes
) -> None:
    async with make_client(probe_app()) as client:
        resp = await client.post(
            "/api/v1/orders", content=payload, headers={"content-type": "application/json"}
        )
    assert 400 <= resp.status_code < 500
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["errors"]


async def test_unknown_path_is_404_problem_and_bug_is_500_problem(
    make_client: ClientFactory,
) -> None:
    async with make_client(probe_app()) as client:
        missing = await client.get("/api/v1/no-such-thing")
        bug = await client.get("/api/v1/boom")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["title"] == "Not Found"
    assert bug.status_code == 500
    assert bug.headers["content-type"] == "application/problem+json"
    assert "a bug" not in bug.text  # internals are logged, not shown


async def test_request_id_is_echoed_or_made(make_client: ClientFactory) -> None:
    async with make_client(probe_app()) as client:
        echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        made = await client.get("/healthz")
    assert echoed.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32


@pytest.mark.parametrize("create_app", [create_plans, create_ingest, create_indicators])
async def test_services_are_ready_against_real_servers(
    make_client: ClientFactory, create_app: Callable[[], FastAPI]
) -> None:
    async with make_client(create_app()) as client:
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
        missing = await client.get("/api/v1/definitely-missing")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "nats": True}
    assert "cchc_http_requests_total" in metrics.text
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
