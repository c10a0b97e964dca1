"""The fast path of ``parse_dossier`` (``domain/dossier_json``): for every record, whatever its
spelling, the same Dossier as ``parse_dossier``, or the same rejection (parse_dossier's own)."""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cchc_ingest.domain.dossier import Dossier, PiiHasher, RecordRejected, parse_dossier
from cchc_ingest.domain.dossier_json import RawRecords, read_dossiers
from cchc_ingest.pipeline.records import (
    PreparedPage,
    parse_page,
    prepare_page,
    prepare_page_for_transfer,
    transferred_page,
)
from cchc_ingest.samples import dossier_record
from cchc_ingest.sources.lgsp import LgspClient, decode_json, decode_page
from cchc_ingest.sources.motcua import MotCuaSource
from cchc_ingest.store.dossiers import DossierRow
from cchc_simulator.faults import FaultSettings
from cchc_simulator.simulator import SimulationConfig, Simulator
from cchc_simulator.timeutil import DAY, parse_end

HASHER = PiiHasher("test-key")
NO_KEY = PiiHasher("")  # personal data dropped: the fast path must drop it too

# Every per-record fault of the simulator (the e2e tests' ALL_FAULTS), at rates high enough for a
# small province to hit each many times; request faults change no record.
RECORD_FAULTS = FaultSettings(
    duplicate_rate=0.05,
    out_of_order_rate=0.05,
    malformed_rate=0.02,
    nfd_rate=0.2,
    iso_dates_rate=0.2,
    numeric_flags_rate=0.2,
    empty_strings_rate=0.2,
)


def reference(raw: object, hasher: PiiHasher) -> Dossier:
    """parse_dossier behind another name: parse_page gives it every record, no fast path."""
    return parse_dossier(raw, hasher)


def strict(value: object) -> object:
    """A value as a tree that tells apart what == does not: True from 1, 1.0 from 1, UTC from
    +07:00 (dataclass equality would let a fast path returning 1 for True pass)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value).__name__, tuple(strict(getattr(value, f.name)) for f in fields))
    if isinstance(value, tuple | list):
        return tuple(strict(item) for item in value)
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), repr(value.tzinfo))
    return (type(value).__name__, value)


def outcome(raw: object, hasher: PiiHasher) -> tuple[object, ...]:
    try:
        return ("read", strict(parse_dossier(raw, hasher)))
    except RecordRejected as exc:
        return ("rejected", exc.reason, exc.code, exc.version)


def page_summary(page: PreparedPage) -> tuple[object, ...]:
    best = {code: strict(d) for code, d in page.best.items()}
    counts = (page.taken, page.beyond, page.max_updated_at, page.min_updated_at)
    return best, page.rejected, counts


def assert_same_as_parse_dossier(content: bytes, hasher: PiiHasher) -> list[bool]:
    """Checks a page's records both ways (JSON, dicts); says which took the fast path from JSON."""
    decoded = decode_page(content)["data"]
    raws = decode_json(content)["data"]
    expected = [outcome(raw, hasher) for raw in raws]
    fast_paths = []
    for records in (decoded, raws):
        fast = read_dossiers(records, hasher)
        assert len(fast) == len(raws)
        for dossier, wanted in zip(fast, expected, strict=True):
            if dossier is not None:
                assert ("read", strict(dossier)) == wanted
        fast_paths.append([d is not None for d in fast])
    return fast_paths[0]


def assert_same_pages(content: bytes, hasher: PiiHasher, until: datetime | None = None) -> None:
    raws = decode_json(content)["data"]
    wanted = page_summary(parse_page(raws, reference, hasher, until=until))
    for records in (decode_page(content)["data"], raws):
        got = page_summary(parse_page(records, parse_dossier, hasher, until=until))
        assert got == wanted


@pytest.fixture(scope="module")
def simulator() -> Simulator:
    end = parse_end("20251031")
    return Simulator(SimulationConfig(4212, 1500, end - 365 * DAY + 1, end), RECORD_FAULTS)


def served_pages(simulator: Simulator, size: int = 500) -> list[bytes]:
    """The change feed as the simulator's API serves it: JSON pages, faults included."""
    pages, start, previous = [], 0, None
    while True:
        page = simulator.read_page(start, previous, size)
        pages.append(orjson.dumps({"data": page.records, "conTroTiep": "x", "conNua": page.more}))
        if not page.more:
            return pages
        previous, start = start, page.next_position


def test_every_record_the_simulator_serves_is_read_as_parse_dossier_reads_it(
    simulator: Simulator,
) -> None:
    fast, rejected = 0, 0
    for content in served_pages(simulator):
        raws = decode_json(content)["data"]
        took_fast = assert_same_as_parse_dossier(content, HASHER)
        for raw, was_fast in zip(raws, took_fast, strict=True):
            if was_fast:
                fast += 1
            else:  # only records parse_dossier rejects go the slow way
                assert outcome(raw, HASHER)[0] == "rejected", raw
                rejected += 1
    assert fast > 5000 and rejected > 50  # every variation and malformation was met


def test_pages_of_the_simulator_give_the_same_dossiers_and_quarantine(
    simulator: Simulator,
) -> None:
    pages = served_pages(simulator)
    for index, content in enumerate(pages):
        hasher = NO_KEY if index % 3 == 0 else HASHER
        assert_same_pages(content, hasher)
        raws = decode_json(content)["data"]
        middle = sorted(str(r.get("NgayCapNhat")) for r in raws if isinstance(r, dict))
        until = reference(dossier_record(NgayCapNhat=middle[len(middle) // 2]), HASHER).updated_at
        assert_same_pages(content, hasher, until=until)


def test_the_contract_variations_take_the_fast_path() -> None:
    variations: list[dict[str, Any]] = [
        {},
        {"TenTTHC": unicodedata.normalize("NFD", "Cấp giấy phép xây dựng")},
        {"NgayCapNhat": "2024-03-05T09:30:00+07:00", "NgayTiepNhan": "2024-03-05T01:30:00Z"},
        {"NgayNopHoSo": "2024-03-05 08:00:00", "NgayHenTra": "2024-03-15T17:00:00-05:00"},
        {"HinhThuc": 1, "DuocThanhToanTrucTuyen": 2, "ChungThucDienTu": True, "TrangThaiHoSo": 9},
        {"NgayKetThucXuLy": "", "Email": "", "KenhThucHien": None, "DaDongBoDVCQG": ""},
        {"DanhGia": {"MucDo": 5, "NgayDanhGia": "20240320100000"}, "PhienBan": "7"},
        {"DanhSachLePhi": [{"Gia": "1,500"}, {"Gia": 2.5}], "SoDienThoai": 905123456},
        {"TaiLieuNop": [{"DuocSoHoa": 1, "DuocTaiSuDung": 2}], "DanhSachGiayToKetQua": None},
        {"TrichYeuHoSo": "  xin cấp phép  ", "MaHoSo": " 000.00.01.H34-240305-00017 "},
    ]
    records = [dossier_record(**change) for change in variations]
    content = orjson.dumps({"data": records})
    assert all(assert_same_as_parse_dossier(content, HASHER))


TRICKY = [
    *[None, "", " ", "0", "1", "2", "3", "10", "11", " 1", "1 ", "3.0", "true", "x", "٣"],
    *[True, False, 0, 1, 2, 3, 11, -1, 1.0, 2.5, 2**31, 2**70, -(2**70), [], {}, [1], {"a": 1}],
    *["20240305093000", "2024-03-05T09:30:00+07:00", "20240230251000", "1,500", "NaN"],
    *[unicodedata.normalize("NFD", "Đất đai"), " Đất đai ", "\u3000"],
]


def test_every_field_in_every_tricky_spelling_is_read_as_parse_dossier_reads_it() -> None:
    """One change at a time, so that the fast path meets each spelling in an otherwise usual
    record (a boolean status must not pass for 1, {} is no rating but {"MucDo": null} a reject)."""
    records: list[Any] = [dossier_record(**{name: value}) for name in scalars for value in TRICKY]
    item_fields = {
        "TaiLieuNop": ["TepDinhKemId", "TenTepDinhKem", "DuocSoHoa", "DuocTaiSuDung"],
        "DanhSachLePhi": ["TenPhiLePhi", "Gia", "LoaiPhiLePhi"],
        "DanhSachHoSoBoSung": ["NgayBoSung", "NgayHenTraMoi"],
        "DanhSachGiayToKetQua": ["TenGiayTo", "DuongDanTepTinKetQua"],
        "DanhGia": ["MucDo", "NgayDanhGia"],
    }
    for name, fields in item_fields.items():
        usual = {"MucDo": "4"} if name == "DanhGia" else {}
        for field in fields:
            items = [{**usual, field: value} for value in TRICKY]
            records += [dossier_record(**{name: i if name == "DanhGia" else [i]}) for i in items]
        records += [dossier_record(**{name: value}) for value in TRICKY]
    records += [dossier_record(DanhGia=value) for value in ({"MucDo": None}, {"Khac": 1}, {})]
    del records[0]["MaHoSo"], records[1]["KenhThucHien"], records[2]["TaiLieuNop"]
    content = page_of(records)
    for hasher in (HASHER, NO_KEY):
        took_fast = assert_same_as_parse_dossier(content, hasher)
        assert sum(took_fast) > len(records) // 4


# -- any record: hypothesis -------------------------------------------------------------------

VIETNAMESE = ["Cấp giấy phép xây dựng", "Đất đai", "Nguyễn Văn An", "Hồ sơ  ", "\u3000"]
texts = st.one_of(
    st.sampled_from(["", " ", "abc", " abc ", "000.00.01.H34", *VIETNAMESE]),
    st.sampled_from(VIETNAMESE).map(lambda t: unicodedata.normalize("NFD", t)),
    st.text(max_size=12),
)
odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just([]),
    st.just({}),
    st.lists(st.integers(), max_size=2),
)
flags = st.one_of(
    st.sampled_from(["0", "1", "", " 1", "0 ", "2", "true", "yes", 0, 1, 2, 0.0, 1.0, True, False]),
    odd,
)
codes = st.one_of(
    st.sampled_from(["1", "3", "10", " 4", "4 ", "3.0", "0", "11", "x", "", 0, 3, 10, 11, 3.0]),
    st.integers(min_value=-1, max_value=12).map(str),
    odd,
)
instants = st.one_of(
    st.sampled_from(
        [
            "20240305093000",
            " 20240305093000 ",
            "20240230251000",
            "2024030509300٠",
            "2024-03-05T09:30:00+07:00",
            "2024-03-05T02:30:00Z",
            "2024-03-05T02:30:00+00:00",
            "2024-03-05 09:30:00",
            "2024-03-05T09:30:00.123456-05:30",
            "2024-13-01T08:00:00+07:00",
            "31/12/2025 08:00",
            "",
        ]
    ),
    st.datetimes().map(lambda d: d.strftime("%Y%m%d%H%M%S")),
    st.datetimes().map(lambda d: d.isoformat()),
    odd,
)
amounts = st.one_of(
    st.sampled_from(["1,500", " 500 ", "abc", "-1", "NaN", "Infinity", "1e3", "0", ""]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    odd,
)
versions = st.one_of(
    st.sampled_from(["3", " 3 ", "3.0", "-1", "٣", 3.0, 2**31, 2**31 - 1, -1]), odd, texts
)
scalars: dict[str, st.SearchStrategy[Any]] = {
    "MaHoSo": texts,
    "PhienBan": versions,
    "MaTTHC": texts,
    "TenTTHC": texts,
    "MaLinhVuc": texts,
    "TenLinhVuc": texts,
    "MaDonVi": texts,
    "TrichYeuHoSo": texts,
    "ChuHoSo": st.one_of(texts, odd),
    "SoGiayToChuHoSo": st.one_of(texts, odd),
    "SoDienThoai": st.one_of(texts, odd),
    "Email": st.one_of(texts, odd),
    "KenhThucHien": codes,
    "LoaiDoiTuong": codes,
    "TrangThaiHoSo": codes,
    "DuocThanhToanTrucTuyen": codes,
    **dict.fromkeys(["HinhThuc", "HoSoCoThanhPhanSoHoa", "TaiKhoanDuocXacThucVoiVNeID"], flags),
    **dict.fromkeys(["ChungThucDienTu", "DaDongBoDVCQG"], flags),
    **dict.fromkeys(
        ["NgayCapNhat", "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy"], instants
    ),
    **dict.fromkeys(["NgayTra", "NgayTuChoi"], instants),
}


def objects(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Objects with some of ``fields`` (odd values too), unknown fields, or not objects at all."""
    chosen = st.fixed_dictionaries({}, optional={**fields, "Khac": odd})
    return st.one_of(chosen, chosen, chosen, odd, texts)


def lists_of(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(objects(fields), max_size=3), st.sampled_from([None, "", "nhiều"]))


nested: dict[str, st.SearchStrategy[Any]] = {
    "TaiLieuNop": lists_of(
        {
            "TepDinhKemId": texts,
            "TenTepDinhKem": texts,
            "DuocSoHoa": flags,
            "DuocTaiSuDung": codes,
            "DuocLayTuKhoDMQG": flags,
        }
    ),
    "DanhSachLePhi": lists_of(
        {"TenPhiLePhi": texts, "MaPhiLePhi": texts, "Gia": amounts, "LoaiPhiLePhi": texts}
    ),
    "DanhSachHoSoBoSung": lists_of(
        dict.fromkeys(["NgayBoSung", "NgayTiepNhanBoSung", "NgayHenTraTruoc"], instants)
    ),
    "DanhSachGiayToKetQua": lists_of(
        {"TenGiayTo": texts, "MaGiayToKetQua": texts, "DuongDanTepTinKetQua": texts}
    ),
    "DanhGia": objects({"MucDo": codes, "NgayDanhGia": instants}),
}


@st.composite
def records(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Any:
    """A sample record with some fields changed (to any spelling or type) or left out."""
    record = dossier_record()
    # Mostly one to three changes: a record with many odd values is simply left to parse_dossier,
    # and the fast path's answers are what this checks.
    changed = draw(st.lists(st.sampled_from([*scalars, *nested]), max_size=3, unique=True))
    for name in changed:
        if draw(st.integers(0, 9)) == 0:
            del record[name]
        else:
            record[name] = draw(scalars[name] if name in scalars else nested[name])
    return record if draw(st.integers(0, 30)) else draw(odd)


def page_of(items: list[Any]) -> bytes:
    # The standard library writes what orjson refuses (big integers; NaN, which only it reads).
    return json.dumps({"data": items, "conNua": False}, ensure_ascii=False).encode()


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=records(), keyed=st.booleans())
def test_any_record_is_read_as_parse_dossier_reads_it(record: Any, keyed: bool) -> None:
    took_fast = assert_same_as_parse_dossier(page_of([record]), HASHER if keyed else NO_KEY)
    event("fast path" if took_fast[0] else "parse_dossier")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(records(), max_size=8), cut=st.sampled_from([None, "20240305093000"]))
def test_any_page_gives_the_same_dossiers_and_quarantine(items: list[Any], cut: str | None) -> None:
    until = None if cut is None else reference(dossier_record(NgayCapNhat=cut), HASHER).updated_at
    assert_same_pages(page_of(items), HASHER, until=until)


@settings(max_examples=300, deadline=None)
@given(
    digits=st.from_regex(
        r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?", fullmatch=True
    )
)
def test_msgspec_reads_numbers_as_orjson_does(digits: str) -> None:
    """What the fast path's equivalence rests on: the same number from the same JSON text
    (integers beyond 64 bits aside: the fast path leaves those to parse_dossier)."""
    content = f"[{digits}]".encode()
    if not any(mark in digits for mark in ".eE") and not -(2**63) <= int(digits) < 2**63:
        return
    try:
        expected = orjson.loads(content)[0]
    except orjson.JSONDecodeError:
        return  # beyond a double: the page goes to the standard library (tested above)
    got = msgspec.json.decode(content, type=list[float | int])[0]
    assert (type(got), got) == (type(expected), expected)


# -- pages as the LGSP sends them ---------------------------------------------------------------


def test_a_page_keeps_its_records_as_json_and_decodes_the_rest() -> None:
    records = [dossier_record(), dossier_record(PhienBan=2**70), "not an object", None]
    content = page_of(records).replace(b'"conNua"', b'"conTroTiep": "c2", "conNua"')
    page = decode_page(content)
    assert isinstance(page["data"], RawRecords)
    assert (page["conTroTiep"], page["conNua"]) == ("c2", False)
    assert list(page["data"]) == records and page["data"][1:3] == records[1:3]
    assert len(page["data"]) == 4


@pytest.mark.parametrize(
    "content",
    [
        b'{"data": [{"Gia": NaN}], "conNua": true}',  # only the standard library reads NaN
        b'{"data": ["\\ud800"], "conNua": true}',  # a lone surrogate
        b'{"data": null, "conNua": true}',
        b'{"data": {"MaHoSo": "x"}}',
        b"[1, 2]",
        b'"data"',
    ],
)
def test_what_msgspec_cannot_take_apart_is_decoded_as_before(content: bytes) -> None:
    page = decode_page(content)
    expected = decode_json(content)
    assert not isinstance(page, dict) or not isinstance(page.get("data"), RawRecords)
    assert repr(page) == repr(expected)  # NaN != NaN: compare the spelling


def test_numbers_beyond_64_bits_read_as_the_page_decoded_at_once_reads_them() -> None:
    """orjson reads integers beyond 64 bits as floats; a page it refuses (a number beyond a
    double anywhere) was decoded by the standard library, exactly: each record must be too."""
    big = b"100000000000000000001"
    records = [
        b'{"PhienBan": ' + big + b"}",
        b'{"DanhSachLePhi": [{"Gia": ' + big + b"}], " + b'"SoDienThoai": ' + big + b"}",
        b'{"DanhSachLePhi": [{"Gia": 18446744073709551615}], "MaHoSo": "' + big + b'"}',
    ]
    usual = orjson.dumps(dossier_record())[1:-1]
    items = [b"{" + usual + b", " + r[1:-1] + b"}" for r in records]
    for overflow in ([], [b'{"Khac": 1e400}']):  # another record's number orjson refuses
        content = b'{"data": [' + b", ".join(items + overflow) + b"]}"
        assert isinstance(decode_page(content)["data"], RawRecords)
        assert_same_as_parse_dossier(content, HASHER)
        assert_same_pages(content, HASHER)


def test_unreadable_json_is_refused_as_before() -> None:
    with pytest.raises(ValueError):
        decode_page(b'{"data": [1,]}')


async def test_the_change_feed_of_the_lgsp_adapter_takes_the_fast_path(
    simulator: Simulator,
) -> None:
    content = served_pages(simulator)[1]

    async def lgsp(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, content=content)

    client = LgspClient("http://lgsp.test", "id", "secret", transport=httpx.MockTransport(lgsp))
    source = MotCuaSource(client)
    try:
        feed = await source.changes(datetime(2025, 1, 1), None, 500)
    finally:
        await source.aclose()
    assert isinstance(feed.records, RawRecords) and source.parse_dossier is parse_dossier
    got = parse_page(feed.records, source.parse_dossier, HASHER)
    wanted = parse_page(decode_json(content)["data"], reference, HASHER)
    assert page_summary(got) == page_summary(wanted) and got.best


def test_a_page_prepared_in_a_parsing_process_arrives_as_prepared_here(
    simulator: Simulator,
) -> None:
    """What a parsing process sends back (its rows, MessagePack) is the page prepared here:
    same rows, same rejects, same bookkeeping; each event the same but for its id."""
    for content in served_pages(simulator)[:4]:
        records = decode_page(content)["data"]
        here = prepare_page(records, parse_dossier, HASHER, source="lgsp")
        there = transferred_page(prepare_page_for_transfer(records.to_json(), HASHER, "lgsp", None))
        assert here.rejected and there.rejected == here.rejected
        assert [r._replace(event=None) for r in there.rows] == [
            r._replace(event=None) for r in here.rows
        ]
        assert [event_of(r) for r in there.rows] == [event_of(r) for r in here.rows]
        assert (there.source, there.taken, there.beyond) == ("lgsp", here.taken, here.beyond)
        assert (there.max_updated_at, there.min_updated_at) == (
            here.max_updated_at,
            here.min_updated_at,
        )


def event_of(row: DossierRow) -> dict[str, Any]:
    """A row's event with its holes filled, without what differs from one build to the next."""
    event = orjson.loads(row.event.fill(3, b'{"before": true}').envelope)
    assert event["data"]["previous_version"] == 3 and event["data"]["before"] == {"before": True}
    assert event["data"]["after"] == orjson.loads(row.facts_json)
    return {name: value for name, value in event.items() if name not in ("id", "time")}
