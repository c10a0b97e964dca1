"""The canonical dossier and its facts, read from contract-shaped records (no I/O)."""

from __future__ import annotations

import contextlib
import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchc_ingest.domain.dossier import Channel, PiiHasher, RecordRejected, parse_dossier
from cchc_ingest.domain.facts import derive_facts
from cchc_ingest.domain.instants import BadInstant, parse_instant
from cchc_ingest.pipeline.records import prepare_page
from cchc_ingest.samples import dossier_record

HASHER = PiiHasher("test-key")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240305093000", utc(2024, 3, 5, 2, 30)),
        ("20240301030000", utc(2024, 2, 29, 20, 0)),  # local early morning is the previous UTC day
        ("2024-03-05T09:30:00+07:00", utc(2024, 3, 5, 2, 30)),
        ("2024-03-05T02:30:00+00:00", utc(2024, 3, 5, 2, 30)),
        ("2024-03-05T02:30:00Z", utc(2024, 3, 5, 2, 30)),
        ("2024-03-05T09:30:00", utc(2024, 3, 5, 2, 30)),  # no offset: local time
        ("", None),
        (None, None),
    ],
)
def test_instants_in_both_formats_become_utc(text: str | None, expected: datetime | None) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "20250230251000",
        "2025-13-01T08:00:00+07:00",
        "31/12/2025 08:00",
        "2025123108",
        "x" * 14,
        "2024030509300٠",
        20240305093000,
        # Before year 1 once made UTC: these crashed the parser instead of being quarantined.
        "0001-01-01T00:00:00",
        "00010101000000",
        "9999-12-31T23:00:00-05:00",
    ],
)
def test_unreadable_instants_are_refused(text: object) -> None:
    with pytest.raises(BadInstant):
        parse_instant(text)


def test_a_record_becomes_a_canonical_dossier() -> None:
    dossier = parse_dossier(dossier_record(), HASHER)
    assert dossier.code == "000.00.01.H34-240305-00017"
    assert dossier.version == 3
    assert dossier.updated_at == utc(2024, 3, 5, 2, 30)
    assert dossier.channel is Channel.ONLINE
    assert dossier.status == 4
    assert dossier.online_payment == 1
    assert dossier.documents[0].digitized is True
    assert dossier.fees[0].amount == 50000


def test_personal_data_is_only_kept_as_keyed_hashes() -> None:
    dossier = parse_dossier(dossier_record(), HASHER)
    applicant = dossier.applicant
    assert applicant.name_hash is not None and len(applicant.name_hash) == 64
    assert "Nguyễn" not in repr(dossier) and "0905123456" not in repr(dossier)
    other_key = parse_dossier(dossier_record(), PiiHasher("another-key")).applicant
    assert other_key.name_hash != applicant.name_hash  # keyed, not a plain hash
    dropped = parse_dossier(dossier_record(), PiiHasher("")).applicant
    assert (dropped.name_hash, dropped.phone_hash, dropped.email_hash) == (None, None, None)


def test_variations_the_contract_allows_are_accepted() -> None:
    nfd = unicodedata.normalize("NFD", "Cấp giấy phép xây dựng")
    record = dossier_record(
        TenTTHC=nfd,
        HinhThuc=1,
        DuocThanhToanTrucTuyen=2,
        ChungThucDienTu="",
        NgayTiepNhan="2024-03-05T01:30:00+00:00",
        NgayKetThucXuLy="",
        DanhSachHoSoBoSung="",
    )
    del record["KenhThucHien"]
    dossier = parse_dossier(record, HASHER)
    assert dossier.procedure_name == "Cấp giấy phép xây dựng"
    assert unicodedata.is_normalized("NFC", dossier.procedure_name or "")
    assert dossier.result_by_post is True and dossier.e_certified is False
    assert dossier.channel is Channel.IN_PERSON  # missing means in person
    assert dossier.received_at == utc(2024, 3, 5, 1, 30)
    assert dossier.finished_at is None and dossier.supplements == ()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"MaHoSo": None}, "MaHoSo"),
        ({"MaHoSo": ""}, "MaHoSo"),
        ({"NgayNopHoSo": "31/12/2025 08:00"}, "NgayNopHoSo"),
        ({"TrangThaiHoSo": "11"}, "TrangThaiHoSo"),
        ({"TrangThaiHoSo": "DANG_XU_LY"}, "TrangThaiHoSo"),
        ({"PhienBan": "abc"}, "PhienBan"),
        ({"KenhThucHien": "9"}, "KenhThucHien"),
        ({"HinhThuc": "yes"}, "HinhThuc"),
        ({"TaiLieuNop": [{"DuocSoHoa": "7"}]}, "TaiLieuNop[0].DuocSoHoa"),
        ({"DanhGia": {"MucDo": 6}}, "DanhGia.MucDo"),
        ({"DanhSachLePhi": "nhiều"}, "DanhSachLePhi"),
    ],
)
def test_unreadable_records_are_rejected_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(RecordRejected) as caught:
        parse_dossier(dossier_record(**change), HASHER)
    assert caught.value.reason.startswith(f"{field}:")


def test_a_rejected_record_keeps_what_identifies_it() -> None:
    with pytest.raises(RecordRejected) as caught:
        parse_dossier(dossier_record(TrangThaiHoSo="99"), HASHER)
    assert (caught.value.code, caught.value.version) == ("000.00.01.H34-240305-00017", 3)


def test_facts_follow_the_indicator_definitions() -> None:
    record = dossier_record(
        TrangThaiHoSo="10",
        NgayKetThucXuLy="20240318100000",
        DanhSachHoSoBoSung=[
            {"NgayBoSung": "20240307090000", "NgayTiepNhanBoSung": "20240309090000"}
        ],
        DanhGia={"MucDo": "4", "NgayDanhGia": "20240320100000"},
    )
    facts = derive_facts(parse_dossier(record, HASHER))
    assert facts["received"] is True and facts["finished"] is True and facts["withdrawn"] is False
    assert facts["received_at"] == "2024-03-05T01:30:00Z"
    assert facts["finished_at"] == "2024-03-18T03:00:00Z"
    assert facts["due_at_original"] == "2024-03-15T10:00:00Z"
    assert facts["due_at"] == "2024-03-17T10:00:00Z"  # the citizen took two days
    assert facts["supplement_rounds"] == 1
    assert facts["supplement_requested_at"] == "2024-03-07T02:00:00Z"
    assert (facts["channel"], facts["has_fee"], facts["paid_online"]) == ("online", True, True)
    assert (facts["digitized"], facts["synced"], facts["e_certified"]) == (True, True, False)
    assert (facts["rating"], facts["rated_at"]) == (4, "2024-03-20T03:00:00Z")


def test_facts_of_dossiers_not_received_withdrawn_or_with_two_rounds() -> None:
    submitted = derive_facts(parse_dossier(dossier_record(TrangThaiHoSo="1"), HASHER))
    assert submitted["received"] is False
    withdrawn = derive_facts(parse_dossier(dossier_record(TrangThaiHoSo="7"), HASHER))
    assert withdrawn["withdrawn"] is True and withdrawn["finished"] is False
    two_rounds = [{"NgayBoSung": "20240307090000", "NgayTiepNhanBoSung": "20240308090000"}] * 2
    late = derive_facts(parse_dossier(dossier_record(DanhSachHoSoBoSung=two_rounds), HASHER))
    assert late["supplement_rounds"] == 2
    assert late["due_at"] == late["due_at_original"]  # no extension: the consumer judges it late
    assert late["supplement_requested_at"] is None
    free = derive_facts(parse_dossier(dossier_record(DanhSachLePhi=[{"Gia": "0"}]), HASHER))
    assert free["has_fee"] is False


def test_a_page_keeps_the_highest_version_and_quarantines_the_unreadable() -> None:
    records = [
        dossier_record(PhienBan=5),
        dossier_record(PhienBan=4),  # an older version after a newer one
        dossier_record(PhienBan=5),  # a duplicate
        dossier_record(MaHoSo=None, PhienBan=6),
        "not an object",
    ]
    page = prepare_page(records, parse_dossier, HASHER, source="lgsp")
    assert [(r.code, r.version) for r in page.rows] == [("000.00.01.H34-240305-00017", 5)]
    assert [q.reason for q in page.rejected] == ["MaHoSo: missing", "record is not an object: str"]
    assert "Nguyễn" not in page.rejected[0].payload_json  # quarantine keeps no personal data


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
field_names = st.sampled_from([*dossier_record(), "MucDo", "Gia", "DuocSoHoa"])


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(field_names, json_values, max_size=6))
def test_any_record_is_either_read_or_rejected_never_a_crash(changes: dict[str, Any]) -> None:
    try:
        dossier = parse_dossier(dossier_record(**changes), HASHER)
    except RecordRejected as exc:
        assert exc.reason
    else:
        derive_facts(dossier)


@settings(max_examples=200, deadline=None)
@given(raw=json_values)
def test_arbitrary_json_is_rejected_cleanly(raw: object) -> None:
    with contextlib.suppress(RecordRejected):
        parse_dossier(raw, HASHER)
