"""The plan document: the YAML/JSON form of shared/domain/plans/ that `import` takes.

Structure is checked by the pydantic models (every fault at once, each with its path);
:func:`document_faults` adds the rules that span fields (period order, unique keys, due dates
inside the period, percentages within 0–100). Org units are checked by the service, which knows
the tree.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from cchc_plans.domain.catalogue import (
    INDICATOR_CODES,
    RECURRING,
    Area,
    Index,
    Kind,
    Op,
    Unit,
    is_known_measure,
)

Loc = tuple[str | int, ...]
Fault = tuple[Loc, str]


def clean_text(text: str) -> str:
    """NFC (Vietnamese diacritics have two encodings; we store one), and no NUL, which
    PostgreSQL text cannot hold."""
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return unicodedata.normalize("NFC", text)


Clean = Annotated[str, AfterValidator(clean_text)]
Name = Annotated[Clean, StringConstraints(max_length=100)]

Key = Annotated[Clean, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=200)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)]
UnitRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]*$", max_length=100)]
"""An org unit by its slug in the plan's province (`so-noi-vu`), by its code (MaDinhDanh), or a
group lead (`all-departments`, `all-districts`)."""
Text = Annotated[Clean, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Province = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Amount = Annotated[Decimal, Field(max_digits=18, decimal_places=4)]


def _due_or_recurring(raw: object) -> date | str | None:
    if raw is None or raw == RECURRING:
        return raw
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise ValueError(f"expected a date (YYYY-MM-DD) or {RECURRING!r}")


DueOrRecurring = Annotated[
    date | str | None,
    PlainValidator(_due_or_recurring),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"const": RECURRING}]}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PeriodDoc(_Strict):
    from_: date = Field(alias="from")
    to: date


class BaselineDoc(_Strict):
    value: Amount | None = None
    period: Name | None = None


class TargetDoc(_Strict):
    key: Key
    area: Area
    text: Text
    measure: str = Field(description="An indicator code of indicators.md, or `reported`.")
    op: Op
    value: Amount
    unit: Unit
    filter: dict[Name, list[Name]] | None = None
    due: date | None = None
    scope: UnitRef | None = Field(
        None, description="Org unit the target applies to (default: the province)."
    )
    baseline: BaselineDoc | None = None
    index_components: list[Name] | None = None

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, measure: str) -> str:
        if not is_known_measure(measure):
            raise ValueError(
                f"unknown indicator code {measure!r}; expected `reported` or one of "
                + ", ".join(sorted(INDICATOR_CODES))
            )
        return measure


class TaskDoc(_Strict):
    key: Key
    area: Area
    title: Text
    lead: UnitRef
    support: list[UnitRef] = Field(default_factory=list)
    due: DueOrRecurring = None
    expected_output: Text | None = None
    index_components: list[Name] | None = None

    @property
    def due_date(self) -> date | None:
        return self.due if isinstance(self.due, date) else None

    @property
    def recurring(self) -> bool:
        return self.due == RECURRING


class PlanDocument(_Strict):
    code: Annotated[Clean, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    kind: Kind
    title: Text
    issuer: Text | None = None
    province: Province
    issued_on: date | None = None
    period: PeriodDoc
    source: Text | None = None
    declared_counts: dict[Name, int] | None = None
    areas: list[Area] = Field(default_factory=list)
    parent: Annotated[Clean, StringConstraints(max_length=200)] | None = None
    indices: list[Index] | None = None
    status: Literal["draft", "issued"] | None = Field(
        None, description="Status asked for: a new plan is `issued` unless it says `draft`."
    )
    targets: list[TargetDoc] = Field(default_factory=list)
    tasks: list[TaskDoc] = Field(default_factory=list)


def document_faults(doc: PlanDocument) -> list[Fault]:
    """Rules across fields; every fault with its path."""
    return [*_period_faults(doc), *_key_faults(doc), *_due_faults(doc), *_value_faults(doc)]


def _period_faults(doc: PlanDocument) -> Iterator[Fault]:
    if doc.period.to < doc.period.from_:
        yield ("period", "to"), f"the period ends ({doc.period.to}) before it starts"


def _key_faults(doc: PlanDocument) -> Iterator[Fault]:
    keys = {"targets": [t.key for t in doc.targets], "tasks": [t.key for t in doc.tasks]}
    for name, items in keys.items():
        seen: set[str] = set()
        for i, key in enumerate(items):
            if key in seen:
                yield (name, i, "key"), f"key {key!r} appears twice"
            seen.add(key)


def _due_faults(doc: PlanDocument) -> Iterator[Fault]:
    start, end = doc.period.from_, doc.period.to
    if end < start:
        return  # the period itself is at fault; every due date would be, too
    dues: list[tuple[str, int, date | None]] = [
        *(("targets", i, t.due) for i, t in enumerate(doc.targets)),
        *(("tasks", i, t.due_date) for i, t in enumerate(doc.tasks)),
    ]
    for name, i, due in dues:
        if due is not None and not start <= due <= end:
            yield (name, i, "due"), f"due {due} is outside the plan period ({start} to {end})"


def _value_faults(doc: PlanDocument) -> Iterator[Fault]:
    for i, target in enumerate(doc.targets):
        if target.unit == "percent" and not 0 <= target.value <= 100:
            yield ("targets", i, "value"), f"a percentage must lie within 0–100, not {target.value}"


def normalize_text(raw: Any) -> Any:
    """Every string NFC (Vietnamese diacritics have two encodings; we store one)."""
    if isinstance(raw, str):
        return unicodedata.normalize("NFC", raw)
    if isinstance(raw, list):
        return [normalize_text(item) for item in raw]
    if isinstance(raw, dict):
        return {normalize_text(k): normalize_text(v) for k, v in raw.items()}
    return raw
