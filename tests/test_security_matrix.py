"""Acceptance: every role × every endpoint × in-scope / out-of-scope org unit gets the expected
answer, through the gateway and at the service directly; no token, an expired token, a token
signed with another key, and `alg: none` all get 401.

Everything runs over real HTTP: the gateway and a probe service (built with create_service_app
like the real ones) each under uvicorn; the service fetches the gateway's public keys. Tokens come
from the gateway's token endpoint, for accounts made through its accounts API.

To cover a real endpoint, add a row to ENDPOINTS: its method, its path for an org unit inside and
outside the scope `SCOPE` (or the same path twice when it is not scoped), and the roles it admits.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from httpx import AsyncClient

from cchc_gateway.main import create_app as create_gateway
from cchc_gateway.testing import ADMIN_PASSWORD, bearer, gateway_settings, password_token
from cchc_shared.app import create_service_app
from cchc_shared.auth import sign_token, token_claims
from cchc_shared.embedded import free_port
from cchc_shared.settings import ServiceSettings
from cchc_shared.testing import (
    TestInfra,
    TestTokens,
    auth_probe_definition,
    serving,
    truncate_schemas,
)

ROLES = ("admin", "planner", "agency_officer", "viewer", "integration")
SCOPE = "huyen-a"  # inside: xa-a1 (a commune below it); outside: huyen-b (its sibling)
ALL = frozenset(ROLES)


@dataclass(frozen=True)
class Endpoint:
    method: str
    inside: str
    outside: str
    roles: frozenset[str]
    ok: int = 200
    unscoped_admin_only: bool = False
    service: bool = True  # also callable at the service directly

    @property
    def scoped(self) -> bool:
        return self.inside != self.outside

    def expected(self, role: str, scoped: bool, target_inside: bool) -> int:
        if self.unscoped_admin_only:
            return self.ok if role == "admin" and not scoped else 403
        if role not in self.roles | {"admin"}:
            return 403
        if self.scoped and scoped and not target_inside:
            return 403
        return self.ok


def same(method: str, path: str, roles: frozenset[str], ok: int = 200, **kw: bool) -> Endpoint:
    return Endpoint(method, path, path, roles, ok, **kw)


ENDPOINTS = (
    same("GET", "/api/v1/plans/probe", ALL),
    Endpoint("GET", "/api/v1/org-units/xa-a1/probe", "/api/v1/org-units/huyen-b/probe", ALL),
    same("POST", "/api/v1/plans/probe", frozenset({"planner"}), 201),
    Endpoint(
        "POST",
        "/api/v1/tasks/probe/xa-a1/progress",
        "/api/v1/tasks/probe/huyen-b/progress",
        frozenset({"agency_officer", "planner"}),
        201,
    ),
    same("POST", "/api/v1/ingest/probe", frozenset({"integration"}), 202),
    same("GET", "/api/v1/auth/me", ALL, service=False),
    same("GET", "/api/v1/auth/accounts", ALL, unscoped_admin_only=True, service=False),
    same("GET", "/api/v1/auth/audit", ALL, unscoped_admin_only=True, service=False),
)


@dataclass
class System:
    gateway: AsyncClient
    service: AsyncClient
    tokens: dict[tuple[str, bool], str]  # (role, scoped) -> token
    gateway_app: object


@pytest.fixture(scope="module")
async def system(infra: TestInfra, service_env: dict[str, str]) -> AsyncIterator[System]:
    await truncate_schemas(infra.database_url, ["gateway"])
    gateway_port, service_port = free_port(), free_port()
    service_app = create_service_app(
        auth_probe_definition(),
        ServiceSettings(
            run_background_workers=False,
            auth_jwks=None,  # trust the gateway's keys, fetched as in production
            auth_jwks_url=f"http://127.0.0.1:{gateway_port}/.well-known/jwks.json",
        ),
    )
    probe_url = f"http://127.0.0.1:{service_port}"
    gateway_app = create_gateway(
        gateway_settings(plans_url=probe_url, ingest_url=probe_url, token_rate_per_minute=6000)
    )
    async with (
        serving(service_app, service_port),
        serving(gateway_app, gateway_port) as gateway_url,
        AsyncClient(base_url=gateway_url, timeout=30) as gateway,
        AsyncClient(base_url=probe_url, timeout=30) as service,
    ):
        tokens = await make_tokens(gateway)
        yield System(gateway, service, tokens, gateway_app)


async def make_tokens(gateway: AsyncClient) -> dict[tuple[str, bool], str]:
    admin = bearer(await password_token(gateway, "admin", ADMIN_PASSWORD))
    tokens = {}
    for role in ROLES:
        for scoped in (False, True):
            name = f"matrix-{role}{'-scoped' if scoped else ''}"
            secret = f"secret-of-{name}-0123"
            resp = await gateway.post(
                "/api/v1/auth/accounts",
                headers=admin,
                json={
                    "kind": "user",
                    "name": name,
                    "roles": [role],
                    "org_unit_scope": SCOPE if scoped else None,
                    "secret": secret,
                },
            )
            assert resp.status_code == 201, resp.text
            tokens[(role, scoped)] = await password_token(gateway, name, secret)
    return tokens


async def test_every_role_on_every_endpoint_in_and_out_of_scope(system: System) -> None:
    failures = []
    for endpoint in ENDPOINTS:
        targets = [(endpoint.inside, True), (endpoint.outside, False)]
        for role in ROLES:
            for scoped in (False, True):
                headers = bearer(system.tokens[(role, scoped)])
                for path, inside in targets if endpoint.scoped else targets[:1]:
                    want = endpoint.expected(role, scoped, inside)
                    doors = [("gateway", system.gateway)]
                    if endpoint.service:
                        doors.append(("service", system.service))
                    for door, client in doors:
                        resp = await client.request(endpoint.method, path, headers=headers)
                        if resp.status_code != want:
                            failures.append(
                                f"{door} {endpoint.method} {path} as {role}"
                                f"{' scoped' if scoped else ''}: {resp.status_code}, want {want}"
                            )
                        elif want == 403:
                            assert resp.headers["content-type"] == "application/problem+json"
    assert failures == []


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def untrustworthy_tokens(system: System) -> dict[str, str | None]:
    keys = system.gateway_app.state.keys  # type: ignore[attr-defined]
    signer = await keys.signer()
    expired = token_claims(
        subject="admin",
        roles=["admin"],
        issuer="cchc",
        audience="cchc-api",
        ttl_seconds=60,
        now=time.time() - 3600,
    )
    admin_claims = token_claims(
        subject="admin", roles=["admin"], issuer="cchc", audience="cchc-api", ttl_seconds=600
    )
    return {
        "no token": None,
        "expired": sign_token(expired, signer.private_key, kid=signer.kid, algorithm="EdDSA"),
        "another key": TestTokens().mint("admin"),
        "another key, our kid": sign_token(
            admin_claims, TestTokens().private_key, kid=signer.kid, algorithm="EdDSA"
        ),
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': signer.kid})}.{b64(admin_claims)}.",
        "garbage": "Zm9v.YmFy.YmF6",
    }


async def test_untrustworthy_tokens_get_401_everywhere(system: System) -> None:
    failures = []
    for name, token in (await untrustworthy_tokens(system)).items():
        headers = bearer(token) if token else {}
        for endpoint in ENDPOINTS:
            doors = [system.gateway] + ([system.service] if endpoint.service else [])
            for client in doors:
                resp = await client.request(endpoint.method, endpoint.inside, headers=headers)
                if resp.status_code != 401:
                    failures.append(
                        f"{name}: {endpoint.method} {endpoint.inside} {resp.status_code}"
                    )
                else:
                    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert failures == []
