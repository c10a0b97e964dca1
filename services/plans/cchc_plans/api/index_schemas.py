"""Response and request bodies of `/api/v1/indices` (the documents loaded are in
``domain/index_frameworks.py`` and ``domain/index_results.py``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cchc_plans.domain.catalogue import Level, Op, PlanStatus, TaskStatus, Unit
from cchc_plans.domain.index_frameworks import FrameworkCode, NodeCode, Note, Scoring

Basis = Literal["published", "computed"]


class NodeOut(BaseModel):
    code: str
    name: str = Field(description="Vietnamese name (tên lĩnh vực, tiêu chí).")
    name_en: str | None = None
    max_score: float | None = Field(None, description="Maximum score; null when not known.")
    scoring: Scoring
    note: str | None = None
    children: list[NodeOut] = Field(default_factory=list)


class FrameworkOut(BaseModel):
    id: uuid.UUID
    code: str
    version: str
    name: str
    name_en: str | None
    issuer: str | None
    basis: str | None
    source_url: str | None
    valid_from_year: int | None
    valid_to_year: int | None
    unit_levels: list[Level]
    max_score: float | None
    note: str | None
    source: str = Field(description="`shipped` (a file of this product) or `api` (loaded).")
    revision: int = Field(description="Grows with each change of this version.")
    created_at: datetime
    updated_at: datetime


class FrameworkDetail(FrameworkOut):
    nodes: list[NodeOut]


class FrameworkLoaded(BaseModel):
    result: Literal["created", "updated", "unchanged"]
    framework: FrameworkDetail


class UnitOut(BaseModel):
    id: uuid.UUID
    code: str = Field(description="MaDinhDanh.")
    name: str
    level: Level
    province: str | None


class RankOut(BaseModel):
    rank: int
    of: int | None = Field(description="Units ranked (null when a published rank says not).")
    basis: Basis = Field(description="`published`, or `computed` among the units loaded.")


class ResultOut(BaseModel):
    id: uuid.UUID
    framework_code: str
    framework_version: str
    framework_id: uuid.UUID
    year: int
    org_unit: UnitOut
    level: Level
    total: float | None = Field(description="Published total, or the sum of the top level.")
    total_basis: Basis | None
    total_provisional: bool = Field(description="Rests on self-assessed scores not appraised.")
    max_total: float | None
    published_total: float | None
    published_rank: int | None
    rank_of: int | None
    note: str | None
    revision: int
    loaded_by: str
    updated_at: datetime


class ScoreOut(BaseModel):
    component: str
    name: str | None = Field(description="Null when the framework version lacks the code.")
    depth: int | None
    max_score: float | None
    self_assessed: float | None
    appraised: float | None
    survey: float | None
    published_score: float | None
    score: float | None = Field(description="The score the analysis uses (see `score_basis`).")
    score_basis: str | None
    provisional: bool
    evidence: list[str]
    note: str | None


class ResultDetail(ResultOut):
    rank: RankOut | None = Field(description="Among the units of the same level.")
    scores: list[ScoreOut]


class LoadedUnitOut(BaseModel):
    unit_code: str
    org_unit_id: uuid.UUID
    result_id: uuid.UUID
    outcome: Literal["created", "changed", "unchanged"]


class ResultsLoaded(BaseModel):
    framework_code: str
    framework_version: str
    year: int
    created: int
    changed: int
    unchanged: int
    units: list[LoadedUnitOut]


class StandingOut(BaseModel):
    result_id: uuid.UUID
    org_unit: UnitOut
    total: float | None
    total_basis: Basis | None
    rank: RankOut | None


class LossOut(BaseModel):
    code: str
    name: str
    depth: int
    max_score: float
    score: float
    lost: float = Field(description="Maximum minus score (số điểm bị mất).")
    lost_share: float = Field(description="`lost` as a share of the maximum (0–1).")


class ChangeOut(BaseModel):
    code: str
    name: str
    depth: int
    score: float
    previous_score: float
    change: float


class PreviousOut(BaseModel):
    year: int
    result_id: uuid.UUID
    framework_version: str
    total: float | None
    rank: RankOut | None


class AnalysisOut(BaseModel):
    framework_code: str
    framework_version: str
    year: int
    result_id: uuid.UUID
    org_unit: UnitOut
    total: float | None
    total_basis: Basis | None
    total_provisional: bool
    max_total: float | None
    rank: RankOut | None
    previous: PreviousOut | None = Field(description="The year before, if loaded.")
    total_change: float | None
    rank_change: int | None = Field(description="Places gained since the year before (+ = up).")
    depth: int | None = Field(description="Depth of the components compared (1 = areas).")
    weakest: list[LossOut] = Field(description="Most points lost against the maximum first.")
    changes: list[ChangeOut] = Field(description="Change from the year before, worst first.")
    without_maximum: list[str] = Field(
        description="Components scored whose maximum is not known, so not in `weakest`."
    )


class ViaOut(BaseModel):
    source: Literal["link", "plan_document"] = Field(
        description="`link` (POST /api/v1/indices/links, or demo data) or the plan document's "
        "`index_components`."
    )
    component: str
    link_id: uuid.UUID | None
    note: str | None


class LinkedTaskOut(BaseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    plan_code: str
    province: str
    key: str
    title: str
    lead: str
    lead_org_unit_id: uuid.UUID
    due: date | None
    recurring: bool
    status: TaskStatus
    percent_complete: int
    overdue: bool
    via: list[ViaOut]


class FigureBrief(BaseModel):
    period: str
    value: float
    reported_at: datetime


class LinkedTargetOut(BaseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    plan_code: str
    province: str
    key: str
    text: str
    measure: str
    op: Op
    value: float
    unit: Unit
    effective_due: date
    plan_status: PlanStatus
    status: Literal["met", "not_met", "no_figure"] | None = Field(
        description="For `reported` targets, judged on the latest figure; null for targets "
        "measured on one-stop data, which the indicators service judges."
    )
    latest_figure: FigureBrief | None
    via: list[ViaOut]


class ComponentWorkOut(BaseModel):
    framework_code: str
    framework_version: str
    code: str
    name: str
    name_en: str | None
    max_score: float | None
    components: list[str] = Field(description="This component and those under it.")
    tasks: list[LinkedTaskOut]
    targets: list[LinkedTargetOut]


class LinkIn(BaseModel):
    """Exactly one of `task_id` and `target_id`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": [item], "properties": {item: {"type": "string"}}}
                for item in ("task_id", "target_id")
            ]
        },
    )

    task_id: uuid.UUID | None = None
    target_id: uuid.UUID | None = None
    framework: FrameworkCode = Field(description="`PAR_INDEX`, `SIPAS`, `PAPI`...")
    component: NodeCode = Field(description="Node code, e.g. `3` (an area of PAR INDEX).")
    note: Note | None = Field(None, description="Why the work serves the component.")


class LinkOut(BaseModel):
    id: uuid.UUID
    framework_code: str
    component: str
    item_kind: Literal["task", "target"]
    task_id: uuid.UUID | None = Field(description="Null when the plan is not imported yet.")
    target_id: uuid.UUID | None
    plan_province: str
    plan_code: str
    item_key: str
    note: str | None
    source: str = Field(description="`api` or `demo`.")
    created_by: str
    created_at: datetime
