"""Dossier records read straight from their JSON: the fast path of :func:`parse_dossier`.

``parse_dossier`` reads a decoded dictionary field by field, trying every spelling a source may
use; at 10,000 records a second on two cores it was the ingest's largest cost. Here msgspec
decodes each record's JSON (or converts an already decoded dictionary) into structs mirroring the
contract's record, checking the types in C, and the conversion to :class:`Dossier` reads the
spellings nearly every record uses with a dictionary lookup per field. Whatever it cannot read
exactly as ``parse_dossier`` would (an odd spelling or type, a record to reject) it leaves to
``parse_dossier`` on the decoded dictionary: what comes out, reasons for rejection included, is
always what ``parse_dossier`` says (``tests/test_ingest_dossier_json.py`` checks it).

The lists of a record repeat: a dossier's documents and fees are the same from version to
version, a procedure's fees from dossier to dossier. They are kept as JSON and their conversion
remembered by their bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar, overload

import msgspec
import orjson
from msgspec import Meta, Raw, Struct

from cchc_ingest.domain import values
from cchc_ingest.domain.dossier import (
    APPLICANT_TYPE,
    CHANNEL,
    CHANNELS,
    ONLINE_PAYMENT,
    RATING,
    REUSE,
    STATUS,
    Document,
    Dossier,
    Fee,
    PiiHasher,
    Rating,
    ResultPaper,
    SupplementRound,
)
from cchc_ingest.domain.instants import parse_instant, remember

# The types a field may arrive with and still be read here; any other sends the record to
# parse_dossier. Enumerations exclude booleans: parse_dossier refuses them, but as dictionary
# keys True would pass for 1. Flags take them (parse_dossier reads true/false as 1/0 too).
# Integers stay within 64 bits: beyond, orjson (which decoded pages before) makes them floats.
Int = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
Text = str | None
Instant = str | None
Flag = str | Int | bool | None
Code = str | Int | None
Personal = str | Int | float | None  # only hashed, by the same PiiHasher.digest
Amount = Int | float | str | None  # read by the same values.amount
Version = Int | str | None  # read by the same values.positive_int

_FLAGS = values.FLAG_VALUES
_S = TypeVar("_S", bound=Struct)
_T = TypeVar("_T")
_V = TypeVar("_V")
_NULL = Raw(b"null")  # a list field left out: no items, as null
# Entries of each memo (a list's bytes and its items: under a kilobyte; a name): some 20 MB in
# all at most, and a week of a large province's new dossiers.
MEMO_LIMIT = 20_000


class _Document(
    Struct,
    gc=False,
    rename={
        "file_id": "TepDinhKemId",
        "name": "TenTepDinhKem",
        "digitized": "DuocSoHoa",
        "reuse": "DuocTaiSuDung",
        "from_national_repository": "DuocLayTuKhoDMQG",
    },
):
    file_id: Text = None
    name: Text = None
    digitized: Flag = None
    reuse: Code = None
    from_national_repository: Flag = None


class _Fee(
    Struct,
    gc=False,
    rename={"name": "TenPhiLePhi", "code": "MaPhiLePhi", "amount": "Gia", "kind": "LoaiPhiLePhi"},
):
    name: Text = None
    code: Text = None
    amount: Amount = None
    kind: Text = None


class _Supplement(
    Struct,
    gc=False,
    rename={
        "requested_at": "NgayBoSung",
        "completed_at": "NgayTiepNhanBoSung",
        "due_before": "NgayHenTraTruoc",
        "due_after": "NgayHenTraMoi",
    },
):
    requested_at: Instant = None
    completed_at: Instant = None
    due_before: Instant = None
    due_after: Instant = None


class _Result(
    Struct,
    gc=False,
    rename={"name": "TenGiayTo", "code": "MaGiayToKetQua", "url": "DuongDanTepTinKetQua"},
):
    name: Text = None
    code: Text = None
    url: Text = None


class _Rating(Struct, gc=False, rename={"level": "MucDo", "rated_at": "NgayDanhGia"}):
    level: Code = None
    rated_at: Instant = None


_RECORD_NAMES = {
    "code": "MaHoSo",
    "version": "PhienBan",
    "updated_at": "NgayCapNhat",
    "procedure_code": "MaTTHC",
    "procedure_name": "TenTTHC",
    "field_code": "MaLinhVuc",
    "field_name": "TenLinhVuc",
    "agency_code": "MaDonVi",
    "channel": "KenhThucHien",
    "applicant_type": "LoaiDoiTuong",
    "applicant_name": "ChuHoSo",
    "applicant_id_number": "SoGiayToChuHoSo",
    "applicant_phone": "SoDienThoai",
    "applicant_email": "Email",
    "summary": "TrichYeuHoSo",
    "submitted_at": "NgayNopHoSo",
    "received_at": "NgayTiepNhan",
    "due_at": "NgayHenTra",
    "finished_at": "NgayKetThucXuLy",
    "returned_at": "NgayTra",
    "refused_at": "NgayTuChoi",
    "status": "TrangThaiHoSo",
    "result_by_post": "HinhThuc",
    "online_payment": "DuocThanhToanTrucTuyen",
    "has_digitized_components": "HoSoCoThanhPhanSoHoa",
    "vneid_authenticated": "TaiKhoanDuocXacThucVoiVNeID",
    "documents": "TaiLieuNop",
    "fees": "DanhSachLePhi",
    "supplements": "DanhSachHoSoBoSung",
    "results": "DanhSachGiayToKetQua",
    "e_certified": "ChungThucDienTu",
    "synced": "DaDongBoDVCQG",
    "rating": "DanhGia",
}


class _Record(Struct, gc=False, rename=_RECORD_NAMES):
    """A record's scalar fields (``DongBoHoSoMC`` names); a missing field reads as null."""

    code: Text = None
    version: Version = None
    updated_at: Instant = None
    procedure_code: Text = None
    procedure_name: Text = None
    field_code: Text = None
    field_name: Text = None
    agency_code: Text = None
    channel: Code = None
    applicant_type: Code = None
    applicant_name: Personal = None
    applicant_id_number: Personal = None
    applicant_phone: Personal = None
    applicant_email: Personal = None
    summary: Text = None
    submitted_at: Instant = None
    received_at: Instant = None
    due_at: Instant = None
    finished_at: Instant = None
    returned_at: Instant = None
    refused_at: Instant = None
    status: Code = None
    result_by_post: Flag = None
    online_payment: Code = None
    has_digitized_components: Flag = None
    vneid_authenticated: Flag = None
    e_certified: Flag = None
    synced: Flag = None
    rating: _Rating | None = None


class _JsonRecord(_Record, gc=False, rename=_RECORD_NAMES):
    """A record decoded from its JSON, its lists left as JSON (their conversion is remembered)."""

    documents: Raw = _NULL
    fees: Raw = _NULL
    supplements: Raw = _NULL
    results: Raw = _NULL


class _DictRecord(_Record, gc=False, rename=_RECORD_NAMES):
    """A record converted from a dictionary already decoded (a pushed page)."""

    documents: list[_Document] | None = None
    fees: list[_Fee] | None = None
    supplements: list[_Supplement] | None = None
    results: list[_Result] | None = None


class _Unusual(ValueError):
    """A value parse_dossier must read (to name the fault, or a spelling not handled here)."""


def _required(value: _V | None) -> _V:
    if value is None:
        raise _Unusual
    return value


def _code(value: str | None) -> str:
    """A required code; one holding NUL (no database text can) is parse_dossier's to reject."""
    code = _text(value)
    if code is None or "\x00" in code:
        raise _Unusual
    return code


def _text(value: str | None) -> str | None:
    """As parse_dossier's text: stripped, NFC, None for blank."""
    if value is None:
        return None
    if value.isascii():
        return value.strip() or None
    # Vietnamese names (procedures, fields, documents) recur in most records: normalise once.
    found = _NORMALIZED.get(value, _UNKNOWN)
    if found is _UNKNOWN:
        found = values.text(value)
        remember(_NORMALIZED, value, found, MEMO_LIMIT)
    return found  # type: ignore[return-value]


_NORMALIZED: dict[str, str | None] = {}
_UNKNOWN = object()


class _Items(Generic[_S, _T]):
    """A list field: its items converted, remembered by the list's JSON bytes."""

    def __init__(self, item: type[_S], convert: Callable[[_S], _T]) -> None:
        self._decoder: msgspec.json.Decoder[list[_S] | None] = msgspec.json.Decoder(
            list[item] | None  # type: ignore[valid-type]
        )
        self._convert = convert
        self._known: dict[bytes, tuple[_T, ...]] = {}

    def __call__(self, value: Raw | list[_S] | None) -> tuple[_T, ...]:
        if isinstance(value, Raw):
            key = bytes(value)
            found = self._known.get(key)
            if found is None:
                found = self(self._decoder.decode(key))
                remember(self._known, key, found, MEMO_LIMIT)
            return found
        return tuple(map(self._convert, value)) if value else ()


def _document(d: _Document) -> Document:
    return Document(
        file_id=_text(d.file_id),
        name=_text(d.name),
        digitized=_FLAGS[d.digitized],
        reuse=REUSE[d.reuse],
        from_national_repository=_FLAGS[d.from_national_repository],
    )


def _fee(f: _Fee) -> Fee:
    return Fee(
        name=_text(f.name), code=_text(f.code), amount=values.amount(f.amount), kind=_text(f.kind)
    )


def _supplement(s: _Supplement) -> SupplementRound:
    return SupplementRound(
        requested_at=parse_instant(s.requested_at),
        completed_at=parse_instant(s.completed_at),
        due_before=parse_instant(s.due_before),
        due_after=parse_instant(s.due_after),
    )


def _result(r: _Result) -> ResultPaper:
    return ResultPaper(name=_text(r.name), code=_text(r.code), url=_text(r.url))


def _rating(value: _Rating | None) -> Rating | None:
    if value is None:
        return None
    # {} means no rating and {"MucDo": null} is a reject; the struct cannot tell them apart.
    level = _required(RATING[value.level])
    return Rating(level=level, rated_at=parse_instant(value.rated_at))


_DOCUMENTS = _Items(_Document, _document)
_FEES = _Items(_Fee, _fee)
_SUPPLEMENTS = _Items(_Supplement, _supplement)
_RESULTS = _Items(_Result, _result)


def _dossier(r: _JsonRecord | _DictRecord, hasher: PiiHasher) -> Dossier:
    """The record as parse_dossier reads it; KeyError or ValueError where only it can tell."""
    # Positional, in the order of Dossier's fields: keywords cost a fifth of the whole here.
    return Dossier(
        _code(r.code),
        values.positive_int(r.version, what="version"),
        _required(parse_instant(r.updated_at)),
        _code(r.procedure_code),
        _text(r.procedure_name),
        _text(r.field_code),
        _text(r.field_name),
        _code(r.agency_code),
        CHANNELS[CHANNEL[r.channel]],
        APPLICANT_TYPE[r.applicant_type],
        hasher.applicant_of(
            r.applicant_name, r.applicant_id_number, r.applicant_phone, r.applicant_email
        ),
        _text(r.summary),
        parse_instant(r.submitted_at),
        parse_instant(r.received_at),
        parse_instant(r.due_at),
        parse_instant(r.finished_at),
        parse_instant(r.returned_at),
        parse_instant(r.refused_at),
        _required(STATUS[r.status]),
        _FLAGS[r.result_by_post],
        ONLINE_PAYMENT[r.online_payment],
        _FLAGS[r.has_digitized_components],
        _FLAGS[r.vneid_authenticated],
        _DOCUMENTS(r.documents),
        _FEES(r.fees),
        _SUPPLEMENTS(r.supplements),
        _RESULTS(r.results),
        _FLAGS[r.e_certified],
        _FLAGS[r.synced],
        _rating(r.rating),
    )


def load_json(content: bytes | Raw) -> Any:
    """orjson first; the standard library for what orjson refuses (numbers beyond a double)."""
    try:
        return orjson.loads(memoryview(content))
    except orjson.JSONDecodeError:
        return json.loads(bytes(content))


# Where parts of a page decoded one by one could differ from the page decoded at once: a number
# of 19 digits or more (orjson reads integers beyond 64 bits as floats, the standard library
# exactly, and the whole page went to the standard library if orjson refused any of it).
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


class JsonPage:
    """A page's JSON, whose parts are decoded one at a time to what decoding it whole gives."""

    __slots__ = ("_content", "_orjson_reads_it")

    def __init__(self, content: bytes | Raw) -> None:
        self._content = content
        self._orjson_reads_it: bool | None = None

    def load(self, part: Raw) -> object:
        if _LONG_NUMBER.search(part) is not None and not self._orjson_reads():
            decoded: object = json.loads(bytes(part))
        else:
            decoded = load_json(part)
        return decoded

    def _orjson_reads(self) -> bool:
        if self._orjson_reads_it is None:
            try:
                orjson.loads(memoryview(self._content))
                self._orjson_reads_it = True
            except orjson.JSONDecodeError:
                self._orjson_reads_it = False
        return self._orjson_reads_it


class RawRecords(Sequence[object]):
    """A page's records as the source sent them, each still JSON: :func:`read_dossiers` reads
    them without building dictionaries. Indexing decodes one (for parse_dossier, quarantine),
    exactly as decoding the whole page would have."""

    __slots__ = ("array", "page", "raws")

    def __init__(self, raws: list[Raw], page: JsonPage, array: bytes | Raw) -> None:
        self.raws = raws
        self.page = page
        self.array = array

    def __len__(self) -> int:
        return len(self.raws)

    @overload
    def __getitem__(self, index: int) -> object: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[object]: ...

    def __getitem__(self, index: int | slice) -> object | Sequence[object]:
        if isinstance(index, slice):
            return [self.page.load(raw) for raw in self.raws[index]]
        return self.page.load(self.raws[index])

    def __repr__(self) -> str:
        return f"RawRecords({len(self.raws)} records)"

    def to_json(self) -> bytes:
        """The records as one JSON array (:func:`decode_records` reads it back): how a page
        travels to a parsing process. It is the array as received, copied whole."""
        return bytes(self.array)


_RAW_LIST = msgspec.json.Decoder(list[Raw])
_JSON_RECORD = msgspec.json.Decoder(_JsonRecord)


def decode_records(content: bytes | Raw, page: JsonPage | None = None) -> RawRecords:
    """A JSON array of records (part of ``page``, if given), each kept as JSON;
    msgspec.DecodeError if it is not an array."""
    return RawRecords(_RAW_LIST.decode(content), page or JsonPage(content), content)


def _from_json(raw: Raw) -> _JsonRecord | None:
    try:
        return _JSON_RECORD.decode(raw)
    except msgspec.DecodeError:  # a type this path does not read, or not an object
        return None


def _from_dict(raw: object) -> _DictRecord | None:
    if raw.__class__ is not dict:
        return None
    try:
        return msgspec.convert(raw, _DictRecord)
    except msgspec.ValidationError:
        return None


def read_dossiers(records: Sequence[object], hasher: PiiHasher) -> list[Dossier | None]:
    """Each record as ``parse_dossier(record, hasher)`` reads it, or None where only
    ``parse_dossier`` can (an unusual spelling or type, a record it rejects)."""
    if isinstance(records, RawRecords):
        typed: list[_JsonRecord | None] | list[_DictRecord | None]
        typed = [_from_json(raw) for raw in records.raws]
    else:
        typed = [_from_dict(raw) for raw in records]
    return [None if record is None else _dossier_or_none(record, hasher) for record in typed]


def _dossier_or_none(record: _JsonRecord | _DictRecord, hasher: PiiHasher) -> Dossier | None:
    try:
        return _dossier(record, hasher)
    except (KeyError, ValueError):  # a spelling or a fault only parse_dossier reads or names
        return None
