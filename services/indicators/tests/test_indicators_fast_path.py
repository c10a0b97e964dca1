"""The fast path of ``/values`` and ``/series`` (``api/fast.py``) answers exactly what the routes
answer: the same status, body bytes and headers, for well-formed questions (which it answers
itself) and for malformed or refused ones (which it leaves to the routes) alike; and the routes'
parameters are the ones it knows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_indicators.api import fast
from cchc_indicators.api.common import CACHE
from cchc_indicators.main import create_app
from cchc_indicators.service import context
from cchc_indicators.testing import (
    agency_event,
    apply,
    dossier_event,
    facts,
    finished,
    org_unit_event,
    procedure_event,
    vn,
)
from cchc_shared.settings import IndicatorsSettings
from cchc_shared.testing import TestTokens

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]
VALUES = "/api/v1/indicators/DOSSIER_ON_TIME_RATE/values"
SERIES = "/api/v1/indicators/DOSSIER_RECEIVED/series"
END = date(2025, 6, 30)  # D and its communes end then; A3 stands in A2's place from July
APRIL_2 = vn(2024, 4, 2)
COMMUNE_ID = uuid.UUID("6f0b0c1e-5d0a-4e43-9a4e-1f0c5b7a2d10")


@pytest.fixture(autouse=True)
def always_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context, "FRESHNESS_TTL", 0.0)


@pytest.fixture
async def loaded(engine: AsyncEngine, clean_state: None) -> AsyncIterator[None]:
    CACHE.clear()
    await apply(
        engine,
        [
            agency_event("P", "UBND tỉnh", "province", None),
            agency_event("D", "UBND huyện Đắk Hà", "district", "P", valid_to=END),
            agency_event("A1", "UBND xã Hà Mòn", "commune", "D", valid_to=END),
            agency_event("A2", "UBND xã Ngọk Wang", "commune", "D", valid_to=END, successor="A3"),
            agency_event("A3", "UBND xã Đắk Hà", "commune", "P", valid_from=date(2025, 7, 1)),
            agency_event("S", "Sở Tư pháp", "department", "P"),
            org_unit_event(COMMUNE_ID, "C9", "Phường Quyết Thắng", "commune", "P"),
        ],
    )
    await apply(
        engine,
        [
            procedure_event("1.000001"),
            procedure_event("1.000002", field_code="HO_TICH", field_name="Hộ tịch"),
        ],
    )
    await apply(
        engine,
        [
            dossier_event(f)
            for f in [
                finished("X1", 2, vn(2024, 3, 5), channel="online", rating=5, rated_at=APRIL_2),
                facts("X2", 1, field_code="HO_TICH"),
                finished("X3", 1, vn(2024, 3, 20), agency_code="A2", channel="postal"),
                facts("X4", 1, agency_code="A2", due_at=vn(2024, 4, 10, 17)),
                finished("X5", 1, vn(2024, 3, 8, 10), agency_code="S", digitized=True),
                facts("X6", 1, agency_code="C9", received_at=vn(2024, 5, 2)),
            ]
        ],
    )
    yield


def app() -> FastAPI:
    return create_app(IndicatorsSettings(run_background_workers=False))


Reply = tuple[int, bytes, list[tuple[str, str]]]


async def ask(
    client: AsyncClient, url: str, headers: dict[str, str], *, fast_path: bool, method: str = "GET"
) -> tuple[Reply, bool]:
    """The reply (status, body, headers in order), and whether the fast path answered it."""
    CACHE.clear()  # each side computes its own answer: none is served from the other's
    answered = fast.COUNTS.answered
    with fast.switched(fast_path):
        resp = await client.request(method, url, headers=headers)
    return (
        (resp.status_code, resp.content, list(resp.headers.multi_items())),
        fast.COUNTS.answered > answered,
    )


async def compare(
    client: AsyncClient, url: str, headers: dict[str, str], *, method: str = "GET"
) -> tuple[Reply, bool]:
    """Ask the routes, then the fast path: the replies are the same, byte for byte."""
    headers = {"X-Request-ID": "fast-path-test", **headers}
    routes, by_fast = await ask(client, url, headers, fast_path=False, method=method)
    assert not by_fast
    reply, by_fast = await ask(client, url, headers, fast_path=True, method=method)
    assert reply == routes, url
    return reply, by_fast


ANSWERED = [
    f"{VALUES}?period=2024-03&org_unit=P",
    f"{VALUES}?period=2024-03&org_unit=P&by=org_unit",
    f"{VALUES}?period=2024-03&org_unit=D&by=org_unit&boundaries=receipt",
    f"{VALUES}?period=2024-03&org_unit=A3&boundaries=today",
    f"{VALUES}?period=2024-03&org_unit=A3&boundaries=today&by=org_unit",
    f"{VALUES}?period=2024-Q1",
    f"{VALUES}",  # every default: this year, every unit
    f"{VALUES}?period=this_month&org_unit=S",
    f"{VALUES}?period=2024&by=channel",
    f"{VALUES}?period=2024&by=procedure",  # read from the aggregate tables
    f"{VALUES}?period=2024&by=field_group",
    f"{VALUES}?period=2024-03&org_unit=%20D%20",  # unquoted, then stripped
    f"{VALUES}?period=2024-03&org_unit=D+",
    f"{VALUES}?period=2024-05&org_unit={COMMUNE_ID}",  # by id
    f"{VALUES}?period=2024-05&org_unit=c9",  # by slug
    f"{VALUES}?period=2024-03&org_unit=P&_q=17&unknown=x",  # unknown parameters are ignored
    f"{VALUES}?&&period=2024-03&&org_unit=P&",
    f"{VALUES}?period=2024-03&org_unit=",  # blank: every unit
    "/api/v1/indicators/DOSSIER_RECEIVED/values?period=2024-03-05",
    "/api/v1/indicators/DOSSIER_AVG_PROCESSING_DAYS/values?period=2024-H1&org_unit=D",
    "/api/v1/indicators/CATALOG_POSTAL_RATE/values?period=2024",
    "/api/v1/indicators/CATALOG_ONLINE_RATE/values?period=2024&by=field",
    f"{SERIES}?from=2024-01&to=2024-12&grain=month&org_unit=P",
    f"{SERIES}?from=2024-01&to=2024-12",  # monthly by default
    f"{SERIES}?from=2024-01&to=2024-12&grain=quarter&org_unit=D&boundaries=today",
    f"{SERIES}?from=2024-03-01&to=2024-03-09&grain=day&org_unit=A1",
    f"{SERIES}?from=2024&to=2024&grain=year",
    f"{SERIES}?from=2024-01&to=2024-06&grain=half&org_unit={COMMUNE_ID}",
    f"{SERIES}?to=2024-12&from=2024-01&_q=3",
    "/api/v1/indicators/DOSSIER_OVERDUE_OPEN/series?from=2024-02&to=2024-05",
    "/api/v1/indicators/CATALOG_PROCEDURES/series?from=2024-01&to=2024-03",
]

PASSED_ON = [
    # FastAPI's own validation: 422 naming the parameter.
    (f"{VALUES}?period=2024-03&by=colour", 422),
    (f"{VALUES}?period=2024-03&by=", 422),
    (f"{VALUES}?period=2024-03&boundaries=yesterday", 422),
    (f"{VALUES}?period=2024-03&boundaries=", 422),
    (f"{VALUES}?period={'2' * 41}", 422),
    (f"{VALUES}?org_unit={'x' * 101}", 422),
    (f"{SERIES}?from=2024-01", 422),
    (f"{SERIES}?to=2024-01", 422),
    (f"{SERIES}", 422),
    (f"{SERIES}?from=2024-01&to=2024-12&grain=week", 422),
    (f"{SERIES}?from=2024-01&to=2024-12&grain=", 422),
    (f"{SERIES}?from=2024-01&to={'9' * 41}", 422),
    # Repeated parameters: the routes decide which counts.
    (f"{VALUES}?period=2024-03&period=2024-04", 200),
    (f"{VALUES}?by=org_unit&by=colour", 422),
    (f"{SERIES}?from=2024-01&to=2024-03&to=2024-05", 200),
    # The service's own problems: 404, 422 with the field at fault.
    ("/api/v1/indicators/NOPE/values?period=2024-03", 404),
    ("/api/v1/indicators/dossier_received/values", 404),
    ("/api/v1/indicators/NOPE/series?from=2024-01&to=2024-02", 404),
    (f"{VALUES}?period=2024-13", 422),
    (f"{VALUES}?period=", 422),
    (f"{VALUES}?period=2999", 422),
    (f"{VALUES}?period=2030", 422),  # starts after today
    (f"{VALUES}?org_unit=ZZ", 422),
    (f"{VALUES}?by=level", 422),
    ("/api/v1/indicators/CATALOG_POSTAL_RATE/values?by=channel", 422),
    (f"{SERIES}?from=2024-05&to=2024-01", 422),
    (f"{SERIES}?from=x&to=2024", 422),
    (f"{SERIES}?from=2024&to=x", 422),
    (f"{SERIES}?from=2000-01-01&to=2024-12-31&grain=day", 422),  # too many points
    (f"{SERIES}?from=2024-01&to=2024-02&org_unit=ZZ", 422),
    # Not these routes' paths.
    ("/api/v1/indicators/DOSSIER_RECEIVED/values/", 307),
    ("/api/v1/indicators//values", 404),
    ("/api/v1/indicators/DOSSIER_RECEIVED%2Fx/values", 404),
    ("/api/v1/indicators/values", 404),
    ("/api/v1/indicators/DOSSIER_RECEIVED/ranking?period=2024-03", 200),
]


async def test_well_formed_questions_are_answered_alike(
    make_client: ClientFactory, test_tokens: TestTokens, loaded: None
) -> None:
    headers = test_tokens.headers("viewer")
    async with make_client(app(), role=None) as client:
        for url in ANSWERED:
            (status, body, _), by_fast = await compare(client, url, headers)
            assert status == 200, (url, body)
            assert by_fast, f"the fast path left {url} to the routes"


async def test_malformed_questions_get_the_routes_problems(
    make_client: ClientFactory, test_tokens: TestTokens, loaded: None
) -> None:
    headers = test_tokens.headers("viewer")
    async with make_client(app(), role=None) as client:
        for url, expected in PASSED_ON:
            (status, body, reply_headers), by_fast = await compare(client, url, headers)
            assert not by_fast, f"the fast path answered {url}"
            assert status == expected, (url, body)
            if status in (404, 422):
                assert ("content-type", "application/problem+json") in reply_headers, url
            if status == 422 and "?" in url:
                fields = [e["field"] for e in orjson.loads(body)["errors"]]
                assert all(f.startswith("query.") for f in fields), (url, fields)


@pytest.mark.parametrize(
    ("role", "scope", "url", "status"),
    [
        (None, None, f"{VALUES}?period=2024-03", 401),  # no token
        ("viewer", "D", f"{VALUES}?period=2024-03&org_unit=P", 403),  # outside its subtree
        ("viewer", "D", f"{SERIES}?from=2024-01&to=2024-02&org_unit=S", 403),
        ("viewer", "ZZ", f"{VALUES}?period=2024-03", 403),  # its unit is unknown here
        ("nobody", None, f"{VALUES}?period=2024-03", 403),  # no role that reads
        ("viewer", "D", f"{VALUES}?period=2024-03", 200),  # its own unit by default
        ("viewer", "D", f"{VALUES}?period=2024-03&org_unit=A1&by=org_unit", 200),
        ("agency_officer", "A2", f"{SERIES}?from=2024-01&to=2024-04", 200),
        ("viewer", "D", f"{VALUES}?period=2024-03&org_unit=A3&boundaries=today", 403),
        ("integration", None, f"{VALUES}?period=2024-03&org_unit=C9", 200),
    ],
)
async def test_callers_are_refused_and_scoped_alike(
    make_client: ClientFactory,
    test_tokens: TestTokens,
    loaded: None,
    role: str | None,
    scope: str | None,
    url: str,
    status: int,
) -> None:
    headers = test_tokens.headers(role, scope) if role else {}
    async with make_client(app(), role=None) as client:
        (got, body, reply_headers), by_fast = await compare(client, url, headers)
    assert got == status, body
    assert by_fast == (status == 200)
    if status == 401:
        assert any(name == "www-authenticate" for name, _ in reply_headers)
    if status == 403 and "org_unit" in url:
        assert b'"field":"query.org_unit"' in body


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "bearer",
        "",
    ],
)
async def test_bad_tokens_are_refused_alike(
    make_client: ClientFactory, loaded: None, authorization: str
) -> None:
    async with make_client(app(), role=None) as client:
        (status, _, _), by_fast = await compare(
            client, f"{VALUES}?period=2024-03", {"Authorization": authorization}
        )
    assert (status, by_fast) == (401, False)


async def test_lower_case_bearer_and_padding_are_accepted_alike(
    make_client: ClientFactory, test_tokens: TestTokens, loaded: None
) -> None:
    token = test_tokens.mint("viewer")
    async with make_client(app(), role=None) as client:
        for authorization in (f"bearer {token}", f"BEARER   {token}  "):
            (status, _, _), by_fast = await compare(
                client, f"{VALUES}?period=2024-03", {"Authorization": authorization}
            )
            assert (status, by_fast) == (200, True)


async def test_etags_and_not_modified_alike(
    make_client: ClientFactory, test_tokens: TestTokens, engine: AsyncEngine, loaded: None
) -> None:
    headers = test_tokens.headers("viewer")
    url = f"{VALUES}?period=2024-03&org_unit=D&by=org_unit"
    async with make_client(app(), role=None) as client:
        (status, _, first), _ = await compare(client, url, headers)
        tag = dict(first)["etag"]
        # The same question with its parameters in another order has the same ETag.
        (_, _, reordered), _ = await compare(
            client, f"{VALUES}?by=org_unit&org_unit=D&period=2024-03", headers
        )
        assert dict(reordered)["etag"] == tag
        for offered in (tag, tag.removeprefix("W/"), f'"other", {tag}', "*"):
            (status, body, _), by_fast = await compare(
                client, url, {**headers, "If-None-Match": offered}
            )
            assert (status, body, by_fast) == (304, b"", True)
        (status, _, _), _ = await compare(client, url, {**headers, "If-None-Match": '"other"'})
        assert status == 200
        await apply(engine, [dossier_event(facts("X7", 1))])
        (status, _, changed), by_fast = await compare(
            client, url, {**headers, "If-None-Match": tag}
        )
    assert (status, by_fast) == (200, True)
    assert dict(changed)["etag"] != tag


async def test_other_methods_are_left_to_the_routes(
    make_client: ClientFactory, test_tokens: TestTokens, loaded: None
) -> None:
    headers = test_tokens.headers("admin")
    async with make_client(app(), role=None) as client:
        for method in ("HEAD", "POST", "DELETE"):
            (status, _, reply_headers), by_fast = await compare(
                client, f"{VALUES}?period=2024-03", headers, method=method
            )
            assert (status, by_fast) == (405, False)
            assert any(name == "allow" for name, _ in reply_headers)


async def test_answers_carry_the_request_id_and_are_counted(
    make_client: ClientFactory, test_tokens: TestTokens, loaded: None
) -> None:
    labels = {"service": "indicators", "method": "GET", "status": "200"}
    before = REGISTRY.get_sample_value("cchc_http_requests_total", labels) or 0
    async with make_client(app(), role=None) as client:
        answered = fast.COUNTS.answered
        resp = await client.get(f"{VALUES}?period=2024-03", headers=test_tokens.headers("viewer"))
        assert fast.COUNTS.answered == answered + 1
    assert resp.status_code == 200 and len(resp.headers["x-request-id"]) == 32
    assert REGISTRY.get_sample_value("cchc_http_requests_total", labels) == before + 1


def test_the_fast_path_knows_the_routes_parameters() -> None:
    """A parameter added to a route (or a rule changed) must be taught to the fast path too."""
    paths = app().openapi()["paths"]
    for path, known in (
        ("/api/v1/indicators/{code}/values", fast.VALUES_PARAMS),
        ("/api/v1/indicators/{code}/series", fast.SERIES_PARAMS),
    ):
        operation = paths[path]["get"]
        params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert set(params) == known
        assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == ["code"]
        assert set(paths[path]) == {"get"}
        for name, param in params.items():
            schema = param["schema"]
            options = schema.get("anyOf", [schema])
            limit = next((o["maxLength"] for o in options if "maxLength" in o), None)
            allowed = next((o["enum"] for o in options if "enum" in o), None)
            ref = next((o["$ref"] for o in options if "$ref" in o), None)
            expected: dict[str, Any] = {
                "period": (fast.PERIOD_MAX, None),
                "from": (fast.PERIOD_MAX, None),
                "to": (fast.PERIOD_MAX, None),
                "org_unit": (fast.ORG_UNIT_MAX, None),
                "by": (None, sorted(fast.BREAKDOWNS)),
                "boundaries": (None, sorted(fast.BOUNDARIES)),
                "grain": (None, None),
            }
            assert (limit, sorted(allowed) if allowed else None) == expected[name], name
            assert param.get("required", False) == (name in ("from", "to")), name
            if name == "grain":
                assert ref is not None and ref.endswith("/Grain")


def test_query_strings_are_read_as_starlette_reads_them() -> None:
    from starlette.datastructures import QueryParams

    for raw in (
        "a=1&b=2",
        "period=2024-03&&org_unit=&by",
        "org_unit=%C4%90%E1%BA%AFk+H%C3%A0&period=2024",
        "=x&period==3&period2=4",
        "by=org%5Funit&from=a+b",
        "period=%ZZ&org_unit=%",
    ):
        known = frozenset({"a", "b", "period", "org_unit", "by", "from", ""})
        parsed = fast.query_params(raw.encode("latin-1"), known)
        starlette = {k: v for k, v in QueryParams(raw).multi_items() if k in known}
        assert parsed == starlette, raw
