"""A service built by create_service_app trusts no caller: every /api/v1 route needs a token,
roles and org-unit scopes are enforced in the service itself, operational routes stay open."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from cchc_shared.app import create_service_app
from cchc_shared.auth import Principal, in_scope
from cchc_shared.settings import ServiceSettings
from cchc_shared.testing import TestTokens, auth_probe_definition, probe_is_descendant

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]


def probe(**settings: object) -> FastAPI:
    return create_service_app(
        auth_probe_definition(), ServiceSettings(run_background_workers=False, **settings)
    )


async def test_no_token_is_401_problem_with_bearer_challenge(make_client: ClientFactory) -> None:
    async with make_client(probe(), role=None) as client:
        resp = await client.get("/api/v1/plans/probe")
        basic = await client.get("/api/v1/plans/probe", headers={"Authorization": "Basic eDp5"})
    for answer in (resp, basic):
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_operational_routes_need_no_token(make_client: ClientFactory) -> None:
    async with make_client(probe(), role=None) as client:
        for path in ("/healthz", "/readyz", "/openapi.json"):
            assert (await client.get(path)).status_code == 200, path


async def test_the_floor_reads_for_all_writes_for_writers(
    make_client: ClientFactory, auth_headers: Callable[..., dict[str, str]]
) -> None:
    async with make_client(probe()) as client:
        viewer_read = await client.get("/api/v1/plans/probe", headers=auth_headers("viewer"))
        viewer_write = await client.post("/api/v1/plans/probe", headers=auth_headers("viewer"))
        no_role = await client.get("/api/v1/plans/probe", headers=auth_headers([]))
    assert viewer_read.status_code == 200
    assert viewer_write.status_code == 403
    assert viewer_write.headers["content-type"] == "application/problem+json"
    assert no_role.status_code == 403


async def test_require_roles_admits_the_named_roles_and_admin(
    make_client: ClientFactory, auth_headers: Callable[..., dict[str, str]]
) -> None:
    async with make_client(probe()) as client:
        statuses = {
            role: (await client.post("/api/v1/plans/probe", headers=auth_headers(role))).status_code
            for role in ("planner", "admin", "agency_officer", "integration")
        }
    assert statuses == {"planner": 201, "admin": 201, "agency_officer": 403, "integration": 403}


async def test_scope_admits_the_subtree_only(
    make_client: ClientFactory, auth_headers: Callable[..., dict[str, str]]
) -> None:
    officer = auth_headers("agency_officer", scope="huyen-a")
    async with make_client(probe()) as client:
        own = await client.post("/api/v1/tasks/probe/huyen-a/progress", headers=officer)
        below = await client.post("/api/v1/tasks/probe/xa-a1/progress", headers=officer)
        beside = await client.post("/api/v1/tasks/probe/huyen-b/progress", headers=officer)
        above = await client.post("/api/v1/tasks/probe/tinh/progress", headers=officer)
        read_beside = await client.get(
            "/api/v1/org-units/huyen-b/probe", headers=auth_headers("viewer", scope="huyen-a")
        )
    assert (own.status_code, below.status_code) == (201, 201)
    assert (beside.status_code, above.status_code, read_beside.status_code) == (403, 403, 403)
    assert "outside your scope" in beside.json()["detail"]


async def test_openapi_documents_the_bearer_scheme_and_401_403(make_client: ClientFactory) -> None:
    async with make_client(probe()) as client:
        doc = (await client.get("/openapi.json")).json()
    operation = doc["paths"]["/api/v1/plans/probe"]["post"]
    assert operation["security"] == [{"bearer": []}]
    assert {"401", "403"} <= set(operation["responses"])
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_auth_off_admits_anonymous_but_still_checks_tokens(
    make_client: ClientFactory, test_tokens: TestTokens
) -> None:
    async with make_client(probe(auth_required=False), role=None) as client:
        anonymous = await client.post("/api/v1/plans/probe")
        forged = await client.post(
            "/api/v1/plans/probe", headers={"Authorization": f"Bearer {TestTokens().mint()}"}
        )
        viewer = await client.post(
            "/api/v1/plans/probe", headers={"Authorization": f"Bearer {test_tokens.mint('viewer')}"}
        )
    assert anonymous.status_code == 201
    assert forged.status_code == 401
    assert viewer.status_code == 403


async def test_a_service_without_keys_refuses_to_start(make_client: ClientFactory) -> None:
    with pytest.raises(RuntimeError, match="CCHC_AUTH_JWKS"):
        async with make_client(probe(auth_jwks=None, auth_jwks_url=None)):
            pass


@pytest.mark.parametrize(
    ("scope", "target", "expected"),
    [
        (None, "huyen-b", True),
        ("tinh", "xa-a1", True),
        ("huyen-a", "huyen-a", True),
        ("huyen-a", "xa-a1", True),
        ("huyen-a", "tinh", False),
        ("xa-a1", "huyen-a", False),
    ],
)
async def test_in_scope(scope: str | None, target: str, expected: bool) -> None:
    principal = Principal(subject="s", roles=frozenset({"viewer"}), org_unit_scope=scope)
    assert await in_scope(principal, target, probe_is_descendant) is expected


async def test_405_names_every_method_of_the_path(make_client: ClientFactory) -> None:
    async with make_client(probe()) as client:
        resp = await client.delete("/api/v1/plans/probe")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET, HEAD, POST"
