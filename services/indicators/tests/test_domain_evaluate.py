"""Indicators from summed measures; the catalogue."""

from __future__ import annotations

import pytest

from cchc_indicators.domain.aggregates import Measure, MeasureSums, combine
from cchc_indicators.domain.catalogue import (
    CATALOGUE,
    DOSSIER_CODES,
    IndicatorCode,
    indicator,
)
from cchc_indicators.domain.evaluate import (
    RULES,
    Figure,
    evaluate,
    evaluate_all,
    rated_1_2_share,
)

M = Measure
C = IndicatorCode

EXPECTED_CODES = {
    "DOSSIER_RECEIVED", "DOSSIER_ONLINE_RATE", "DOSSIER_POSTAL_RATE",
    "DOSSIER_ONLINE_PAYMENT_RATE", "DOSSIER_DIGITIZED_RATE", "DOSSIER_E_CERTIFIED_RATE",
    "DOSSIER_SYNCED_RATE", "DOSSIER_ON_TIME_RATE", "DOSSIER_LATE_RATE", "DOSSIER_OVERDUE_OPEN",
    "DOSSIER_AVG_PROCESSING_DAYS", "DOSSIER_SATISFACTION_RATE", "CATALOG_PUBLISHED_RATE",
    "CATALOG_ONLINE_RATE", "CATALOG_FULL_ONLINE_RATE", "CATALOG_NATIONAL_PORTAL_RATE",
    "CATALOG_FEE_ONLINE_PAYMENT_RATE", "CATALOG_POSTAL_RATE", "CATALOG_PROCEDURES",
}  # fmt: skip


def test_zero_denominators_have_no_value() -> None:
    figures = evaluate_all(MeasureSums())
    for code, figure in figures.items():
        if code in (C.DOSSIER_RECEIVED, C.DOSSIER_OVERDUE_OPEN):
            assert figure == Figure(0, None, 0)
        else:
            assert figure.value is None, code
            assert figure.denominator == 0, code


def test_received_rates() -> None:
    sums = MeasureSums(flow={M.RECEIVED: 8, M.ONLINE: 2, M.HAS_FEE: 4, M.HAS_FEE_PAID_ONLINE: 1})
    assert evaluate(C.DOSSIER_RECEIVED, sums) == Figure(8, None, 8)
    assert evaluate(C.DOSSIER_ONLINE_RATE, sums) == Figure(2, 8, 25.0)
    assert evaluate(C.DOSSIER_POSTAL_RATE, sums) == Figure(0, 8, 0.0)
    assert evaluate(C.DOSSIER_ONLINE_PAYMENT_RATE, sums) == Figure(1, 4, 25.0)


def test_on_time_counts_finished_flows_and_open_stock_at_the_end() -> None:
    sums = MeasureSums(
        flow={M.FINISHED: 6, M.FINISHED_EARLY: 2, M.FINISHED_ON_TIME: 2},
        stock_at_end={M.OPEN: 4, M.OPEN_OVERDUE: 1},
    )
    # (2 early + 2 on time + 3 open in time) / (6 finished + 4 open)
    assert evaluate(C.DOSSIER_ON_TIME_RATE, sums) == Figure(7, 10, 70.0)
    assert evaluate(C.DOSSIER_LATE_RATE, sums) == Figure(3, 10, 30.0)
    assert evaluate(C.DOSSIER_OVERDUE_OPEN, sums) == Figure(1, None, 1)


def test_late_rate_is_100_minus_on_time_exactly() -> None:
    sums = MeasureSums(flow={M.FINISHED: 3, M.FINISHED_ON_TIME: 1})
    on_time = evaluate(C.DOSSIER_ON_TIME_RATE, sums).value
    late = evaluate(C.DOSSIER_LATE_RATE, sums).value
    assert on_time is not None and late is not None
    assert late == 100 - on_time


def test_flow_measures_ignore_stock_values_and_the_reverse() -> None:
    # A store passing the wrong kind of sum must not be silently read.
    sums = MeasureSums(flow={M.OPEN: 5}, stock_at_end={M.RECEIVED: 5})
    assert evaluate(C.DOSSIER_RECEIVED, sums).value == 0
    assert evaluate(C.DOSSIER_OVERDUE_OPEN, sums).value == 0


def test_average_processing_days() -> None:
    sums = MeasureSums(flow={M.FINISHED: 2, M.PROCESSING_SECONDS: 3 * 86_400})
    assert evaluate(C.DOSSIER_AVG_PROCESSING_DAYS, sums) == Figure(3.0, 2, 1.5)


def test_satisfaction_and_low_ratings() -> None:
    sums = MeasureSums(flow={M.RATED: 5, M.SATISFIED: 4, M.RATED_1_2: 1})
    assert evaluate(C.DOSSIER_SATISFACTION_RATE, sums) == Figure(4, 5, 80.0)
    assert rated_1_2_share(sums) == Figure(1, 5, 20.0)


def test_roll_up_sums_parts_never_averages_rates() -> None:
    small = MeasureSums(flow={M.RECEIVED: 1, M.ONLINE: 1})
    large = MeasureSums(flow={M.RECEIVED: 9, M.ONLINE: 0}, stock_at_end={M.OPEN: 2})
    total = combine([small, large])
    assert evaluate(C.DOSSIER_ONLINE_RATE, total) == Figure(1, 10, 10.0)  # not (100 + 0) / 2
    assert total[M.OPEN] == 2


def test_catalogue_indicators_are_not_evaluated_from_dossiers() -> None:
    with pytest.raises(ValueError, match="not computed from dossier aggregates"):
        evaluate(C.CATALOG_PROCEDURES, MeasureSums())


def test_every_dossier_code_has_a_rule() -> None:
    assert set(RULES) == set(DOSSIER_CODES)


def test_catalogue_lists_every_code_of_indicators_md() -> None:
    assert {entry.code.value for entry in CATALOGUE} == EXPECTED_CODES
    assert len(CATALOGUE) == len(EXPECTED_CODES)
    for entry in CATALOGUE:
        assert entry.name and entry.name_en and entry.definition
        expected_source = "dossiers" if entry.code.startswith("DOSSIER_") else "catalog"
        assert entry.source == expected_source
        expected_unit = {"DOSSIER_AVG_PROCESSING_DAYS": "days"}.get(entry.code)
        if expected_unit is None:
            counts = {"DOSSIER_RECEIVED", "DOSSIER_OVERDUE_OPEN", "CATALOG_PROCEDURES"}
            expected_unit = "count" if entry.code in counts else "percent"
        assert entry.unit == expected_unit, entry.code


def test_lower_is_better_for_delays() -> None:
    worse_when_higher = {e.code for e in CATALOGUE if e.higher_is_better is False}
    assert worse_when_higher == {
        C.DOSSIER_LATE_RATE,
        C.DOSSIER_OVERDUE_OPEN,
        C.DOSSIER_AVG_PROCESSING_DAYS,
    }


def test_unknown_indicator_code() -> None:
    assert indicator("DOSSIER_ON_TIME_RATE").name == "Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn"
    with pytest.raises(ValueError, match="unknown indicator 'DOSSIER_FOO'"):
        indicator("DOSSIER_FOO")
