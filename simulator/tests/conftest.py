"""Fixtures: small simulated provinces (a few thousand dossiers over a year that spans the
2025-07-01 merger), an app around them with a clock the tests move, and authorised clients.

Helpers are handed out as fixtures, since test modules cannot import each other here.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest

from cchc_simulator.app import create_app
from cchc_simulator.faults import FaultSettings
from cchc_simulator.settings import SimulatorServerSettings
from cchc_simulator.simulator import SimulationConfig, Simulator
from cchc_simulator.timeutil import DAY, VN_OFFSET_SECONDS, parse_end

SEED = 4212
HISTORY_END = "20251031"
CLIENT_ID = "cchc"
CLIENT_SECRET = "s3cret"
TOKEN_TTL = 600

Records = list[dict[str, Any]]
SimulatorFactory = Callable[..., Simulator]
ClientFactory = Callable[[Simulator], Awaitable[httpx.AsyncClient]]
FeedReader = Callable[..., Awaitable[Records]]


class FakeClock:
    """Unix time that only moves when a test says so."""

    def __init__(self, unix_now: float) -> None:
        self.now = unix_now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _make_simulator(
    dossiers: int = 1500, seed: int = SEED, live_new_share: float = 0.3, **faults: Any
) -> Simulator:
    end = parse_end(HISTORY_END)
    config = SimulationConfig(
        seed=seed,
        dossiers=dossiers,
        start=end - 365 * DAY + 1,
        end=end,
        live_new_share=live_new_share,
    )
    return Simulator(config, FaultSettings(**faults))


def app_settings() -> SimulatorServerSettings:
    return SimulatorServerSettings(
        simulator_seed=SEED,
        simulator_client_id=CLIENT_ID,
        simulator_client_secret=CLIENT_SECRET,
        simulator_end=HISTORY_END,
        simulator_live_rate=0,
        simulator_token_ttl=TOKEN_TTL,
    )


def basic_auth(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def _authorise(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.post(
        "/token", data={"grant_type": "client_credentials"}, headers={"Authorization": basic_auth()}
    )
    assert answer.status_code == 200, answer.text
    token: dict[str, Any] = answer.json()
    client.headers["Authorization"] = f"Bearer {token['access_token']}"
    return token


async def _read_feed(
    client: httpx.AsyncClient, size: int = 1000, since: str | None = None
) -> Records:
    """Every record of the feed, page by page through the cursor."""
    records: Records = []
    params: dict[str, Any] = {"soLuong": size}
    if since:
        params["tuThoiDiem"] = since
    while True:
        answer = await client.get("/motcua/1.0/hoso/thaydoi", params=params)
        assert answer.status_code == 200, answer.text
        page = orjson.loads(answer.content)  # 10x faster than answer.json() on these pages
        assert len(page["data"]) <= size
        records.extend(page["data"])
        if not page["conNua"]:
            assert page["conTroTiep"] is None
            return records
        params = {"soLuong": size, "conTro": page["conTroTiep"]}


@pytest.fixture(scope="session")
def shared_simulator() -> Simulator:
    """Read-only: tests that change faults or write live changes build their own."""
    return _make_simulator(dossiers=1500)


@pytest.fixture
def make_simulator() -> SimulatorFactory:
    """Builds a small simulator of the test's own:
    ``make_simulator(dossiers, seed, live_new_share, **faults)``."""
    return _make_simulator


@pytest.fixture
def clock() -> FakeClock:
    # A day after the history ends, so live changes come later than anything in it.
    return FakeClock(parse_end(HISTORY_END) - VN_OFFSET_SECONDS + DAY)


@pytest.fixture
async def client_for(clock: FakeClock) -> AsyncIterator[ClientFactory]:
    """Builds an authorised client of an app around a given simulator (with the fake clock)."""
    clients: list[httpx.AsyncClient] = []

    async def build(simulator: Simulator) -> httpx.AsyncClient:
        app = create_app(app_settings(), simulator=simulator, clock=clock)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lgsp")
        clients.append(client)
        await _authorise(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(client_for: ClientFactory, shared_simulator: Simulator) -> httpx.AsyncClient:
    """An authorised client of the shared simulator."""
    return await client_for(shared_simulator)


@pytest.fixture(scope="session")
async def shared_feed(shared_simulator: Simulator) -> Records:
    """The shared simulator's whole feed, read once through the API in pages of 1000."""
    app = create_app(app_settings(), simulator=shared_simulator)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://lgsp"
    ) as client:
        await _authorise(client)
        return await _read_feed(client)


@pytest.fixture
def read_feed() -> FeedReader:
    """``await read_feed(client, size=1000, since=None)``: every record, through the cursor."""
    return _read_feed
