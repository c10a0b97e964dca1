"""Each fault does what it says, deterministically, and only when switched on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest

from cchc_simulator.faults import FaultInjector, FaultSettings
from cchc_simulator.reader import Unreadable, read_record
from cchc_simulator.simulator import Simulator

Records = list[dict[str, Any]]
ClientFactory = Callable[[Simulator], Awaitable[httpx.AsyncClient]]
FeedReader = Callable[..., Awaitable[Records]]
CHANGES = "/motcua/1.0/hoso/thaydoi"
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[07]:00$")


async def _faulty_client(
    client_for: ClientFactory, simulator: Simulator, faults: dict[str, Any]
) -> httpx.AsyncClient:
    """A client of ``simulator`` once its faults are set through ``POST /_sim/faults``."""
    client = await client_for(simulator)
    answer = await client.post("/_sim/faults", json=faults)
    assert answer.status_code == 200, answer.text
    return client


async def _page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    answer = await client.get(CHANGES, params=params)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = orjson.loads(answer.content)
    return page


async def test_duplicates_resend_records_of_the_previous_page(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator]
) -> None:
    client = await _faulty_client(client_for, make_simulator(200), {"duplicate_rate": 1.0})

    first = await _page(client, soLuong=10)
    second = await _page(client, soLuong=10, conTro=first["conTroTiep"])

    assert len(second["data"]) == 10
    assert second["data"][:5] == first["data"][:5]
    fresh = second["data"][5:]
    assert (first["data"][-1]["NgayCapNhat"], first["data"][-1]["MaHoSo"]) <= (
        fresh[0]["NgayCapNhat"],
        fresh[0]["MaHoSo"],
    )


async def test_with_duplicates_and_reordering_every_version_still_arrives(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator], read_feed: FeedReader
) -> None:
    clean = await read_feed(await client_for(make_simulator(250)), size=100)
    faults = {"duplicate_rate": 0.2, "out_of_order_rate": 0.2}
    client = await _faulty_client(client_for, make_simulator(250), faults)

    faulty = await read_feed(client, size=100)

    keys = [(r["MaHoSo"], r["PhienBan"]) for r in faulty]
    assert len(faulty) > len(clean)
    assert set(keys) == {(r["MaHoSo"], r["PhienBan"]) for r in clean}
    by_key = {(r["MaHoSo"], r["PhienBan"]): r for r in clean}
    assert all(r == by_key[(r["MaHoSo"], r["PhienBan"])] for r in faulty)


async def test_out_of_order_sends_the_previous_version_after_the_newer(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator]
) -> None:
    client = await _faulty_client(client_for, make_simulator(400), {"out_of_order_rate": 1.0})

    records = (await _page(client, soLuong=1000))["data"]

    resent, index = 0, 0
    while index < len(records) - 1:
        record, following = records[index], records[index + 1]
        index += 1
        if record["PhienBan"] > 1:
            assert (following["MaHoSo"], following["PhienBan"]) == (
                record["MaHoSo"],
                record["PhienBan"] - 1,
            )
            assert following["NgayCapNhat"] < record["NgayCapNhat"]
            resent += 1
            index += 1
    assert resent > 100


@pytest.mark.parametrize(("fault", "status"), [("rate_limit_rate", 429), ("unavailable_rate", 503)])
async def test_overload_answers_with_retry_after(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator], fault: str, status: int
) -> None:
    faults = {fault: 1.0, "retry_after_seconds": 7}
    client = await _faulty_client(client_for, make_simulator(50), faults)

    answer = await client.get(CHANGES)

    assert answer.status_code == status
    assert answer.headers["Retry-After"] == "7"
    await client.post("/_sim/faults", json={fault: 1.0, "retry_after_seconds": None})
    assert "Retry-After" not in (await client.get(CHANGES)).headers
    await client.post("/_sim/faults", json={})
    assert (await client.get(CHANGES)).status_code == 200


def test_request_faults_follow_their_rate_and_repeat_for_a_seed() -> None:
    settings = FaultSettings(unavailable_rate=0.3, slow_rate=0.5, slow_seconds=0.25)
    first, again = FaultInjector(1, settings), FaultInjector(1, settings)

    answers = [first.request_fault() for _ in range(1000)]

    assert answers == [again.request_fault() for _ in range(1000)]
    assert 200 < sum(status == 503 for status, _ in answers) < 400
    assert {delay for _, delay in answers} == {0.0, 0.25}
    assert 400 < sum(delay > 0 for _, delay in answers) < 600


async def test_malformed_records_are_exactly_those_the_truth_lists(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator], read_feed: FeedReader
) -> None:
    simulator = make_simulator(dossiers=300)
    client = await _faulty_client(client_for, simulator, {"malformed_rate": 0.05})

    records = await read_feed(client)

    positions = zip(simulator.feed.dossier, simulator.feed.version, strict=True)
    unreadable = set()
    for record, (dossier, version) in zip(records, positions, strict=True):
        try:
            read_record(record)
        except Unreadable:
            unreadable.add((simulator.table.codes[dossier], version))
    truth = [orjson.loads(line) for line in (await client.get("/_sim/truth")).content.splitlines()]
    listed = {(t["MaHoSo"], t["PhienBan"]) for t in truth if t["kind"] == "malformed"}
    assert unreadable == listed
    assert 0.03 * len(records) < len(listed) < 0.07 * len(records)
    reasons = {t["reason"].split()[0] for t in truth if t["kind"] == "malformed"}
    assert reasons == {"missing", "bad", "unknown"}


async def test_variations_are_legal_and_read_back_to_the_clean_record(
    client_for: ClientFactory, make_simulator: Callable[..., Simulator], read_feed: FeedReader
) -> None:
    clean = await read_feed(await client_for(make_simulator(120)))
    every_variation = {
        "nfd_rate": 1.0,
        "iso_dates_rate": 1.0,
        "numeric_flags_rate": 1.0,
        "empty_strings_rate": 1.0,
    }
    client = await _faulty_client(client_for, make_simulator(120), every_variation)

    dirty = await read_feed(client)

    assert len(dirty) == len(clean)
    for raw, expected in zip(dirty, clean, strict=True):
        assert read_record(raw) == read_record(expected)
        assert ISO_WITH_OFFSET.match(raw["NgayCapNhat"])
        assert isinstance(raw["DaDongBoDVCQG"], int)
        assert raw["NgayTra"] != "" or expected["NgayTra"] is None
        assert raw["NgayTra"] is not None
        assert ("KenhThucHien" in raw) == (expected["KenhThucHien"] != "1")
    decomposed = [r for r in dirty if r["TenTTHC"] != unicodedata.normalize("NFC", r["TenTTHC"])]
    assert decomposed
    assert {r["NgayCapNhat"][-6:] for r in dirty} == {"+07:00", "+00:00"}


async def test_faults_are_off_unless_asked(client: httpx.AsyncClient) -> None:
    answer = await client.get("/_sim/faults")

    assert answer.status_code == 200
    assert all(not value for key, value in answer.json().items() if key.endswith("_rate"))


async def test_unknown_fault_settings_are_refused(client: httpx.AsyncClient) -> None:
    assert (await client.post("/_sim/faults", json={"chaos": 1})).status_code == 400
    assert (await client.post("/_sim/faults", json={"malformed_rate": 2})).status_code == 400
