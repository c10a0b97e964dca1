"""A reference reader of the change feed: what a correct ingest does with each record.

It accepts every variation the contract allows (ISO 8601 dates with an offset, numeric flags,
empty strings, NFD text, a missing in-person channel), rejects what it cannot read (no
``MaHoSo``, an unparseable date, an unknown status), and keeps the highest ``PhienBan`` of each
dossier. Tests compare its result with the ground truth; an ingest's own tests can do the same.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from cchc_simulator.timeutil import format_datetime, parse_datetime

Record = dict[str, Any]

STATUSES = frozenset(str(n) for n in range(1, 11))
DATE_FIELDS = (
    "NgayCapNhat",
    "NgayNopHoSo",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTra",
    "NgayTuChoi",
)
FLAG_FIELDS = (
    "HinhThuc",
    "DuocThanhToanTrucTuyen",
    "HoSoCoThanhPhanSoHoa",
    "TaiKhoanDuocXacThucVoiVNeID",
    "ChungThucDienTu",
    "DaDongBoDVCQG",
)
DOCUMENT_FLAGS = ("DuocSoHoa", "DuocTaiSuDung", "DuocLayTuKhoDMQG")
_VIETNAM = timezone(timedelta(hours=7))


class Unreadable(ValueError):
    """The record cannot be read; the message says why."""


def read_datetime(value: Any) -> str | None:
    """A contract datetime as ``yyyyMMddHHmmss`` local time; None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Unreadable(f"bad date {value!r}")
    try:
        if "T" in value:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                raise Unreadable(f"bad date {value!r}")
            return moment.astimezone(_VIETNAM).strftime("%Y%m%d%H%M%S")
        return format_datetime(parse_datetime(value))
    except ValueError as error:
        raise Unreadable(f"bad date {value!r}") from error


def read_record(raw: Record) -> Record:
    """The record in canonical form (NFC, yyyyMMddHHmmss, string flags); Unreadable if it is not
    a record we can keep."""
    record: Record = _nfc(raw)
    if not record.get("MaHoSo"):
        raise Unreadable("missing MaHoSo")
    if str(record.get("TrangThaiHoSo")) not in STATUSES:
        raise Unreadable(f"unknown status {record.get('TrangThaiHoSo')!r}")
    record["TrangThaiHoSo"] = str(record["TrangThaiHoSo"])
    for key in DATE_FIELDS:
        record[key] = read_datetime(record.get(key))
    record["DanhSachHoSoBoSung"] = [
        {key: read_datetime(value) for key, value in item.items()}
        for item in record.get("DanhSachHoSoBoSung") or []
    ]
    if record.get("DanhGia"):
        rating = record["DanhGia"]
        record["DanhGia"] = {**rating, "NgayDanhGia": read_datetime(rating.get("NgayDanhGia"))}
    for key in FLAG_FIELDS:
        record[key] = _flag(record.get(key))
    record["TaiLieuNop"] = [
        {**item, **{flag: _flag(item.get(flag)) for flag in DOCUMENT_FLAGS}}
        for item in record.get("TaiLieuNop") or []
    ]
    record["KenhThucHien"] = str(record.get("KenhThucHien") or "1")  # missing: in person
    record["Email"] = record.get("Email") or None
    return record


def latest_by_dossier(raws: Iterable[Record]) -> tuple[dict[str, Record], list[tuple[Record, str]]]:
    """Read a stream of records: the highest version of each dossier, and the unreadable ones
    with the reason."""
    latest: dict[str, Record] = {}
    rejected: list[tuple[Record, str]] = []
    for raw in raws:
        try:
            record = read_record(raw)
        except Unreadable as error:
            rejected.append((raw, str(error)))
            continue
        kept = latest.get(record["MaHoSo"])
        if kept is None or record["PhienBan"] > kept["PhienBan"]:
            latest[record["MaHoSo"]] = record
    return latest, rejected


def _flag(value: Any) -> str | None:
    return None if value is None or value == "" else str(int(value))


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(item) for item in value]
    if isinstance(value, dict):
        return {key: _nfc(item) for key, item in value.items()}
    return value
