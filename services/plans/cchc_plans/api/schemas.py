"""Request and response bodies (field names English snake_case, Vietnamese in `name`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from cchc_plans.domain.catalogue import (
    Area,
    Index,
    Kind,
    Level,
    Measure,
    Op,
    PlanStatus,
    TaskStatus,
    Unit,
)
from cchc_plans.domain.documents import (
    CLEAN_TEXT,
    NO_NUL,
    SOME_TEXT,
    Amount,
    BaselineDoc,
    DeclaredCount,
    DueOrRecurring,
    Name,
    ParentRef,
    PeriodDoc,
    Province,
    ShortText,
    Slug,
    Text,
    UnitRef,
    decimal_number,
    drop_final_newline,
    number_schema,
)
from cchc_shared.errors import PROBLEM_MEDIA_TYPE, Problem
from cchc_shared.types import IsoDate

T = TypeVar("T")

Code = Annotated[
    str,
    StringConstraints(pattern=SOME_TEXT, min_length=1, max_length=64),
    CLEAN_TEXT,
    BeforeValidator(drop_final_newline),
]
Evidence = Annotated[
    list[
        Annotated[
            str,
            StringConstraints(pattern=NO_NUL, min_length=1, max_length=1000),
            CLEAN_TEXT,
        ]
    ],
    Field(max_length=50),
]
Figure = Annotated[Decimal, decimal_number(16), number_schema(16)]
Note = Annotated[
    str,
    StringConstraints(pattern=NO_NUL, max_length=4000),
    CLEAN_TEXT,
]
UnitName = ShortText
PERIOD = r"^[0-9]{4}(-(H[12]|Q[1-4]|(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?))?$"


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Org units -------------------------------------------------------------------------------------


class OrgUnitOut(BaseModel):
    id: uuid.UUID
    code: str = Field(description="Identity code (MaDinhDanh).")
    slug: str | None = Field(description="The `lead` code plan files use, unique in its province.")
    province: str | None
    name: str = Field(description="Vietnamese name (tên đơn vị).")
    level: Level
    parent_id: uuid.UUID | None
    parent_code: str | None
    valid_from: date | None = Field(description="First day in force (null: since ever).")
    valid_to: date | None = Field(description="Last day in force (null: still in force).")
    successor_ids: list[uuid.UUID]
    successor_codes: list[str]
    source: str = Field(description="`demo`, `ingest` (the one-stop agency list) or `planner`.")
    version: int


class OrgUnitCreate(_In):
    code: Code
    slug: Slug | None = None
    province: Province | None = None
    name: UnitName
    level: Level
    parent_id: uuid.UUID | None = None
    valid_from: IsoDate | None = None
    valid_to: IsoDate | None = None
    successor_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)


class OrgUnitPatch(_In):
    """Set what changed; a unit that ends gets `valid_to` (its last day) and `successor_ids`."""

    slug: Slug | None = None
    name: UnitName | None = None
    level: Level | None = None
    parent_id: uuid.UUID | None = None
    valid_from: IsoDate | None = None
    valid_to: IsoDate | None = None
    successor_ids: list[uuid.UUID] | None = Field(None, max_length=50)


# Plans -----------------------------------------------------------------------------------------


class PeriodOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", serialization_alias="from")
    to: date


class TargetOut(BaseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    key: str
    position: int
    text: str
    area: Area
    measure: str
    op: Op
    value: float
    unit: Unit
    filter: dict[str, Any] | None
    due: date | None
    effective_due: date = Field(description="`due`, or the plan's last day.")
    scope_org_unit_id: uuid.UUID | None
    baseline: dict[str, Any] | None
    index_components: list[str] | None
    withdrawn: bool
    version: int


class TaskOut(BaseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    plan_code: str
    key: str
    position: int
    area: Area
    title: str
    lead: str = Field(description="Lead as the plan names it (a slug, a code or a group).")
    lead_org_unit_id: uuid.UUID = Field(description="The lead unit; the province for a group lead.")
    lead_group: Level | None = Field(description="Set for `all-departments` / `all-districts`.")
    support: list[str]
    support_org_unit_ids: list[uuid.UUID]
    due: date | None
    recurring: bool
    expected_output: str | None
    status: TaskStatus
    percent_complete: int
    overdue: bool = Field(description="Past due, neither done nor cancelled, in an issued plan.")
    index_components: list[str] | None
    withdrawn: bool
    version: int


class PlanOut(BaseModel):
    id: uuid.UUID
    code: str = Field(description="Document number (số hiệu), e.g. `4212/KH-UBND`.")
    kind: Kind
    title: str
    issuer: str | None
    province: str
    issued_on: date | None
    period: PeriodOut
    parent_code: str | None
    parent_id: uuid.UUID | None
    areas: list[Area]
    indices: list[Index] | None
    source: str | None
    declared_counts: dict[str, int] | None
    status: PlanStatus
    version: int
    created_at: datetime
    updated_at: datetime


class PlanDetail(PlanOut):
    targets: list[TargetOut]
    tasks: list[TaskOut]


class ImportResult(BaseModel):
    result: Literal["created", "updated", "issued", "amended", "unchanged"]
    targets_changed: int
    tasks_changed: int
    plan: PlanDetail


class PlanPatch(_In):
    kind: Kind | None = None
    title: Text | None = None
    issuer: ShortText | None = None
    issued_on: IsoDate | None = None
    period: PeriodDoc | None = None
    source: Text | None = None
    declared_counts: dict[Name, DeclaredCount] | None = None
    areas: list[Area] | None = None
    parent: ParentRef | None = None
    indices: list[Index] | None = None
    status: PlanStatus | None = Field(
        None, description="`issued` issues a draft; `closed` closes an issued plan."
    )


class TargetPatch(_In):
    area: Area | None = None
    text: Text | None = None
    measure: Measure | None = None
    op: Op | None = None
    value: Amount | None = None
    unit: Unit | None = None
    filter: dict[Name, list[Name]] | None = None
    due: IsoDate | None = None
    scope: UnitRef | None = None
    baseline: BaselineDoc | None = None
    index_components: list[Name] | None = None


class TaskPatch(_In):
    area: Area | None = None
    title: Text | None = None
    lead: UnitRef | None = None
    support: list[UnitRef] | None = None
    due: DueOrRecurring = None
    expected_output: Text | None = None
    index_components: list[Name] | None = None


# Progress, figures, audit ----------------------------------------------------------------------


class ProgressIn(_In):
    # Strict: pydantic would take `false` as 0, a body the schema (an integer) says is invalid.
    percent_complete: int = Field(ge=0, le=100, strict=True)
    status: TaskStatus | None = Field(
        None, description="Default: `in_progress`, or `done` at 100%."
    )
    note: Note | None = None
    evidence: Evidence = Field(default_factory=list, description="Links or document numbers.")


class ProgressOut(BaseModel):
    id: uuid.UUID
    task_id: uuid.UUID
    status: TaskStatus
    percent_complete: int
    note: str | None
    evidence: list[str]
    reported_by: str
    reported_at: datetime


class FigureIn(_In):
    period: Annotated[str, StringConstraints(pattern=PERIOD)] = Field(
        description="`2024`, `2024-H1`, `2024-Q1`, `2024-03` or `2024-03-05`, inside the plan."
    )
    org_unit_id: uuid.UUID
    numerator: Figure | None = None
    denominator: Figure | None = None
    value: Figure | None = Field(None, description="Instead of numerator and denominator.")
    evidence: Evidence = Field(default_factory=list)
    note: Note | None = None


class FigureOut(BaseModel):
    id: uuid.UUID
    target_id: uuid.UUID
    plan_id: uuid.UUID
    period: str
    period_start: date
    period_end: date
    org_unit_id: uuid.UUID
    numerator: float | None
    denominator: float | None
    value: float
    evidence: list[str]
    note: str | None
    reported_by: str
    reported_at: datetime
    supersedes_id: uuid.UUID | None
    superseded_by_id: uuid.UUID | None
    current: bool
    version: int


class AuditOut(BaseModel):
    id: int
    entity_type: str
    entity_id: uuid.UUID
    plan_id: uuid.UUID | None
    action: str
    actor: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None


# Answers besides the main one ------------------------------------------------------------------

FILE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": description}
    for status, description in (
        (413, "The file is too large"),
        (415, "Not a media type this endpoint reads"),
    )
}
"""Answers of the endpoints that read a file (YAML, JSON or CSV) from the body."""


def unchanged_answer(model: type[BaseModel], description: str) -> dict[int | str, dict[str, Any]]:
    """The 200 of a POST whose main answer is 201: it found what it was asked to create."""
    return {200: {"model": model, "description": description}}
