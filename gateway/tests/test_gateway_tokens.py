"""The token endpoint: people with a password, systems with client credentials; the tokens are
signed by a key published at /.well-known/jwks.json and checked like any other."""

from __future__ import annotations

import base64

import jwt
from httpx import AsyncClient

from cchc_gateway.testing import (
    ADMIN_PASSWORD,
    IOC_DASHBOARD_SECRET,
    bearer,
    client_token,
    password_token,
)


async def test_admin_signs_in_with_password_and_gets_an_admin_token(gateway: AsyncClient) -> None:
    resp = await gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD},
    )
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    me = await gateway.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json() == {
        "subject": "admin",
        "roles": ["admin"],
        "org_unit_scope": None,
        "client_id": None,
    }


async def test_dashboard_client_gets_a_viewer_token_by_basic_or_form(gateway: AsyncClient) -> None:
    by_basic = await client_token(gateway, "ioc-dashboard", IOC_DASHBOARD_SECRET)
    by_form = await gateway.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "ioc-dashboard",
            "client_secret": IOC_DASHBOARD_SECRET,
        },
    )
    assert by_form.status_code == 200
    for token in (by_basic, by_form.json()["access_token"]):
        me = (await gateway.get("/api/v1/auth/me", headers=bearer(token))).json()
        assert me["roles"] == ["viewer"]
        assert me["client_id"] == "ioc-dashboard"


async def test_wrong_password_and_unknown_user_are_refused_alike(gateway: AsyncClient) -> None:
    answers = [
        await gateway.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": user, "password": "not-the-password"},
        )
        for user in ("admin", "nobody")
    ]
    for resp in answers:
        assert resp.status_code == 400
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["error"] == "invalid_grant"
    assert answers[0].json()["detail"] == answers[1].json()["detail"]


async def test_wrong_client_secret_is_401_with_basic_challenge(gateway: AsyncClient) -> None:
    basic = base64.b64encode(b"ioc-dashboard:wrong").decode()
    resp = await gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"
    assert resp.headers["www-authenticate"].startswith("Basic")


async def test_missing_fields_are_named(gateway: AsyncClient) -> None:
    no_grant = await gateway.post("/api/v1/auth/token", data={"username": "admin"})
    no_password = await gateway.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": "admin"}
    )
    assert no_grant.status_code == 422
    assert [e["field"] for e in no_grant.json()["errors"]] == ["body.grant_type"]
    assert no_password.status_code == 400
    assert no_password.json()["error"] == "invalid_request"
    assert [e["field"] for e in no_password.json()["errors"]] == ["body.password"]


async def test_hostile_credentials_never_cause_a_500(gateway: AsyncClient) -> None:
    for username in ("ad\x00min", "x" * 200, "' OR 1=1 --", "Nguyễn"):
        resp = await gateway.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": username, "password": "\x00" * 10},
        )
        assert resp.status_code == 400, (username, resp.text)
    garbage = await gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic %%%not-base64"},
    )
    assert garbage.status_code == 401


async def test_token_is_signed_by_a_published_key(gateway: AsyncClient) -> None:
    token = await password_token(gateway, "admin", ADMIN_PASSWORD)
    jwks = (await gateway.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(token)["kid"]
    published = {k["kid"]: k for k in jwks["keys"]}
    assert kid in published
    assert "d" not in published[kid]  # never the private half
    claims = jwt.decode(
        token,
        jwt.PyJWK(published[kid]),
        algorithms=["EdDSA"],
        audience="cchc-api",
        issuer="cchc",
    )
    assert claims["sub"] == "admin"
    assert claims["exp"] - claims["iat"] == 900


async def test_disabled_account_gets_no_token(
    gateway: AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await gateway.post(
        "/api/v1/auth/accounts",
        json={"kind": "user", "name": "nv.an", "roles": ["agency_officer"], "org_unit_scope": "62"},
        headers=admin_headers,
    )
    assert created.status_code == 201
    password = created.json()["secret"]
    token = await password_token(gateway, "nv.an", password)
    me = (await gateway.get("/api/v1/auth/me", headers=bearer(token))).json()
    assert me["org_unit_scope"] == "62"
    disabled = await gateway.patch(
        "/api/v1/auth/accounts/user/nv.an", json={"disabled": True}, headers=admin_headers
    )
    assert disabled.status_code == 200
    refused = await gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "nv.an", "password": password},
    )
    assert refused.status_code == 400
