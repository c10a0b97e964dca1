"""The ground truth is what a correct reader of the feed ends up with, and /hoso/thongke counts
the same thing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from cchc_simulator.reader import latest_by_dossier
from cchc_simulator.simulator import Simulator
from cchc_simulator.truth import write_truth

Records = list[dict[str, Any]]
ClientFactory = Callable[[Simulator], Awaitable[httpx.AsyncClient]]
FeedReader = Callable[..., Awaitable[Records]]
EVERY_FAULT = {
    "duplicate_rate": 0.1,
    "out_of_order_rate": 0.1,
    "malformed_rate": 0.03,
    "nfd_rate": 0.2,
    "iso_dates_rate": 0.2,
    "numeric_flags_rate": 0.2,
    "empty_strings_rate": 0.2,
}


async def _truth(client: httpx.AsyncClient) -> Records:
    answer = await client.get("/_sim/truth")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    return [orjson.loads(line) for line in answer.content.splitlines()]


async def test_truth_is_what_a_correct_reader_keeps_from_a_faulty_feed(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator], read_feed: FeedReader
) -> None:
    client = await client_for(make_simulator(dossiers=300, **EVERY_FAULT))

    kept, rejected = latest_by_dossier(await read_feed(client, size=200))

    truth = await _truth(client)
    meta, dossiers = truth[0], [t["record"] for t in truth if t["kind"] == "dossier"]
    malformed = [t for t in truth if t["kind"] == "malformed"]
    assert meta["kind"] == "meta" and meta["dossiers"] == 300
    assert {r["MaHoSo"]: r for r in dossiers} == kept
    assert malformed and len(rejected) >= len(malformed)


def _expected_counts(truth: Records) -> dict[tuple[str, str], list[int]]:
    counts: dict[tuple[str, str], list[int]] = {}
    for line in truth:
        if line["kind"] != "dossier":
            continue
        record = line["record"]
        if record["NgayTiepNhan"] and record["TrangThaiHoSo"] not in ("1", "3"):
            counts.setdefault((record["NgayTiepNhan"][:8], record["MaDonVi"]), [0, 0])[0] += 1
        counts.setdefault((record["NgayCapNhat"][:8], record["MaDonVi"]), [0, 0])[1] += 1
    return counts


async def _daily_counts(client: httpx.AsyncClient) -> dict[tuple[str, str], list[int]]:
    params = {"tuNgay": "20241101", "denNgay": "20991231"}
    answer = await client.get("/motcua/1.0/hoso/thongke", params=params)
    assert answer.status_code == 200
    return {
        (r["Ngay"], r["MaDonVi"]): [r["SoHoSoTiepNhan"], r["SoHoSoCapNhat"]]
        for r in answer.json()["data"]
    }


async def test_daily_counts_are_the_truths(
    client: httpx.AsyncClient, shared_simulator: Simulator
) -> None:
    counts = await _daily_counts(client)

    assert counts == _expected_counts(await _truth(client))
    assert sum(received for received, _ in counts.values()) > 0.9 * len(shared_simulator.table)
    assert sum(updated for _, updated in counts.values()) == len(shared_simulator.table)


async def test_daily_counts_follow_live_changes_and_fault_changes(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator], clock: Any
) -> None:
    client = await client_for(make_simulator(dossiers=300))
    before = await _daily_counts(client)
    for _ in range(30):
        clock.advance(1)
        await client.post("/_sim/live", params={"changes": 10})

    after_live = await _daily_counts(client)
    assert after_live != before
    assert after_live == _expected_counts(await _truth(client))
    await client.post("/_sim/faults", json={"malformed_rate": 0.2})

    after_faults = await _daily_counts(client)

    assert after_faults != after_live
    assert after_faults == _expected_counts(await _truth(client))


async def test_daily_counts_for_a_range_are_the_rows_of_its_days(
    client: httpx.AsyncClient,
) -> None:
    params = {"tuNgay": "20241101", "denNgay": "20251031"}
    year = (await client.get("/motcua/1.0/hoso/thongke", params=params)).json()["data"]
    params = {"tuNgay": "20250301", "denNgay": "20250331"}

    march = (await client.get("/motcua/1.0/hoso/thongke", params=params)).json()["data"]

    assert march == [r for r in year if r["Ngay"].startswith("202503")]
    assert march
    bad = await client.get(
        "/motcua/1.0/hoso/thongke", params={"tuNgay": "2025-03-01", "denNgay": "20250331"}
    )
    assert bad.status_code == 400


async def test_written_truth_is_the_served_truth(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator], tmp_path: Path
) -> None:
    simulator = make_simulator(dossiers=200, malformed_rate=0.05)
    client = await client_for(simulator)

    written = write_truth(simulator, tmp_path / "truth.jsonl").read_bytes()

    assert written == (await client.get("/_sim/truth")).content
    kinds = Counter(orjson.loads(line)["kind"] for line in written.splitlines())
    assert kinds["meta"] == 1 and kinds["dossier"] > 150 and kinds["malformed"] > 0
