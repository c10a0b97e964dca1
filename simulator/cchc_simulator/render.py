"""Turning a dossier version into the contract's record (``DongBoHoSoMC`` plus our four fields).

A record has a part that never changes across versions (procedure, agency, applicant,
documents, fees, flags), drawn from a per-dossier seed and cached, and a part replayed from the
dossier's events up to the version (dates, status, supplement rounds, results, sync, rating).
The renderer yields the *clean* record; faults.py dirties it when asked to.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from cchc_simulator.agencies import AgencyTree
from cchc_simulator.catalogue import Procedure
from cchc_simulator.dossiers import (
    CHANNEL_ONLINE,
    CHANNEL_POSTAL,
    STATUS_AFTER,
    DossierTable,
    Event,
)
from cchc_simulator.people import Applicant, applicant
from cchc_simulator.randomness import Stream, hash64, unit
from cchc_simulator.timeutil import format_datetime

Record = dict[str, Any]

_SALT_STATIC = 11
_SALT_RATING = 12
_SALT_APPLICANT = 13
# Distinct applicants by LoaiDoiTuong (organisations: per place).
_APPLICANT_POOL = {1: 40_000, 2: 6_000, 3: 4, 4: 4}
_BUSINESS_FIELDS = frozenset({"DAU_TU", "DANG_KY_KINH_DOANH", "KHU_KINH_TE", "CONG_THUONG"})
_RATING_CUMULATIVE = ((0.01, 1), (0.04, 2), (0.12, 3), (0.45, 4), (1.0, 5))
_FORMS = ("Đơn đề nghị (theo mẫu)", "Tờ khai (theo mẫu)")
_COMMON_DOCUMENTS = (
    "Bản sao Căn cước công dân",
    "Giấy ủy quyền",
    "Giấy tờ chứng minh nơi cư trú",
    "Văn bản xác nhận của cơ quan có thẩm quyền",
)
_FIELD_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "DAT_DAI": (
        "Giấy chứng nhận quyền sử dụng đất (bản gốc)",
        "Hợp đồng chuyển nhượng quyền sử dụng đất",
        "Trích lục bản đồ địa chính",
    ),
    "XAY_DUNG": ("Bản vẽ thiết kế xây dựng", "Giấy tờ chứng minh quyền sử dụng đất"),
    "HO_TICH": ("Giấy chứng sinh", "Giấy báo tử", "Giấy xác nhận tình trạng hôn nhân"),
    "CHUNG_THUC": ("Bản chính giấy tờ cần chứng thực", "Dự thảo hợp đồng, giao dịch"),
    "DANG_KY_KINH_DOANH": (
        "Điều lệ công ty",
        "Danh sách thành viên",
        "Giấy tờ pháp lý của người đại diện",
    ),
    "DAU_TU": ("Đề xuất dự án đầu tư", "Báo cáo năng lực tài chính của nhà đầu tư"),
}
_RESULT_URL = "https://dichvucong.kontum.gov.vn/ketqua/{code}.pdf"
# Plain ints for the replay loop: comparing with IntEnum members costs several times more.
_RECEIVE, _REFUSE, _ASK_SUPPLEMENT, _SUPPLEMENT_DONE = (
    int(e) for e in (Event.RECEIVE, Event.REFUSE, Event.ASK_SUPPLEMENT, Event.SUPPLEMENT_DONE)
)
_STOP, _FINISH, _RETURN, _RATE, _SYNC = (
    int(e) for e in (Event.STOP, Event.FINISH, Event.RETURN, Event.RATE, Event.SYNC)
)
_STATUS_AFTER = [STATUS_AFTER.get(kind) for kind in range(max(STATUS_AFTER) + 1)]


_INITIAL_STATE: Record = {
    "NgayNopHoSo": None,
    "NgayTiepNhan": None,
    "NgayHenTra": None,
    "NgayKetThucXuLy": None,
    "NgayTra": None,
    "NgayTuChoi": None,
    "TrangThaiHoSo": "1",
    "DanhSachHoSoBoSung": [],
    "DanhSachGiayToKetQua": [],
    "DaDongBoDVCQG": "0",
    "DanhGia": None,
}


class _Replay:
    """A dossier's record as of ``version``, advanced one event at a time.

    Values in ``record`` are replaced, never mutated in place, so the records already handed out
    (which share them) keep the values of their own version.
    """

    __slots__ = ("due", "record", "rounds", "version")

    def __init__(self, static: Record, due: int) -> None:
        self.record: Record = {**static, **_INITIAL_STATE}
        self.version = 0
        self.due = due
        self.rounds: list[list[int]] = []  # [asked, answered, due before, due after] (0: not yet)


class DossierRenderer:
    """Clean records of dossier versions.

    The feed reads a dossier's versions in order, days or weeks apart, so the renderer keeps a
    replay of the last dossiers it met (first in, first out): the next version then costs one
    event, and the static part (applicant, documents...) is drawn once per dossier.
    """

    def __init__(
        self,
        table: DossierTable,
        catalogue: Sequence[Procedure],
        agencies: AgencyTree,
        seed: int,
        cache_size: int = 1 << 16,
    ) -> None:
        self.table = table
        self.catalogue = catalogue
        self.agencies = agencies
        self.seed = seed
        self._cache_size = cache_size
        self._replays: dict[int, _Replay] = {}
        self._applicants: dict[int, Applicant] = {}
        self._procedure_fields: list[Record] = [
            {
                "MaTTHC": p.code,
                "TenTTHC": p.name,
                "MaLinhVuc": p.field.code,
                "TenLinhVuc": p.field.name,
                "TrichYeuHoSo": p.name,
            }
            for p in catalogue
        ]
        # Shared by every dossier of a procedure; nothing downstream mutates them.
        self._fees: list[list[Record]] = [
            [
                {
                    "TenPhiLePhi": f.name,
                    "MaPhiLePhi": f.code,
                    "Gia": f.amount,
                    "LoaiPhiLePhi": f.kind,
                }
                for f in p.fees
            ]
            for p in catalogue
        ]

    def render(self, dossier: int, version: int) -> Record:
        """The record of ``version`` (1-based) of ``dossier``, as its system wrote it."""
        table = self.table
        replay = self._replay_for(dossier, version)
        self._advance(replay, dossier, version)
        record: Record = {
            "MaHoSo": table.codes[dossier],
            "PhienBan": version,
            "NgayCapNhat": format_datetime(table.version_time(dossier, version)),
        }
        record.update(replay.record)
        return record

    def rating(self, dossier: int) -> int:
        draw = unit(self.seed, _SALT_RATING, dossier)
        return next(level for upper, level in _RATING_CUMULATIVE if draw < upper)

    def _replay_for(self, dossier: int, version: int) -> _Replay:
        """The cached replay, or a fresh one: cached if the dossier is new to the cache, kept
        aside if the cached one is already past ``version`` (an older version re-read)."""
        cached = self._replays.get(dossier)
        if cached is not None and cached.version <= version:
            return cached
        static = self._static_part(dossier) if cached is None else cached.record
        replay = _Replay(static, self.table.due[dossier])
        if cached is None:
            if len(self._replays) >= self._cache_size:
                for oldest in list(itertools.islice(self._replays, self._cache_size // 4)):
                    del self._replays[oldest]
            self._replays[dossier] = replay
        return replay

    def _advance(self, replay: _Replay, dossier: int, version: int) -> None:
        """Apply the events after ``replay.version`` up to ``version``."""
        table = self.table
        kinds, times = table.event_kind, table.event_time
        first = table.first_event[dossier]
        record = replay.record
        for index in range(first + replay.version, first + version):
            kind, at = kinds[index], times[index]
            status = _STATUS_AFTER[kind]
            if status is not None:
                record["TrangThaiHoSo"] = status
            if record["NgayNopHoSo"] is None:
                record["NgayNopHoSo"] = format_datetime(at)
            if kind == _RECEIVE:
                replay.due = table.due[dossier]  # the live producer may have moved it
                record["NgayTiepNhan"] = format_datetime(at)
                record["NgayHenTra"] = format_datetime(replay.due)
            elif kind == _SYNC:
                record["DaDongBoDVCQG"] = "1"
            elif kind == _REFUSE:
                record["NgayTuChoi"] = format_datetime(at)
            elif kind in (_ASK_SUPPLEMENT, _SUPPLEMENT_DONE):
                _supplement(replay, kind, at)
            elif kind in (_FINISH, _STOP):
                record["NgayKetThucXuLy"] = format_datetime(at)
                if kind == _FINISH:
                    record["DanhSachGiayToKetQua"] = [self._result(dossier)]
            elif kind == _RETURN:
                record["NgayTra"] = format_datetime(at)
            elif kind == _RATE:
                record["DanhGia"] = {
                    "MucDo": self.rating(dossier),
                    "NgayDanhGia": format_datetime(at),
                }
        replay.version = version

    def _result(self, dossier: int) -> Record:
        code = self.table.codes[dossier]
        procedure = self.catalogue[self.table.procedure[dossier]]
        return {
            "TenGiayTo": procedure.field.result,
            "MaGiayToKetQua": f"KQ.{code}",
            "DuongDanTepTinKetQua": _RESULT_URL.format(code=code),
        }

    def _static_part(self, dossier: int) -> Record:
        """What stays the same in every version of a dossier, drawn from a per-dossier seed."""
        table = self.table
        procedure_index = table.procedure[dossier]
        procedure = self.catalogue[procedure_index]
        agency = self.agencies.agencies[table.agency[dossier]]
        channel = table.channel[dossier]
        online = channel == CHANNEL_ONLINE
        draw = Stream(hash64(self.seed, _SALT_STATIC, dossier))
        subject = _subject(draw, procedure.field.code)
        person = self._applicant(draw, subject, table.agency[dossier])
        digitized = draw.random() < (0.85 if online else 0.45)
        fees = self._fees[procedure_index]
        record = dict(self._procedure_fields[procedure_index])
        record.update(
            MaDonVi=agency.code,
            KenhThucHien=str(channel),
            LoaiDoiTuong=str(subject),
            ChuHoSo=person.name,
            SoGiayToChuHoSo=person.id_number,
            SoDienThoai=person.phone,
            Email=person.email,
            HinhThuc="1" if channel == CHANNEL_POSTAL or draw.random() < 0.04 else "0",
            DuocThanhToanTrucTuyen=_paid_online(draw, procedure, online),
            HoSoCoThanhPhanSoHoa="1" if digitized else "0",
            TaiKhoanDuocXacThucVoiVNeID="1" if draw.random() < (0.75 if online else 0.15) else "0",
            TaiLieuNop=_documents(draw, procedure, digitized),
            DanhSachLePhi=[] if draw.random() < 0.04 else fees,  # some are exempted (miễn, giảm)
            ChungThucDienTu="1"
            if procedure.field.code == "CHUNG_THUC" and draw.random() < 0.35
            else "0",
        )
        return record

    def _applicant(self, draw: Stream, subject: int, agency: int) -> Applicant:
        """One of a bounded pool of applicants: people file several dossiers a year, and reusing
        them keeps the first rendering of a dossier cheap. Organisations belong to a place."""
        local = agency if subject > 2 else 0
        key = (subject << 40) | (local << 20) | draw.below(_APPLICANT_POOL[subject])
        person = self._applicants.get(key)
        if person is None:
            place = _place(self.agencies.agencies[agency].name)
            person = applicant(Stream(hash64(self.seed, _SALT_APPLICANT, key)), subject, place)
            self._applicants[key] = person
        return person


def _supplement(replay: _Replay, kind: int, at: int) -> None:
    """A supplement round asked, or answered: then the appointment moves by the time the
    citizen took (NgayHenTraMoi), and a later round starts from the moved appointment."""
    if kind == _ASK_SUPPLEMENT:
        replay.rounds.append([at, 0, replay.due, 0])
    else:
        current = replay.rounds[-1]
        current[1] = at
        current[3] = current[2] + (at - current[0])
        replay.due = current[3]
    replay.record["DanhSachHoSoBoSung"] = [
        {
            "NgayBoSung": format_datetime(asked),
            "NgayTiepNhanBoSung": format_datetime(answered) if answered else None,
            "NgayHenTraTruoc": format_datetime(due_before),
            "NgayHenTraMoi": format_datetime(due_after) if due_after else None,
        }
        for asked, answered, due_before, due_after in replay.rounds
    ]


def _subject(draw: Stream, field_code: str) -> int:
    """LoaiDoiTuong: 1 citizen, 2 business, 3 state agency, 4 other organisation."""
    value = draw.random()
    if field_code in _BUSINESS_FIELDS:
        return 2 if value < 0.85 else 1
    return 1 if value < 0.93 else 2 if value < 0.98 else 3 if value < 0.99 else 4


def _place(agency_name: str) -> str:
    """Where an applicant organisation sits: ``xã Đắk Cấm`` from ``UBND xã Đắk Cấm``."""
    if agency_name.startswith("UBND "):
        return agency_name.removeprefix("UBND ")
    return "tỉnh " + agency_name.rsplit("tỉnh ", 1)[-1]


def _paid_online(draw: Stream, procedure: Procedure, online: bool) -> str:
    """DuocThanhToanTrucTuyen: 0 not online, 1 national portal, 2 the province's gateway."""
    if online and procedure.online_payment and draw.random() < 0.7:
        return "1" if draw.random() < 0.5 else "2"
    return "0"


def _documents(draw: Stream, procedure: Procedure, digitized: bool) -> list[Record]:
    pool = _FIELD_DOCUMENTS.get(procedure.field.code, ()) + _COMMON_DOCUMENTS
    start, count = draw.below(len(pool)), draw.below(4)
    names = [draw.pick(_FORMS)] + [pool[(start + i) % len(pool)] for i in range(count)]
    documents = []
    for name in names:
        bits = draw.below(1 << 52)  # one draw: the file id, and its flags from the low bits
        reuse = bits >> 3 & 31
        documents.append(
            {
                "TepDinhKemId": f"{bits:013x}",
                "TenTepDinhKem": name,
                "DuocSoHoa": "1" if digitized and bits & 7 else "0",
                "DuocTaiSuDung": "1" if reuse < 3 else "2" if reuse == 3 else "0",
                "DuocLayTuKhoDMQG": "1" if bits >> 8 & 15 < 2 else "0",
            }
        )
    return documents
