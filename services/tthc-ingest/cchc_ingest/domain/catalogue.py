"""The procedure catalogue (``LayDanhSachTTHC``) and the agencies (``LayDanhMucCoQuan``).

Both are small and change rarely; ingest keeps the latest content of each record with a content
hash, and a record's ``version`` moves only when that hash changes, so ``procedure.changed`` and
``agency.changed`` are published once per real change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal, TypedDict

import orjson

from cchc_ingest.domain import values
from cchc_ingest.domain.dossier import RecordRejected
from cchc_ingest.domain.instants import BadInstant, parse_day
from cchc_ingest.domain.values import BadValue

Level = Literal["province", "district", "commune"]
AgencyLevel = Literal["province", "department", "district", "commune"]
OnlineLevel = Literal["full", "partial", "none"]

_PROCEDURE_LEVELS: dict[str, Level] = {"TINH": "province", "HUYEN": "district", "XA": "commune"}
_AGENCY_LEVELS: dict[str, AgencyLevel] = {
    "TINH": "province",
    "SO": "department",
    "HUYEN": "district",
    "XA": "commune",
}
# MucDo: today's names, or the legacy 2/3/4 (4 = toàn trình, 3 = một phần, 2 = thông tin).
_ONLINE_LEVELS: dict[str, tuple[OnlineLevel, int | None]] = {
    "TOAN_TRINH": ("full", None),
    "MOT_PHAN": ("partial", None),
    "THONG_TIN": ("none", None),
    "4": ("full", 4),
    "3": ("partial", 3),
    "2": ("none", 2),
}


class Procedure(TypedDict):
    """The payload of ``procedure.changed`` without ``version``."""

    code: str
    name: str | None
    field_code: str | None
    field_name: str | None
    levels: list[Level]
    online_level: OnlineLevel
    legacy_level: int | None
    full_online_eligible: bool
    on_national_portal: bool
    has_fee: bool
    online_payment: bool
    postal: bool
    published: bool
    processing_days: float | None
    valid_from: str | None
    valid_to: str | None


class Agency(TypedDict):
    """The payload of ``agency.changed`` without ``version``."""

    code: str
    name: str | None
    level: AgencyLevel
    parent_code: str | None
    valid_from: str | None
    valid_to: str | None
    successor_code: str | None


def content_hash(content: Mapping[str, Any]) -> str:
    """A stable digest of a record's content (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def parse_procedure(raw: object) -> Procedure:
    record = _mapping(raw)
    code = _required(record, "MaTTHC")
    try:
        online_level, legacy_level = _online_level(record.get("MucDo"))
        return {
            "code": code,
            "name": _text(record, "TenTTHC"),
            "field_code": _text(record, "MaLinhVuc"),
            "field_name": _text(record, "TenLinhVuc"),
            "levels": _levels(record.get("CapThucHien")),
            "online_level": online_level,
            "legacy_level": legacy_level,
            "full_online_eligible": _flag(record, "DuDieuKienToanTrinh"),
            "on_national_portal": _flag(record, "TichHopDVCQG"),
            "has_fee": _flag(record, "CoPhiLePhi"),
            "online_payment": _flag(record, "ThanhToanTrucTuyen"),
            "postal": _flag(record, "BuuChinhCongIch"),
            "published": _flag(record, "CongKhai"),
            "processing_days": _days(record, "ThoiHanGiaiQuyet"),
            "valid_from": _day(record, "HieuLucTu"),
            "valid_to": _day(record, "HieuLucDen"),
        }
    except RecordRejected as exc:
        exc.code = code
        raise


def parse_agency(raw: object) -> Agency:
    record = _mapping(raw)
    code = _required(record, "MaDinhDanh")
    try:
        cap = _text(record, "Cap")
        level = _AGENCY_LEVELS.get((cap or "").upper())
        if level is None:
            raise RecordRejected(f"Cap: unknown level: {record.get('Cap')!r}")
        return {
            "code": code,
            "name": _text(record, "TenCoQuan"),
            "level": level,
            "parent_code": _text(record, "MaCoQuanCha"),
            "valid_from": _day(record, "HieuLucTu"),
            "valid_to": _day(record, "HieuLucDen"),
            "successor_code": _text(record, "MaCoQuanKeThua"),
        }
    except RecordRejected as exc:
        exc.code = code
        raise


def _mapping(raw: object) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise RecordRejected(f"record is not an object: {type(raw).__name__}")
    return raw


def _text(record: Mapping[str, Any], name: str) -> str | None:
    try:
        result = values.text(record.get(name))
        return None if result is None else values.storable(result)  # stored content is JSONB
    except BadValue as exc:
        raise RecordRejected(f"{name}: {exc}") from None


def _required(record: Mapping[str, Any], name: str) -> str:
    result = _text(record, name)
    if result is None:
        raise RecordRejected(f"{name}: missing")
    return result


def _flag(record: Mapping[str, Any], name: str) -> bool:
    try:
        return values.flag(record.get(name))
    except BadValue as exc:
        raise RecordRejected(f"{name}: {exc}") from None


def _day(record: Mapping[str, Any], name: str) -> str | None:
    try:
        day = parse_day(record.get(name))
    except BadInstant as exc:
        raise RecordRejected(f"{name}: {exc}") from None
    return day.isoformat() if day else None


def _days(record: Mapping[str, Any], name: str) -> float | None:
    value = record.get(name)
    if value is None or value == "":
        return None
    try:
        days = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        days = None
    if days is None or days < 0 or days != days or days == float("inf"):
        raise RecordRejected(f"{name}: not a number of days: {value!r}")
    return days


def _online_level(value: object) -> tuple[OnlineLevel, int | None]:
    key = str(value).strip().upper() if isinstance(value, str | int) else None
    found = _ONLINE_LEVELS.get(key) if key is not None else None
    if found is None:
        raise RecordRejected(f"MucDo: unknown online level: {value!r}")
    return found


def _levels(value: object) -> list[Level]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise RecordRejected(f"CapThucHien: not a list of levels: {value!r}")
    levels: list[Level] = []
    for item in items:
        level = _PROCEDURE_LEVELS.get(item.strip().upper()) if isinstance(item, str) else None
        if level is None:
            raise RecordRejected(f"CapThucHien: unknown level: {item!r}")
        if level not in levels:
            levels.append(level)
    return levels
