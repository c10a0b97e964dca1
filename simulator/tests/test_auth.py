"""OAuth2 client credentials with HTTP Basic; bearer tokens that expire; 401 otherwise."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from cchc_simulator.simulator import Simulator

ClientFactory = Callable[[Simulator], Awaitable[httpx.AsyncClient]]
AGENCIES = "/motcua/1.0/coquan"
GRANT = {"grant_type": "client_credentials"}


def _basic(client_id: str = "cchc", *, wrong_secret: bool = False) -> dict[str, str]:
    secret = "wrong" if wrong_secret else "s3cret"
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


async def _token(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.post("/token", data=GRANT, headers=_basic())
    assert answer.status_code == 200
    token: dict[str, Any] = answer.json()
    return token


def _bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


async def test_token_for_the_right_client(
    client_for: ClientFactory, shared_simulator: Simulator
) -> None:
    client = await client_for(shared_simulator)

    token = await _token(client)

    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 600
    assert (await client.get(AGENCIES, headers=_bearer(token))).status_code == 200


async def test_no_token_for_a_wrong_secret_unknown_client_or_no_credentials(
    client_for: ClientFactory, shared_simulator: Simulator
) -> None:
    client = await client_for(shared_simulator)
    del client.headers["Authorization"]

    for headers in (_basic(wrong_secret=True), _basic(client_id="other"), {}):
        answer = await client.post("/token", data=GRANT, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_client"
    wrong_grant = await client.post("/token", data={"grant_type": "password"}, headers=_basic())
    assert wrong_grant.status_code == 400


async def test_api_refuses_missing_or_unknown_tokens(
    client_for: ClientFactory, shared_simulator: Simulator
) -> None:
    client = await client_for(shared_simulator)
    del client.headers["Authorization"]

    for headers in ({}, {"Authorization": "Bearer not-a-token"}, _basic()):
        for path in (AGENCIES, "/motcua/1.0/thutuc", "/motcua/1.0/hoso/thaydoi"):
            answer = await client.get(path, headers=headers)
            assert answer.status_code == 401
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")


async def test_token_expires_after_its_lifetime(
    client_for: ClientFactory, shared_simulator: Simulator, clock: Any
) -> None:
    client = await client_for(shared_simulator)
    token = await _token(client)

    clock.advance(599)
    assert (await client.get(AGENCIES, headers=_bearer(token))).status_code == 200
    clock.advance(1)
    assert (await client.get(AGENCIES, headers=_bearer(token))).status_code == 401
    fresh = await _token(client)
    assert (await client.get(AGENCIES, headers=_bearer(fresh))).status_code == 200


async def test_early_expiry_fault_kills_tokens_before_their_announced_lifetime(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator], clock: Any
) -> None:
    client = await client_for(make_simulator(dossiers=50, token_lifetime_seconds=5))
    token = await _token(client)

    assert token["expires_in"] == 600
    clock.advance(4)
    assert (await client.get(AGENCIES, headers=_bearer(token))).status_code == 200
    clock.advance(1)
    assert (await client.get(AGENCIES, headers=_bearer(token))).status_code == 401


async def test_revoking_tokens(client_for: ClientFactory, shared_simulator: Simulator) -> None:
    client = await client_for(shared_simulator)

    assert (await client.get(AGENCIES)).status_code == 200
    assert (await client.post("/_sim/tokens/revoke")).json()["revoked"] >= 1
    assert (await client.get(AGENCIES)).status_code == 401


async def test_probes_need_no_token(client_for: ClientFactory, shared_simulator: Simulator) -> None:
    client = await client_for(shared_simulator)
    del client.headers["Authorization"]

    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
