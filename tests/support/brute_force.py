"""Indicators of shared/domain/indicators.md computed the slow, obvious way, straight from the
one-stop records (the simulator's ground truth, ``GET /_sim/truth``) and the procedure catalogue.

Written from the definitions alone, without the services' code, so that a test can hold the
indicators service's figures against it. Records are those of the truth: clean, NFC, dates as
``yyyyMMddHHmmss`` local time, flags as strings.

"At instant T" is read as T arrives: what is stamped strictly before T has happened (a dossier
finished at 00:00 on 1 April finished in April, so it is not also open at March's end); the
in-time test stays literal, ``T ≤ due_at``. Where indicators.md is silent (a finished dossier
without ``NgayKetThucXuLy``, one without ``NgayHenTra``, a finish stamped before the receipt),
the dossier is counted as such and left out, so a test can check that no figure rests on a
choice the definitions do not make.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

VN = timezone(timedelta(hours=7))
NOT_RECEIVED = {"1", "3"}  # mới đăng ký, không được tiếp nhận
WITHDRAWN = "7"  # công dân rút
FINISHED = {"8", "9", "10"}  # dừng xử lý, đã xử lý xong, đã trả kết quả

Record = Mapping[str, Any]


def instant(value: str | None) -> datetime | None:
    """A truth date (``yyyyMMddHHmmss``, local time) as an aware instant."""
    if not value:
        return None
    v = str(value)
    assert len(v) == 14 and v.isdigit(), v  # the truth's one clean form
    year, month, day = int(v[0:4]), int(v[4:6]), int(v[6:8])
    return datetime(year, month, day, int(v[8:10]), int(v[10:12]), int(v[12:14]), tzinfo=VN)


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=VN)


@dataclass(frozen=True)
class Window:
    """Local days ``[first, after)``; ``end`` is the instant T at which the period ends."""

    first: date
    after: date

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return local_midnight(self.after)

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


@dataclass(frozen=True)
class Dossier:
    """What the definitions read from one record."""

    received_at: datetime
    withdrawn: bool
    finished: bool
    finished_at: datetime | None
    due_at: datetime | None
    rounds: int
    requested_at: datetime | None  # of the only supplement round
    completed_at: datetime | None
    channel: str
    has_fee: bool
    paid_online: bool
    digitized: bool
    e_certified: bool
    synced: bool
    rating: int | None
    rated_at: datetime | None


def read(record: Record) -> Dossier | None:
    """The dossier's facts, or None when it was never received (it then counts nowhere)."""
    status = str(record["TrangThaiHoSo"])
    received_at = instant(record.get("NgayTiepNhan"))
    if received_at is None or status in NOT_RECEIVED:
        return None
    rounds = record.get("DanhSachHoSoBoSung") or []
    only = rounds[0] if len(rounds) == 1 else {}
    requested, completed = instant(only.get("NgayBoSung")), instant(only.get("NgayTiepNhanBoSung"))
    due = instant(record.get("NgayHenTra"))
    if due is not None and requested is not None and completed is not None:
        due += completed - requested  # one round, answered: the citizen's time does not count
    rating = record.get("DanhGia") or {}
    return Dossier(
        received_at=received_at,
        withdrawn=status == WITHDRAWN,
        finished=status in FINISHED,
        finished_at=instant(record.get("NgayKetThucXuLy")) if status in FINISHED else None,
        due_at=due,
        rounds=len(rounds),
        requested_at=requested,
        completed_at=completed,
        channel={"2": "online", "3": "postal"}.get(str(record.get("KenhThucHien") or "1"), "in"),
        has_fee=any(float(fee.get("Gia") or 0) > 0 for fee in record.get("DanhSachLePhi") or []),
        paid_online=str(record.get("DuocThanhToanTrucTuyen")) in {"1", "2"},
        digitized=str(record.get("HoSoCoThanhPhanSoHoa")) == "1"
        or any(str(doc.get("DuocSoHoa")) == "1" for doc in record.get("TaiLieuNop") or []),
        e_certified=str(record.get("ChungThucDienTu")) == "1",
        synced=str(record.get("DaDongBoDVCQG")) == "1",
        rating=int(rating["MucDo"]) if rating.get("MucDo") is not None else None,
        rated_at=instant(rating.get("NgayDanhGia")),
    )


def in_time_while_open(d: Dossier, at: datetime) -> bool:
    """An open dossier at T: in time when T ≤ due_at, or while its only round waits."""
    if d.rounds >= 2:
        return False  # two or more rounds: overdue while open (the portal's rule)
    waiting = (
        d.rounds == 1
        and d.requested_at is not None
        and d.requested_at < at
        and (d.completed_at is None or d.completed_at >= at)
    )
    return waiting or (d.due_at is not None and at <= d.due_at)


def in_time_when_finished(d: Dossier) -> bool:
    """Early or on time (not late)."""
    if d.rounds >= 2:
        return False
    assert d.finished_at is not None and d.due_at is not None
    return d.finished_at <= d.due_at  # early implies this too (an earlier local date)


@dataclass
class Tally:
    """Numerators and denominators of the dossier indicators over one window."""

    parts: dict[str, list[float]] = field(default_factory=dict)
    unspecified: Counter[str] = field(default_factory=Counter)

    def add(self, code: str, numerator: float, denominator: float = 0) -> None:
        part = self.parts.setdefault(code, [0, 0])
        part[0] += numerator
        part[1] += denominator

    def figure(self, code: str) -> tuple[float, float]:
        numerator, denominator = self.parts.get(code, [0, 0])
        return numerator, denominator


RECEIPT_RATES: dict[str, Callable[[Dossier], bool]] = {
    "DOSSIER_ONLINE_RATE": lambda d: d.channel == "online",
    "DOSSIER_POSTAL_RATE": lambda d: d.channel == "postal",
    "DOSSIER_DIGITIZED_RATE": lambda d: d.digitized,
    "DOSSIER_E_CERTIFIED_RATE": lambda d: d.e_certified,
    "DOSSIER_SYNCED_RATE": lambda d: d.synced,
}


def received_dossiers(records: Iterable[Record]) -> tuple[list[Dossier], Counter[str]]:
    """The received dossiers among ``records``, and the count of those left out because
    indicators.md does not say how they count."""
    kept: list[Dossier] = []
    unspecified: Counter[str] = Counter()
    for record in records:
        d = read(record)
        if d is None:
            continue
        if d.finished and d.finished_at is None:
            unspecified["finished without NgayKetThucXuLy"] += 1
        elif d.finished_at is not None and d.finished_at < d.received_at:
            unspecified["finished before received"] += 1
        else:
            kept.append(d)
    return kept, unspecified


def dossier_tally(dossiers: Iterable[Dossier], window: Window) -> Tally:
    """Every dossier indicator of indicators.md over ``window``, province-wide."""
    tally = Tally()
    for d in dossiers:
        _receipts(tally, d, window)
        _ratings(tally, d, window)
        if not d.withdrawn:
            _timeliness(tally, d, window)
    return tally


def _receipts(tally: Tally, d: Dossier, window: Window) -> None:
    if not window.holds(d.received_at):
        return
    tally.add("DOSSIER_RECEIVED", 1)
    for code, flag in RECEIPT_RATES.items():
        tally.add(code, int(flag(d)), 1)
    if d.has_fee:
        tally.add("DOSSIER_ONLINE_PAYMENT_RATE", int(d.paid_online), 1)


def _ratings(tally: Tally, d: Dossier, window: Window) -> None:
    if d.rating is not None and window.holds(d.rated_at):
        tally.add("DOSSIER_SATISFACTION_RATE", int(d.rating >= 4), 1)


def _timeliness(tally: Tally, d: Dossier, window: Window) -> None:
    """On-time rate, processing time and overdue open dossiers (withdrawn ones left out)."""
    at = window.end
    if d.received_at >= at or (d.finished_at is not None and d.finished_at < window.start):
        return  # received after the period, or finished before it
    if window.holds(d.finished_at):
        assert d.finished_at is not None
        days = (d.finished_at - d.received_at).total_seconds() / 86_400
        tally.add("DOSSIER_AVG_PROCESSING_DAYS", days, 1)
        if d.due_at is None and d.rounds < 2:
            tally.unspecified["finished without NgayHenTra"] += 1
            return
        tally.add("DOSSIER_ON_TIME_RATE", int(in_time_when_finished(d)), 1)
    else:  # not finished in the period nor before it: open at the period's end
        if d.due_at is None and d.rounds < 2:
            tally.unspecified["open without NgayHenTra"] += 1
            return
        in_time = in_time_while_open(d, at)
        tally.add("DOSSIER_ON_TIME_RATE", int(in_time), 1)
        tally.add("DOSSIER_OVERDUE_OPEN", int(not in_time))


def catalogue_parts(procedures: Iterable[Record], day: date) -> dict[str, tuple[int, int]]:
    """The catalogue indicators over the procedures in force on ``day``."""
    counts: Counter[str] = Counter()
    for p in procedures:
        valid_from, valid_to = p.get("HieuLucTu"), p.get("HieuLucDen")
        if (valid_from and _day(valid_from) > day) or (valid_to and _day(valid_to) < day):
            continue
        has_fee = str(p.get("CoPhiLePhi")) == "1"
        counts["all"] += 1
        counts["published"] += str(p.get("CongKhai")) == "1"
        counts["has_fee"] += has_fee
        counts["has_fee_online"] += has_fee and str(p.get("ThanhToanTrucTuyen")) == "1"
    return {
        "CATALOG_PROCEDURES": (counts["all"], 0),
        "CATALOG_PUBLISHED_RATE": (counts["published"], counts["all"]),
        "CATALOG_FEE_ONLINE_PAYMENT_RATE": (counts["has_fee_online"], counts["has_fee"]),
    }


def _day(value: str) -> date:
    v = str(value)
    return date(int(v[0:4]), int(v[4:6]), int(v[6:8]))


def percent(numerator: float, denominator: float) -> float | None:
    """A rate as indicators.md defines it: no value on a zero denominator."""
    return None if denominator == 0 else 100 * numerator / denominator
