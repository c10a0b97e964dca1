"""Faults on demand: what a real one-stop system behind a real LGSP does to a reader.

Every per-record decision is a hash of the record's coordinates (dossier, version) or of its
position in the feed, never a draw from a shared stream: the same record is dirtied the same way
on every page, re-read and poll, and the ground truth can list exactly which records were
malformed. Per-request faults (429, 503, slowness) follow the request count, so a run is
reproducible for a given sequence of requests.

Two kinds of dirt differ in what the reader must do with them. Variations (NFD text, ISO 8601
dates, numeric flags, empty strings) are legal per the contract and must be accepted.
Malformations (missing ``MaHoSo``, an unparseable date, an unknown status) make a record
unreadable: the reader must quarantine it.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cchc_simulator.randomness import hash64, unit
from cchc_simulator.timeutil import format_iso, parse_datetime

Record = dict[str, Any]

_SALT_DUPLICATE = 21
_SALT_OUT_OF_ORDER = 22
_SALT_MALFORMED = 23
_SALT_NFD = 24
_SALT_ISO = 25
_SALT_NUMERIC = 26
_SALT_EMPTY = 27
_SALT_RATE_LIMIT = 28
_SALT_UNAVAILABLE = 29
_SALT_SLOW = 30

_TEXT_FIELDS = ("TenTTHC", "TenLinhVuc", "ChuHoSo", "TrichYeuHoSo")
_NESTED_TEXT = {
    "TaiLieuNop": "TenTepDinhKem",
    "DanhSachLePhi": "TenPhiLePhi",
    "DanhSachGiayToKetQua": "TenGiayTo",
}
_DATE_FIELDS = (
    "NgayCapNhat",
    "NgayNopHoSo",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTra",
    "NgayTuChoi",
)
_FLAG_FIELDS = (
    "HinhThuc",
    "DuocThanhToanTrucTuyen",
    "HoSoCoThanhPhanSoHoa",
    "TaiKhoanDuocXacThucVoiVNeID",
    "ChungThucDienTu",
    "DaDongBoDVCQG",
)
_DOCUMENT_FLAGS = ("DuocSoHoa", "DuocTaiSuDung", "DuocLayTuKhoDMQG")
_ABSENT_AS_EMPTY = (
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTra",
    "NgayTuChoi",
    "Email",
)
_BAD_DATES = ("20250230251000", "2025-13-01T08:00:00+07:00", "31/12/2025 08:00", "2025123108")
_UNKNOWN_STATUSES = ("0", "11", "99", "DANG_XU_LY")


class FaultSettings(BaseModel):
    """Rates are shares in [0, 1]; 0 turns a fault off. All off by default."""

    model_config = ConfigDict(extra="forbid")

    duplicate_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of a page's records sent again at the start of the next page.",
    )
    out_of_order_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of records (version 2 or later) followed by their previous version.",
    )
    malformed_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of dossier versions that are unreadable: missing MaHoSo, a bad date "
        "or an unknown status. The ground truth lists them.",
    )
    nfd_rate: float = Field(0.0, ge=0, le=1, description="Share of records in decomposed Unicode.")
    iso_dates_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of records whose dates are ISO 8601 with an offset (+07:00 or "
        "+00:00) instead of yyyyMMddHHmmss.",
    )
    numeric_flags_rate: float = Field(
        0.0, ge=0, le=1, description="Share of records whose 0/1/2 flags are numbers."
    )
    empty_strings_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of records with absent values as empty strings (and KenhThucHien "
        "left out for in-person dossiers).",
    )
    rate_limit_rate: float = Field(
        0.0, ge=0, le=1, description="Share of API requests answered 429."
    )
    unavailable_rate: float = Field(
        0.0, ge=0, le=1, description="Share of API requests answered 503."
    )
    retry_after_seconds: int | None = Field(
        1, ge=0, description="Retry-After on 429/503 answers (null: no header)."
    )
    slow_rate: float = Field(0.0, ge=0, le=1, description="Share of API requests answered slowly.")
    slow_seconds: float = Field(2.0, ge=0, le=120, description="Delay of a slow answer.")
    token_lifetime_seconds: float | None = Field(
        None, gt=0, description="Tokens die after this many seconds whatever expires_in announced."
    )


class FaultInjector:
    """Applies a FaultSettings to records, pages and requests, deterministically for a seed."""

    def __init__(self, seed: int, settings: FaultSettings | None = None) -> None:
        self.seed = seed
        self._requests = 0
        self.settings = settings or FaultSettings()

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: FaultSettings) -> None:
        self._settings = settings
        self._dirties_records = any(
            getattr(settings, name) > 0
            for name in (
                "nfd_rate",
                "iso_dates_rate",
                "numeric_flags_rate",
                "empty_strings_rate",
                "malformed_rate",
            )
        )

    # -- records ---------------------------------------------------------------------------------
    def malformation(self, dossier: int, version: int) -> str | None:
        """Why version ``version`` of ``dossier`` is unreadable, or None if it is fine."""
        rate = self.settings.malformed_rate
        if rate <= 0 or unit(self.seed, _SALT_MALFORMED, dossier, version) >= rate:
            return None
        choice = hash64(self.seed, _SALT_MALFORMED + 100, dossier, version)
        kind = choice % 3
        if kind == 0:
            return "missing MaHoSo"
        if kind == 1:
            return f"bad date NgayNopHoSo: {_BAD_DATES[choice // 3 % len(_BAD_DATES)]}"
        return f"unknown status TrangThaiHoSo: {_UNKNOWN_STATUSES[choice // 3 % 4]}"

    def latest_valid_version(self, dossier: int, released: int) -> int:
        """The highest released version that is not malformed (0 if none): what a correct
        reader keeps, since it must quarantine the malformed ones."""
        for version in range(released, 0, -1):
            if self.malformation(dossier, version) is None:
                return version
        return 0

    def dirty(self, record: Record, dossier: int, version: int) -> Record:
        """The record as served: legal variations, then (if chosen) a malformation."""
        if not self._dirties_records:
            return record
        settings = self.settings
        if self._chosen(settings.nfd_rate, _SALT_NFD, dossier, version):
            record = _to_nfd(record)
        if self._chosen(settings.iso_dates_rate, _SALT_ISO, dossier, version):
            as_utc = hash64(self.seed, _SALT_ISO + 100, dossier, version) % 2 == 1
            record = _to_iso_dates(record, as_utc=as_utc)
        if self._chosen(settings.numeric_flags_rate, _SALT_NUMERIC, dossier, version):
            record = _to_numeric_flags(record)
        if self._chosen(settings.empty_strings_rate, _SALT_EMPTY, dossier, version):
            record = _to_empty_strings(record)
        reason = self.malformation(dossier, version)
        if reason is not None:
            record = _malform(record, reason)
        return record

    def _chosen(self, rate: float, salt: int, first: int, second: int = 0) -> bool:
        return rate > 0 and unit(self.seed, salt, first, second) < rate

    # -- pages -----------------------------------------------------------------------------------
    def duplicated(self, position: int) -> bool:
        """Whether the record at feed ``position`` is sent again on the next page."""
        return self._chosen(self.settings.duplicate_rate, _SALT_DUPLICATE, position)

    def followed_by_older(self, position: int) -> bool:
        """Whether the record at feed ``position`` is followed by its previous version."""
        return self._chosen(self.settings.out_of_order_rate, _SALT_OUT_OF_ORDER, position)

    # -- requests --------------------------------------------------------------------------------
    def request_fault(self) -> tuple[int | None, float]:
        """For the next API request: an error status to answer (429/503) or None, and a delay."""
        settings = self.settings
        number = self._requests
        self._requests += 1
        delay = (
            settings.slow_seconds if self._chosen(settings.slow_rate, _SALT_SLOW, number) else 0.0
        )
        if self._chosen(settings.rate_limit_rate, _SALT_RATE_LIMIT, number):
            return 429, delay
        if self._chosen(settings.unavailable_rate, _SALT_UNAVAILABLE, number):
            return 503, delay
        return None, delay


def _to_nfd(record: Record) -> Record:
    out = dict(record)
    for key in _TEXT_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = unicodedata.normalize("NFD", out[key])
    for key, text_key in _NESTED_TEXT.items():
        out[key] = [
            {**item, text_key: unicodedata.normalize("NFD", item[text_key])} for item in out[key]
        ]
    return out


def _to_iso_dates(record: Record, *, as_utc: bool) -> Record:
    def iso(value: Any) -> Any:
        return format_iso(parse_datetime(value), as_utc=as_utc) if isinstance(value, str) else value

    out = dict(record)
    for key in _DATE_FIELDS:
        out[key] = iso(out[key])
    out["DanhSachHoSoBoSung"] = [
        {key: iso(value) for key, value in item.items()} for item in out["DanhSachHoSoBoSung"]
    ]
    if out["DanhGia"] is not None:
        out["DanhGia"] = {**out["DanhGia"], "NgayDanhGia": iso(out["DanhGia"]["NgayDanhGia"])}
    return out


def _to_numeric_flags(record: Record) -> Record:
    out = dict(record)
    for key in _FLAG_FIELDS:
        out[key] = int(out[key])
    out["TaiLieuNop"] = [
        {**item, **{flag: int(item[flag]) for flag in _DOCUMENT_FLAGS}}
        for item in out["TaiLieuNop"]
    ]
    return out


def _to_empty_strings(record: Record) -> Record:
    out = {key: value for key, value in record.items() if not _is_default_channel(key, value)}
    for key in _ABSENT_AS_EMPTY:
        if out[key] is None:
            out[key] = ""
    return out


def _is_default_channel(key: str, value: Any) -> bool:
    """An in-person KenhThucHien, which some systems leave out (missing means in person)."""
    return key == "KenhThucHien" and value in ("1", 1)


def _malform(record: Record, reason: str) -> Record:
    out = dict(record)
    if reason == "missing MaHoSo":
        del out["MaHoSo"]
    elif reason.startswith("bad date"):
        out["NgayNopHoSo"] = reason.rsplit(": ", 1)[1]
    else:
        out["TrangThaiHoSo"] = reason.rsplit(": ", 1)[1]
    return out
