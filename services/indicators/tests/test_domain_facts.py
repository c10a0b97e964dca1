"""Per-dossier rules: received, timeliness, open in time / overdue at an instant, ratings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from cchc_indicators.domain.facts import (
    DossierFacts,
    OpenStatus,
    Timeliness,
    finished_instant,
    in_timeliness_scope,
    is_open_at,
    is_received,
    is_satisfied,
    open_status_at,
    processing_time,
    timeliness,
)
from cchc_indicators.domain.periods import VN_TZ


def vn(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    """A Vietnam local time in 2024 (March unless said)."""
    return datetime(2024, month, day, hour, minute, tzinfo=VN_TZ)


def make(**changes: Any) -> DossierFacts:
    """A received, open, in-person dossier received 1 March 08:00, due 8 March 17:00."""
    base: dict[str, Any] = {
        "dossier_code": "000.00.01.H34-240301-00001",
        "version": 1,
        "updated_at": vn(1, 8),
        "agency_code": "000.00.01.H34",
        "procedure_code": "1.001234",
        "field_code": "dat_dai",
        "status": 4,
        "received": True,
        "received_at": vn(1, 8),
        "withdrawn": False,
        "finished": False,
        "due_at_original": vn(8, 17),
        "due_at": vn(8, 17),
        "channel": "in_person",
        "has_fee": False,
        "paid_online": False,
        "digitized": False,
        "e_certified": False,
        "synced": False,
    }
    return DossierFacts.model_validate(base | changes)


def finished_at(instant: datetime, **changes: Any) -> DossierFacts:
    return make(**({"status": 10, "finished": True, "finished_at": instant} | changes))


def test_instants_are_stored_in_utc() -> None:
    facts = make()
    assert facts.received_at == datetime(2024, 3, 1, 1, tzinfo=UTC)
    assert facts.received_at is not None and facts.received_at.utcoffset() == timedelta(0)


def test_model_reads_the_event_json() -> None:
    payload = make().model_dump_json()
    assert '"received_at":"2024-03-01T01:00:00Z"' in payload
    assert DossierFacts.model_validate_json(payload) == make()


def test_naive_instants_are_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        make(received_at=datetime(2024, 3, 1, 8))


def test_instants_outside_years_1_to_9999_in_utc_are_a_validation_error() -> None:
    """``astimezone`` raised OverflowError, which pydantic does not turn into a ValidationError."""
    with pytest.raises(ValidationError, match="outside the years 1 to 9999"):
        make(received_at="0001-01-01T00:00:00+01:00")


def test_rating_must_be_1_to_5() -> None:
    with pytest.raises(ValidationError):
        make(rating=6, rated_at=vn(9))
    with pytest.raises(ValidationError):
        make(rating=0, rated_at=vn(9))


def test_received_needs_a_receipt_instant() -> None:
    assert is_received(make())
    assert not is_received(make(received_at=None))
    assert not is_received(make(status=1, received=False))
    assert not in_timeliness_scope(make(status=7, withdrawn=True))


class TestTimeliness:
    def test_early_is_judged_by_local_dates(self) -> None:
        # 7 March 23:30 local, due 8 March 08:00 local: a different local day, so early.
        assert timeliness(finished_at(vn(7, 23, 30), due_at=vn(8, 8))) is Timeliness.EARLY

    def test_same_local_day_is_on_time_even_if_utc_dates_differ(self) -> None:
        # 8 March 06:00 local is 7 March 23:00 UTC; due 8 March 17:00 local (10:00 UTC).
        done = vn(8, 6)
        assert done.astimezone(UTC).day == 7
        assert timeliness(finished_at(done)) is Timeliness.ON_TIME

    def test_at_the_due_instant_is_on_time(self) -> None:
        assert timeliness(finished_at(vn(8, 17))) is Timeliness.ON_TIME

    def test_after_the_due_instant_is_late(self) -> None:
        assert timeliness(finished_at(vn(8, 17, 1))) is Timeliness.LATE
        assert timeliness(finished_at(vn(9, 8))) is Timeliness.LATE

    def test_two_supplement_rounds_make_it_late(self) -> None:
        assert timeliness(finished_at(vn(2), supplement_rounds=2)) is Timeliness.LATE

    def test_one_completed_round_uses_the_extended_due_date(self) -> None:
        extended = finished_at(
            vn(10, 9),
            supplement_rounds=1,
            supplement_requested_at=vn(5),
            supplement_completed_at=vn(7),
            due_at=vn(10, 17),
        )
        assert timeliness(extended) is Timeliness.ON_TIME

    def test_no_due_date_is_on_time(self) -> None:
        assert timeliness(finished_at(vn(30), due_at=None)) is Timeliness.ON_TIME

    def test_open_or_withdrawn_dossiers_have_no_timeliness(self) -> None:
        assert timeliness(make()) is None
        assert timeliness(finished_at(vn(5), status=7, withdrawn=True)) is None

    def test_missing_finish_instant_falls_back_to_updated_at(self) -> None:
        facts = make(status=10, finished=True, finished_at=None, updated_at=vn(9, 10))
        assert finished_instant(facts) == vn(9, 10)
        assert timeliness(facts) is Timeliness.LATE

    def test_finish_before_receipt_is_moved_to_the_receipt(self) -> None:
        facts = finished_at(vn(1, 7))
        assert finished_instant(facts) == vn(1, 8)
        assert processing_time(facts) == timedelta(0)
        assert timeliness(facts) is Timeliness.EARLY


class TestOpenAtAnInstant:
    def test_events_exactly_at_t_have_not_happened_yet(self) -> None:
        assert not is_open_at(make(), vn(1, 8))  # received exactly at T
        assert is_open_at(make(), vn(1, 8, 1))
        done = finished_at(vn(5))
        assert is_open_at(done, vn(5))  # finished exactly at T: still open at T
        assert not is_open_at(done, vn(5, 0, 1))

    def test_in_time_until_the_due_instant_inclusive(self) -> None:
        assert open_status_at(make(), vn(8, 17)) is OpenStatus.IN_TIME
        assert open_status_at(make(), vn(8, 17, 1)) is OpenStatus.OVERDUE

    def test_waiting_for_the_citizen_stops_the_clock(self) -> None:
        waiting = make(supplement_rounds=1, supplement_requested_at=vn(6))
        assert open_status_at(waiting, vn(20)) is OpenStatus.IN_TIME

    def test_round_requested_after_t_does_not_help(self) -> None:
        later = make(supplement_rounds=1, supplement_requested_at=vn(10))
        assert open_status_at(later, vn(9)) is OpenStatus.OVERDUE
        assert open_status_at(later, vn(10)) is OpenStatus.OVERDUE  # requested exactly at T
        assert open_status_at(later, vn(10, 0, 1)) is OpenStatus.IN_TIME

    def test_after_the_answer_the_extended_due_date_applies(self) -> None:
        answered = make(
            supplement_rounds=1,
            supplement_requested_at=vn(6),
            supplement_completed_at=vn(12),
            due_at=vn(14, 17),
        )
        assert open_status_at(answered, vn(11)) is OpenStatus.IN_TIME  # waiting
        assert open_status_at(answered, vn(12)) is OpenStatus.IN_TIME  # answered exactly at T
        assert open_status_at(answered, vn(14, 17)) is OpenStatus.IN_TIME
        assert open_status_at(answered, vn(15)) is OpenStatus.OVERDUE

    def test_two_rounds_are_overdue_while_open(self) -> None:
        twice = make(supplement_rounds=2, supplement_requested_at=None)
        assert open_status_at(twice, vn(2)) is OpenStatus.OVERDUE

    def test_round_fields_are_ignored_unless_exactly_one_round(self) -> None:
        stale = make(supplement_rounds=0, supplement_requested_at=vn(6))
        assert open_status_at(stale, vn(20)) is OpenStatus.OVERDUE

    def test_no_due_date_is_in_time(self) -> None:
        assert open_status_at(make(due_at=None), vn(31)) is OpenStatus.IN_TIME

    def test_withdrawn_and_unreceived_dossiers_are_left_out(self) -> None:
        assert open_status_at(make(status=7, withdrawn=True), vn(20)) is None
        assert open_status_at(make(status=1, received=False), vn(20)) is None
        assert open_status_at(finished_at(vn(5)), vn(20)) is None


def test_satisfied_means_4_or_5() -> None:
    assert is_satisfied(make(rating=4, rated_at=vn(9)))
    assert is_satisfied(make(rating=5, rated_at=vn(9)))
    assert not is_satisfied(make(rating=3, rated_at=vn(9)))
    assert not is_satisfied(make())
