"""The agency tree: Kon Tum's units, its communes, and Quảng Ngãi's merged communes after
2025-07-01, linked by successors."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Any

import httpx

from cchc_simulator.simulator import Simulator
from cchc_simulator.timeutil import day_number, day_of

OLD_COMMUNE = re.compile(r"^000\.2(\d)\.(?!00)(\d\d)\.H34$")
MERGED_COMMUNE = re.compile(r"^000\.5(\d)\.(\d\d)\.H45$")


async def _agencies(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await client.get("/motcua/1.0/coquan", params={"trang": 1, "soLuong": 1000})
    assert answer.status_code == 200
    body = answer.json()
    assert body["tongSo"] == len(body["data"])
    records: list[dict[str, Any]] = body["data"]
    return records


async def test_tree_is_whole_and_well_formed(client: httpx.AsyncClient) -> None:
    agencies = await _agencies(client)
    by_code = {a["MaDinhDanh"]: a for a in agencies}

    assert len(by_code) == len(agencies)
    assert Counter(a["Cap"] for a in agencies).keys() == {"TINH", "SO", "HUYEN", "XA"}
    for agency in agencies:
        assert agency["MaCoQuanCha"] is None or agency["MaCoQuanCha"] in by_code
        assert agency["MaCoQuanKeThua"] is None or agency["MaCoQuanKeThua"] in by_code
        assert re.fullmatch(r"\d{8}", agency["HieuLucTu"])
        assert agency["HieuLucDen"] is None or re.fullmatch(r"\d{8}", agency["HieuLucDen"])
    assert by_code["000.00.00.H34"]["MaCoQuanCha"] is None
    assert by_code["000.00.00.H34"]["MaCoQuanKeThua"] == "000.00.00.H45"
    assert by_code["000.21.00.H34"]["TenCoQuan"] == "UBND huyện Đắk Glei"


async def test_communes_before_and_after_the_merger(client: httpx.AsyncClient) -> None:
    agencies = await _agencies(client)
    by_code = {a["MaDinhDanh"]: a for a in agencies}
    old = [a for a in agencies if OLD_COMMUNE.match(a["MaDinhDanh"])]
    merged = [a for a in agencies if MERGED_COMMUNE.match(a["MaDinhDanh"])]

    assert 90 <= len(old) <= 110
    assert 35 <= len(merged) <= 45
    for commune in old:
        digit = OLD_COMMUNE.match(commune["MaDinhDanh"]).group(1)  # type: ignore[union-attr]
        assert commune["Cap"] == "XA"
        assert commune["MaCoQuanCha"] == f"000.2{digit}.00.H34"
        assert commune["HieuLucDen"] == "20250630"
        successor = by_code[commune["MaCoQuanKeThua"]]
        assert successor["MaDinhDanh"].startswith(f"000.5{digit}.")
        assert successor["HieuLucTu"] == "20250701"
        assert re.match(r"UBND (xã|phường|thị trấn) \w", commune["TenCoQuan"])
    for commune in merged:
        assert commune["Cap"] == "XA"
        assert commune["MaCoQuanCha"] == "000.00.00.H45"
        assert commune["HieuLucDen"] is None
    assert {c["MaCoQuanKeThua"] for c in old} == {c["MaDinhDanh"] for c in merged}


async def test_paging_of_agencies(client: httpx.AsyncClient) -> None:
    whole = await _agencies(client)
    pages = []
    for page in range(1, 100):
        answer = await client.get("/motcua/1.0/coquan", params={"trang": page, "soLuong": 50})
        if not answer.json()["data"]:
            break
        pages.extend(answer.json()["data"])

    assert pages == whole


def test_every_dossier_is_received_by_a_unit_in_force_that_day(
    shared_simulator: Simulator,
) -> None:
    table, tree = shared_simulator.table, shared_simulator.agencies
    merger = day_number(date(2025, 7, 1))
    after_merger = 0
    for dossier in range(len(table)):
        agency = tree.agencies[table.agency[dossier]]
        submitted = day_of(table.version_time(dossier, 1))
        assert agency.in_force_on(submitted), (table.codes[dossier], agency.code)
        if submitted >= merger:
            after_merger += 1
            assert agency.code.endswith(".H45")
    assert 0 < after_merger < len(table)
