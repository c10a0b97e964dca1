"""After the history, the simulator keeps writing: new dossiers and next steps of open ones,
stamped with the current second, appended to the feed in its order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from cchc_simulator.app import create_app
from cchc_simulator.settings import SimulatorServerSettings
from cchc_simulator.simulator import Simulator
from cchc_simulator.timeutil import format_datetime, vn_seconds_from_unix

Records = list[dict[str, Any]]
ClientFactory = Callable[[Simulator], Awaitable[httpx.AsyncClient]]
FeedReader = Callable[..., Awaitable[Records]]


async def test_live_changes_are_stamped_now_and_follow_the_history(
    client_for: ClientFactory,
    make_simulator: Callable[..., Simulator],
    read_feed: FeedReader,
    clock: Any,
) -> None:
    simulator = make_simulator(dossiers=400)
    client = await client_for(simulator)
    history = {(r["MaHoSo"], r["PhienBan"]): r for r in await read_feed(client)}
    now = format_datetime(vn_seconds_from_unix(clock()))

    answer = await client.post("/_sim/live", params={"changes": 40})

    assert answer.json()["written"] == 40
    live = await read_feed(client, since=now)
    assert len(live) == 40
    assert {r["NgayCapNhat"] for r in live} == {now}
    assert [r["MaHoSo"] for r in live] == sorted(r["MaHoSo"] for r in live)
    new = [r for r in live if r["PhienBan"] == 1]
    advanced = [r for r in live if r["PhienBan"] > 1]
    assert new and advanced
    assert all(r["MaHoSo"].split("-")[1] == now[2:8] for r in new)
    for record in advanced:
        assert (record["MaHoSo"], record["PhienBan"] - 1) in history
        assert (record["MaHoSo"], record["PhienBan"]) not in history


async def test_one_live_batch_a_second(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator], clock: Any
) -> None:
    client = await client_for(make_simulator(dossiers=100))

    assert (await client.post("/_sim/live", params={"changes": 5})).json()["written"] == 5
    assert (await client.post("/_sim/live", params={"changes": 5})).json()["written"] == 0
    clock.advance(1)
    assert (await client.post("/_sim/live", params={"changes": 5})).json()["written"] == 5


async def test_live_dossiers_move_through_their_life(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator], clock: Any
) -> None:
    simulator = make_simulator(dossiers=50, live_new_share=0.0)
    client = await client_for(simulator)
    for _ in range(60):
        clock.advance(5)  # within the token's 600 s
        await client.post("/_sim/live", params={"changes": 10})

    table = simulator.table
    for dossier in range(len(table)):
        code = table.codes[dossier]
        record = (await client.get(f"/motcua/1.0/hoso/{code}")).json()
        assert record["PhienBan"] == table.released[dossier]
        if record["NgayTiepNhan"]:
            assert record["NgayHenTra"] > record["NgayTiepNhan"]
    statuses = {
        (await client.get(f"/motcua/1.0/hoso/{c}")).json()["TrangThaiHoSo"]
        for c in table.codes[-20:]
    }
    assert statuses - {"1", "2"}


async def test_producer_writes_at_its_rate_while_the_app_runs(
    make_simulator: Callable[..., Simulator],
) -> None:
    settings = SimulatorServerSettings(simulator_live_rate=20, simulator_end="20251031")
    simulator = make_simulator(dossiers=50)
    history = len(simulator.feed)
    app = create_app(settings, simulator=simulator)

    async with LifespanManager(app):
        for _ in range(100):
            await asyncio.sleep(0.05)
            if len(simulator.feed) >= history + 20:
                break

    assert len(simulator.feed) >= history + 20
