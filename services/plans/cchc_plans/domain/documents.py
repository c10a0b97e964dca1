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
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.config import JsonDict

from cchc_plans.domain.catalogue import (
    RECURRING,
    Area,
    Index,
    Kind,
    Measure,
    Op,
    Unit,
)
from cchc_shared.types import IsoDate

Loc = tuple[str | int, ...]
Fault = tuple[Loc, str]


def clean_text(text: str) -> str:
    """NFC (Vietnamese diacritics have two encodings; we store one), and no NUL, which
    PostgreSQL text cannot hold."""
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return unicodedata.normalize("NFC", text)


def _clean_input(raw: object) -> object:
    return clean_text(raw) if isinstance(raw, str) else raw  # a non-text is named by the type


CLEAN_TEXT = BeforeValidator(_clean_input)
"""`clean_text` before any length rule: NFC can lengthen a text (U+0958 becomes two code points),
and the stored form is what must fit its column."""


NO_NUL = r"^[^\x00]*$"
"""Text PostgreSQL can hold; the schema says so, so that clients know before they send."""
TRIMMED = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""The characters the validator strips (Unicode White_Space), spelled out: `\\s` differs between
regex engines, and a client must read the same rule as the validator applies."""
SOME_TEXT = f"^[^\\x00]*[^\\x00{TRIMMED}][^\\x00]*$"
"""Text with something besides whitespace in it (it is stored stripped)."""


Clean = Annotated[
    str,
    CLEAN_TEXT,
]
Name = Annotated[
    str,
    StringConstraints(max_length=100, pattern=NO_NUL),
    CLEAN_TEXT,
]


def drop_final_newline(raw: object) -> object:
    """A pattern's `$` matches before a final newline in Python, as clients read the schema,
    and not in the validator. One final newline (a YAML or CSV cell may carry it) is dropped
    so that both agree on what a code may be."""
    if isinstance(raw, str) and raw.endswith("\n") and not raw.endswith("\n\n"):
        return raw[:-1]
    return raw


def decimal_number(integer_digits: int, minimum: int | None = None) -> BeforeValidator:
    """A number kept as a Decimal of 4 decimal places (finer input is rounded), at most
    ``10**integer_digits - 0.0001`` in size (what a ``Numeric(integer_digits + 4, 4)`` column
    holds, also after rounding) and at least `minimum`."""
    largest = _largest(integer_digits)

    def to_decimal(raw: object) -> object:
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
            return raw  # the Decimal validator names the fault
        try:
            value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
        except ArithmeticError:
            return raw
        if not value.is_finite():
            raise ValueError("a number must be finite")
        if not -largest <= value <= largest or (minimum is not None and value < minimum):
            lowest = minimum if minimum is not None else -largest
            raise ValueError(f"expected a number from {lowest} to {largest}")
        return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)

    return BeforeValidator(to_decimal)


def number_schema(integer_digits: int, minimum: int | None = None) -> WithJsonSchema:
    """The range :func:`decimal_number` takes, so that every number the schema allows fits."""
    largest = float(_largest(integer_digits))
    low = minimum if minimum is not None else -largest
    return WithJsonSchema(
        {"type": "number", "minimum": low, "maximum": largest, "description": "4 decimal places."}
    )


def _largest(integer_digits: int) -> Decimal:
    # Not "below 10**n": 999999.99999 is below a million, yet rounds to 1000000.0000, which a
    # Numeric(10, 4) column refuses (a 500 where a 422 belongs).
    return Decimal(10**integer_digits) - Decimal("0.0001")


CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
UNIT_REF = r"^[A-Za-z0-9][A-Za-z0-9.-]*$"
SLUG = r"^[a-z0-9][a-z0-9-]*$"
Key = Annotated[
    str,
    StringConstraints(pattern=CODE, max_length=200),
    CLEAN_TEXT,
    BeforeValidator(drop_final_newline),
]
Slug = Annotated[
    str, StringConstraints(pattern=SLUG, max_length=100), BeforeValidator(drop_final_newline)
]
UnitRef = Annotated[
    str, StringConstraints(pattern=UNIT_REF, max_length=100), BeforeValidator(drop_final_newline)
]
"""An org unit by its slug in the plan's province (`so-noi-vu`), by its code (MaDinhDanh), or a
group lead (`all-departments`, `all-districts`)."""
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000, pattern=SOME_TEXT),
    CLEAN_TEXT,
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=SOME_TEXT),
    CLEAN_TEXT,
]
"""A name or a one-line text: at most 500 characters, what the name and issuer columns hold."""
Province = Annotated[
    str, StringConstraints(pattern=SLUG, max_length=64), BeforeValidator(drop_final_newline)
]
ParentRef = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL), CLEAN_TEXT]
"""The code (document number) of the programme or plan a plan belongs to."""
DeclaredCount = Annotated[int, Field(ge=0, le=1_000_000, strict=True)]
"""How many targets or tasks a plan says it has (tens, in practice). Bounded: an integer past
64 bits passed validation and then failed to render as JSON (a 500); strict, as the schema says
integer (pydantic would take `true` as 1)."""
Amount = Annotated[Decimal, decimal_number(14), number_schema(14)]


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


PERCENT: JsonDict = {"properties": {"unit": {"const": "percent"}}, "required": ["unit"]}
PERCENT_VALUE: JsonDict = {"properties": {"value": {"minimum": 0, "maximum": 100}}}
"""A percentage lies within 0–100 (the schema's `if`/`then`, which pydantic cannot state)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PeriodDoc(_Strict):
    from_: IsoDate = Field(alias="from")
    to: IsoDate


class BaselineDoc(_Strict):
    value: Amount | None = None
    period: Name | None = None


class TargetDoc(_Strict):
    model_config = ConfigDict(json_schema_extra={"if": PERCENT, "then": PERCENT_VALUE})

    key: Key
    area: Area
    text: Text
    measure: Measure = Field(description="An indicator code of indicators.md, or `reported`.")
    op: Op
    value: Amount = Field(description="Within 0–100 when `unit` is `percent`.")
    unit: Unit
    filter: dict[Name, list[Name]] | None = None
    due: IsoDate | None = None
    scope: UnitRef | None = Field(
        None, description="Org unit the target applies to (default: the province)."
    )
    baseline: BaselineDoc | None = None
    index_components: list[Name] | None = None


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
    code: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=SOME_TEXT),
        CLEAN_TEXT,
    ]
    kind: Kind
    title: Text
    issuer: ShortText | None = None
    province: Province
    issued_on: IsoDate | None = None
    period: PeriodDoc
    source: Text | None = None
    declared_counts: dict[Name, DeclaredCount] | None = None
    areas: list[Area] = Field(default_factory=list)
    parent: ParentRef | None = None
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
