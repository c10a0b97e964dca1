"""The change feed: ordered by (NgayCapNhat, MaHoSo), inclusive tuThoiDiem, opaque cursor,
every version exactly once when no fault is on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from cchc_simulator.simulator import Simulator

Records = list[dict[str, Any]]
FeedReader = Callable[..., Awaitable[Records]]
CHANGES = "/motcua/1.0/hoso/thaydoi"
CONTRACT_FIELDS = {
    "MaHoSo",
    "PhienBan",
    "NgayCapNhat",
    "MaTTHC",
    "TenTTHC",
    "MaLinhVuc",
    "TenLinhVuc",
    "MaDonVi",
    "KenhThucHien",
    "LoaiDoiTuong",
    "ChuHoSo",
    "SoGiayToChuHoSo",
    "SoDienThoai",
    "Email",
    "TrichYeuHoSo",
    "NgayNopHoSo",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTra",
    "NgayTuChoi",
    "TrangThaiHoSo",
    "HinhThuc",
    "DuocThanhToanTrucTuyen",
    "HoSoCoThanhPhanSoHoa",
    "TaiKhoanDuocXacThucVoiVNeID",
    "TaiLieuNop",
    "DanhSachLePhi",
    "DanhSachHoSoBoSung",
    "DanhSachGiayToKetQua",
    "ChungThucDienTu",
    "DaDongBoDVCQG",
    "DanhGia",
}


def _released_versions(simulator: Simulator) -> set[tuple[str, int]]:
    table = simulator.table
    return {(table.codes[d], v) for d in range(len(table)) for v in range(1, table.released[d] + 1)}


def test_feed_covers_every_version_exactly_once_in_order(
    shared_feed: Records, shared_simulator: Simulator
) -> None:
    keys = [(r["MaHoSo"], r["PhienBan"]) for r in shared_feed]

    assert len(keys) == len(set(keys))
    assert set(keys) == _released_versions(shared_simulator)
    order = [(r["NgayCapNhat"], r["MaHoSo"]) for r in shared_feed]
    assert order == sorted(order)


async def test_pages_of_any_size_read_the_same_feed(
    client: httpx.AsyncClient, read_feed: FeedReader, shared_feed: Records
) -> None:
    since = shared_feed[len(shared_feed) // 2]["NgayCapNhat"]

    records = await read_feed(client, size=337, since=since)

    assert records == [r for r in shared_feed if r["NgayCapNhat"] >= since]


def test_versions_of_a_dossier_are_consecutive_and_later_each_time(shared_feed: Records) -> None:
    by_dossier: dict[str, Records] = {}
    for record in shared_feed:
        by_dossier.setdefault(record["MaHoSo"], []).append(record)

    for versions in by_dossier.values():
        assert [v["PhienBan"] for v in versions] == list(range(1, len(versions) + 1))
        stamps = [v["NgayCapNhat"] for v in versions]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert all(set(v) == CONTRACT_FIELDS for v in versions)


async def test_since_is_inclusive(
    client: httpx.AsyncClient, read_feed: FeedReader, shared_feed: Records
) -> None:
    boundary = shared_feed[len(shared_feed) * 9 // 10]["NgayCapNhat"]

    records = await read_feed(client, since=boundary)

    assert records == [r for r in shared_feed if r["NgayCapNhat"] >= boundary]
    assert records[0]["NgayCapNhat"] == boundary


async def test_since_after_the_last_change_is_an_empty_last_page(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get(CHANGES, params={"tuThoiDiem": "20991231000000"})

    assert answer.json() == {"data": [], "conTroTiep": None, "conNua": False}


@pytest.mark.parametrize(
    "params",
    [
        {"soLuong": 1001},
        {"soLuong": 0},
        {"tuThoiDiem": "2025-01-01"},
        {"tuThoiDiem": "20251301000000"},
        {"conTro": "not-a-cursor"},
        {"conTro": "djE6MTA6MjA"},  # v1:10:20, a page starting after where the next begins
    ],
)
async def test_bad_queries_are_400(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    answer = await client.get(CHANGES, params=params)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


async def test_one_dossier_is_its_latest_version(
    client: httpx.AsyncClient, shared_simulator: Simulator
) -> None:
    table = shared_simulator.table
    dossier = max(range(len(table)), key=lambda d: table.released[d])
    code = table.codes[dossier]

    answer = await client.get(f"/motcua/1.0/hoso/{code}")

    assert answer.status_code == 200
    assert answer.json()["MaHoSo"] == code
    assert answer.json()["PhienBan"] == table.released[dossier]
    assert (await client.get("/motcua/1.0/hoso/000.00.01.H34-250101-99999")).status_code == 404
