"""The procedure catalogue has exactly Kon Tum's reported make-up, whatever the seed."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from cchc_simulator.catalogue import build_catalogue

MUC_DO_LEVEL = {"TOAN_TRINH": 4, "MOT_PHAN": 3, "THONG_TIN": 2, 4: 4, 3: 3, 2: 2}


async def _all_procedures(client: httpx.AsyncClient, size: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = await client.get("/motcua/1.0/thutuc", params={"trang": page, "soLuong": size})
        assert answer.status_code == 200
        body = answer.json()
        assert body["tongSo"] == 1904
        if not body["data"]:
            return records
        records.extend(body["data"])
        page += 1


async def test_catalogue_make_up_is_exact(client: httpx.AsyncClient) -> None:
    procedures = await _all_procedures(client, size=500)

    assert len(procedures) == 1904
    assert len({p["MaTTHC"] for p in procedures}) == 1904
    levels = Counter(tuple(p["CapThucHien"]) for p in procedures)
    assert levels == {("TINH",): 1545, ("HUYEN",): 237, ("XA",): 102, ("TINH", "HUYEN", "XA"): 20}
    assert Counter(MUC_DO_LEVEL[p["MucDo"]] for p in procedures) == {2: 972, 3: 298, 4: 634}
    assert sum(p["BuuChinhCongIch"] == "1" for p in procedures) == 1344


async def test_online_level_comes_both_as_legacy_numbers_and_as_names(
    client: httpx.AsyncClient,
) -> None:
    procedures = await _all_procedures(client, size=1000)

    forms = Counter(type(p["MucDo"]).__name__ for p in procedures)
    assert forms["int"] > 100 and forms["str"] > 100
    assert {p["MucDo"] for p in procedures} == set(MUC_DO_LEVEL)


async def test_procedures_carry_fields_flags_and_times(client: httpx.AsyncClient) -> None:
    procedures = await _all_procedures(client, size=1000)

    fields = {p["MaLinhVuc"]: p["TenLinhVuc"] for p in procedures}
    assert len(fields) >= 20
    assert fields["DAT_DAI"] == "Đất đai"
    assert fields["XAY_DUNG"] == "Xây dựng"
    assert fields["HO_TICH"] == "Hộ tịch"
    flags = (
        "DuDieuKienToanTrinh",
        "TichHopDVCQG",
        "CoPhiLePhi",
        "ThanhToanTrucTuyen",
        "BuuChinhCongIch",
        "CongKhai",
    )
    for procedure in procedures:
        assert all(procedure[flag] in ("0", "1") for flag in flags)
        assert procedure["ThoiHanGiaiQuyet"] >= 1
        assert len(procedure["HieuLucTu"]) == 8 and procedure["HieuLucDen"] is None
        if procedure["ThanhToanTrucTuyen"] == "1":
            assert procedure["CoPhiLePhi"] == "1"
        if MUC_DO_LEVEL[procedure["MucDo"]] == 4:
            assert procedure["DuDieuKienToanTrinh"] == "1"
    assert 0 < sum(p["CoPhiLePhi"] == "1" for p in procedures) < 1904


def test_same_seed_same_catalogue_other_seed_other_catalogue() -> None:
    build_afresh = build_catalogue.__wrapped__  # past the cache
    first = [p.to_record() for p in build_afresh(7)]

    assert first == [p.to_record() for p in build_afresh(7)]
    assert first != [p.to_record() for p in build_afresh(8)]


@pytest.mark.parametrize("seed", [1, 99])
def test_make_up_holds_for_any_seed(seed: int) -> None:
    catalogue = build_catalogue(seed)

    assert Counter(p.levels for p in catalogue)[("XA",)] == 102
    assert Counter(p.online_level for p in catalogue) == {2: 972, 3: 298, 4: 634}
    assert sum(p.postal for p in catalogue) == 1344
