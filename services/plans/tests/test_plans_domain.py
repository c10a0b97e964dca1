"""Pure rules: periods, figures, the lifecycle, overdue, demo trees (no I/O)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import String

from cchc_plans.api.schemas import (
    OrgUnitCreate,
    OrgUnitPatch,
    PlanPatch,
    ProgressIn,
    TargetPatch,
    TaskPatch,
)
from cchc_plans.domain.documents import (
    PlanDocument,
    TargetDoc,
    TaskDoc,
    decimal_number,
    number_schema,
)
from cchc_plans.domain.figures import FigureInput, check_figure
from cchc_plans.domain.lifecycle import LifecycleError, check_content_change, check_transition
from cchc_plans.domain.org_units import tree_units
from cchc_plans.domain.periods import parse_period
from cchc_plans.domain.tasks import is_overdue, progress_status
from cchc_plans.service.org_units import demo_trees
from cchc_plans.store.models import (
    Base,
    OrgUnit,
    Plan,
    ProgressReport,
    Target,
    Task,
)


@pytest.mark.parametrize(
    ("label", "first", "last"),
    [
        ("2024", date(2024, 1, 1), date(2024, 12, 31)),
        ("2024-H2", date(2024, 7, 1), date(2024, 12, 31)),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2024-12", date(2024, 12, 1), date(2024, 12, 31)),
        ("2024-03-05", date(2024, 3, 5), date(2024, 3, 5)),
    ],
)
def test_periods(label: str, first: date, last: date) -> None:
    period = parse_period(label)
    assert (period.first_day, period.last_day) == (first, last)


@pytest.mark.parametrize(
    "label", ["2024-Q5", "2024-13", "2024-02-30", "this_year", "24", "2024-H3", ""]
)
def test_bad_periods(label: str) -> None:
    with pytest.raises(ValueError):
        parse_period(label)


def figure(
    period: str = "2023", n: str | None = None, d: str | None = None, v: str | None = None
) -> FigureInput:
    def dec(x: str | None) -> Decimal | None:
        return Decimal(x) if x is not None else None

    return FigureInput(period, dec(n), dec(d), dec(v))


PLAN = {"plan_start": date(2023, 1, 1), "plan_end": date(2023, 12, 31)}


@pytest.mark.parametrize(
    ("given", "unit", "fields"),
    [
        (figure(n="3", d="4"), "percent", []),
        (figure(n="5", d="4"), "percent", ["numerator"]),
        (figure(n="4", d="4"), "percent", []),
        (figure(n="-1", d="4"), "percent", ["numerator"]),
        (figure(n="1", d="0"), "percent", ["denominator"]),
        (figure(n="1"), "percent", ["denominator"]),
        (figure(v="100"), "percent", []),
        (figure(v="100.01"), "percent", ["value"]),
        (figure(v="-0.01"), "percent", ["value"]),
        (figure(v="-12"), "percent_change", []),
        (figure(v="-1"), "count", ["value"]),
        (figure(n="1", d="2"), "count", ["numerator"]),
        (figure(n="1", d="2", v="50"), "percent", ["value"]),
        (figure(), "percent", ["value"]),
        (figure(period="2024-Q1", v="5"), "percent", ["period"]),
        (figure(period="2022-12-31", v="5"), "percent", ["period"]),
        (figure(period="2023-12-31", v="5"), "percent", []),
        (figure(period="nope", v="500"), "percent", ["period", "value"]),
    ],
)
def test_figure_rules(given: FigureInput, unit: str, fields: list[str]) -> None:
    checked, faults = check_figure(given, unit=unit, **PLAN)
    assert [f.field for f in faults] == fields
    assert (checked is None) == bool(fields)


def test_ratio_becomes_a_percentage() -> None:
    checked, _ = check_figure(figure(n="1", d="3"), unit="percent", **PLAN)
    assert checked is not None and checked.value == Decimal("33.3333")


def test_lifecycle() -> None:
    check_transition("draft", "issued")
    check_transition("issued", "closed")
    check_transition("issued", "issued")
    for current, requested in [("draft", "closed"), ("issued", "draft"), ("closed", "issued")]:
        with pytest.raises(LifecycleError):
            check_transition(current, requested)
    check_content_change("draft", None)
    check_content_change("issued", "Điều chỉnh")
    for status, reason in [("issued", None), ("issued", "  "), ("closed", "any")]:
        with pytest.raises(LifecycleError):
            check_content_change(status, reason)


def test_overdue_and_progress() -> None:
    due = date(2024, 3, 31)

    def overdue(status: str, today: date) -> bool:
        return is_overdue(
            due=due, status=status, withdrawn=False, plan_status="issued", today=today
        )

    assert not overdue("in_progress", due)
    assert overdue("in_progress", date(2024, 4, 1))
    assert not overdue("done", date(2024, 4, 1))
    assert not is_overdue(
        status="not_started", today=date(2024, 4, 1), due=due, withdrawn=False, plan_status="draft"
    )
    assert progress_status("not_started", None, 0) == ("not_started", [])
    assert progress_status("not_started", None, 100) == ("done", [])
    assert progress_status("not_started", "done", 90)[1][0].field == "percent_complete"


def test_demo_trees_name_every_lead_of_the_shared_plans() -> None:
    units = [u for tree in demo_trees() for u in tree_units(tree)]
    slugs = {(u.province, u.slug) for u in units}
    for province, lead in [
        ("kon-tum", "so-tu-phap"),
        ("kon-tum", "ubmttq-tinh"),
        ("kon-tum", "thanh-tra-tinh"),
        ("bac-kan", "so-noi-vu"),
        ("bac-kan", "so-thong-tin-truyen-thong"),
        ("khanh-hoa", "van-phong-ubnd"),
        ("quang-ngai", "ubnd-tinh-quang-ngai"),
    ]:
        assert (province, lead) in slugs
    assert len({u.code for u in units}) == len(units)
    assert len([s for s in slugs if s[1]]) == len(units)  # slugs unique per province


class _Score(BaseModel):
    points: Annotated[Decimal, decimal_number(6, minimum=0), number_schema(6, minimum=0)]


@pytest.mark.parametrize(
    ("given", "kept"),
    [("999999.9999", Decimal("999999.9999")), ("12.34565", Decimal("12.3456")), (0, Decimal(0))],
)
def test_numbers_kept_fit_their_column_after_rounding(given: object, kept: Decimal) -> None:
    assert _Score(points=given).points == kept  # type: ignore[arg-type]


@pytest.mark.parametrize("given", ["999999.9999999999", "1000000", "-0.5", "nan"])
def test_numbers_that_would_not_fit_are_refused_before_the_database(given: str) -> None:
    # 999999.9999999999 is below a million yet rounds to 1000000.0000: Numeric(10, 4) refused it
    # with a 500 (found by schemathesis); it must be a validation error, as the schema says.
    with pytest.raises(ValidationError):
        _Score(points=given)  # type: ignore[arg-type]
    assert _Score.model_json_schema()["properties"]["points"]["maximum"] == 999999.9999


@pytest.mark.parametrize(
    ("model", "table"),
    [
        (PlanDocument, Plan),
        (PlanPatch, Plan),
        (TargetDoc, Target),
        (TargetPatch, Target),
        (TaskDoc, Task),
        (TaskPatch, Task),
        (OrgUnitCreate, OrgUnit),
        (OrgUnitPatch, OrgUnit),
        (ProgressIn, ProgressReport),
    ],
)
def test_every_text_the_schema_allows_fits_its_column(
    model: type[BaseModel], table: type[Base]
) -> None:
    """A field whose limit exceeds its column's answered 500 instead of 422 (the issuer)."""
    columns = {c.name: c.type.length for c in table.__table__.columns if isinstance(c.type, String)}
    schema = model.model_json_schema(mode="validation")
    checked = 0
    for name, prop in schema["properties"].items():
        column_width = columns.get(name) or columns.get(f"{name}_code")
        longest = _longest_text(prop, schema.get("$defs", {}))
        if column_width is None or longest is None:
            continue
        checked += 1
        assert longest <= column_width, f"{model.__name__}.{name}"
    assert checked, "no text field of the model maps to a column"


def _longest_text(prop: dict[str, Any], defs: dict[str, Any]) -> int | None:
    """The longest text a property's schema admits (by maxLength or enum), if it says."""
    if "$ref" in prop:
        prop = defs[prop["$ref"].rsplit("/", 1)[-1]]
    lengths = [_longest_text(choice, defs) for choice in prop.get("anyOf", [])]
    if "maxLength" in prop:
        lengths.append(prop["maxLength"])
    lengths += [len(value) for value in prop.get("enum", []) if isinstance(value, str)]
    if isinstance(prop.get("const"), str):
        lengths.append(len(prop["const"]))
    known = [length for length in lengths if length is not None]
    return max(known) if known else None
