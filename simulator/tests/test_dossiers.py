"""The simulated year looks like a province's: weekday rhythm, every channel and outcome, and
the same province for the same seed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cchc_simulator.simulator import Simulator
from cchc_simulator.truth import latest_records, snapshot

Records = list[dict[str, Any]]


def _latest(shared_feed: Records) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for record in shared_feed:
        latest[record["MaHoSo"]] = record  # versions come in order when no fault is on
    return list(latest.values())


def test_few_dossiers_are_submitted_on_weekends(shared_feed: Records) -> None:
    weekdays = Counter(
        datetime.strptime(r["NgayNopHoSo"], "%Y%m%d%H%M%S").weekday() for r in _latest(shared_feed)
    )

    weekend = weekdays[5] + weekdays[6]
    assert 0 < weekend < 0.06 * sum(weekdays.values())


def test_weekend_submissions_are_online(shared_feed: Records) -> None:
    for record in _latest(shared_feed):
        submitted = datetime.strptime(record["NgayNopHoSo"], "%Y%m%d%H%M%S")
        if submitted.weekday() >= 5:
            assert record["KenhThucHien"] == "2"


def test_every_channel_status_and_outcome_occurs(shared_feed: Records) -> None:
    latest = _latest(shared_feed)

    assert {r["KenhThucHien"] for r in latest} == {"1", "2", "3"}
    statuses = Counter(r["TrangThaiHoSo"] for r in latest)
    assert {"3", "7", "9", "10"} <= statuses.keys()
    assert statuses["10"] > statuses["9"] > statuses["3"]
    rounds = Counter(len(r["DanhSachHoSoBoSung"]) for r in latest)
    assert rounds[0] > rounds[1] > rounds[2] > 0
    late = [
        r
        for r in latest
        if r["NgayKetThucXuLy"]
        and r["NgayKetThucXuLy"] > r["NgayHenTra"]
        and not r["DanhSachHoSoBoSung"]
    ]
    assert 0 < len(late) < 0.15 * len(latest)
    assert {r["DanhGia"]["MucDo"] for r in latest if r["DanhGia"]} == {1, 2, 3, 4, 5}
    assert any(r["DuocThanhToanTrucTuyen"] in ("1", "2") for r in latest)
    assert any(r["DaDongBoDVCQG"] == "1" for r in latest)
    assert any(r["ChungThucDienTu"] == "1" for r in latest)


def test_dates_follow_the_dossier_life(shared_feed: Records) -> None:
    for record in _latest(shared_feed):
        assert record["NgayNopHoSo"] <= record["NgayCapNhat"]
        if record["NgayTiepNhan"]:
            assert record["NgayNopHoSo"] <= record["NgayTiepNhan"] < record["NgayHenTra"]
        if record["TrangThaiHoSo"] == "3":
            assert record["NgayTuChoi"] and not record["NgayTiepNhan"]
        if record["TrangThaiHoSo"] in ("9", "10"):
            assert record["NgayKetThucXuLy"] and record["DanhSachGiayToKetQua"]
        if record["TrangThaiHoSo"] == "10":
            assert record["NgayKetThucXuLy"] <= record["NgayTra"]
        for supplement in record["DanhSachHoSoBoSung"]:
            if supplement["NgayTiepNhanBoSung"]:
                assert supplement["NgayBoSung"] < supplement["NgayTiepNhanBoSung"]
                assert supplement["NgayHenTraTruoc"] < supplement["NgayHenTraMoi"]


def test_fees_are_the_procedures_and_come_with_online_payment(shared_feed: Records) -> None:
    latest = _latest(shared_feed)
    with_fees = [r for r in latest if r["DanhSachLePhi"]]

    assert with_fees
    assert all(fee["Gia"] > 0 for r in with_fees for fee in r["DanhSachLePhi"])
    assert all(r["DuocThanhToanTrucTuyen"] == "0" for r in latest if r["KenhThucHien"] != "2")


def test_same_seed_same_province_other_seed_other_province(
    make_simulator: Callable[..., Simulator],
) -> None:
    first, again, other = (make_simulator(300), make_simulator(300), make_simulator(300, seed=5))

    def everything(simulator: Simulator) -> list[dict[str, Any]]:
        return simulator.read_page(0, None, 1000).records + list(
            latest_records(simulator, snapshot(simulator))
        )

    assert everything(first) == everything(again)
    assert everything(first) != everything(other)


DIGEST_SCRIPT = """
import hashlib, orjson
from cchc_simulator.faults import FaultSettings
from cchc_simulator.simulator import SimulationConfig, Simulator
from cchc_simulator.timeutil import parse_end
from cchc_simulator.truth import truth_lines
end = parse_end("20251031")
faults = FaultSettings(malformed_rate=0.05, nfd_rate=0.1, duplicate_rate=0.1)
simulator = Simulator(SimulationConfig(4212, 200, end - 365 * 86400 + 1, end), faults)
digest = hashlib.sha256(orjson.dumps(simulator.read_page(0, None, 1000).records))
for chunk in truth_lines(simulator):
    digest.update(chunk)
print(digest.hexdigest())
"""


def test_same_province_in_another_process_with_other_string_hashing() -> None:
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", DIGEST_SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            stdout=subprocess.PIPE,
            text=True,
        )
        for hash_seed in ("1", "2")
    ]

    digests = [run.communicate(timeout=120)[0].strip() for run in runs]

    assert all(run.returncode == 0 for run in runs)
    assert len(digests[0]) == 64 and digests[0] == digests[1]
