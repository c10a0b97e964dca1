"""Helpers for tests that run the gateway: its settings against the test servers, tokens."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from httpx import AsyncClient

from cchc_shared.settings import GatewaySettings
from cchc_shared.testing import serving

__all__ = ["bearer", "client_token", "gateway_settings", "password_token", "serving"]

ADMIN_PASSWORD = secrets.token_urlsafe(18)
IOC_DASHBOARD_SECRET = secrets.token_urlsafe(18)


def gateway_settings(**overrides: Any) -> GatewaySettings:
    """The gateway against the test servers (environment), issuing its own tokens."""
    values: dict[str, Any] = {
        "auth_key_secret": "k" * 32,
        "admin_password": ADMIN_PASSWORD,
        "ioc_dashboard_secret": IOC_DASHBOARD_SECRET,
        "auth_jwks": None,  # the gateway trusts its own keys, not the tests' key
        "upstream_timeout": 5.0,
    }
    values.update(overrides)
    return GatewaySettings(**values)


async def password_token(client: AsyncClient, username: str, password: str) -> str:
    resp = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["access_token"]
    return token


async def client_token(client: AsyncClient, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    resp = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
