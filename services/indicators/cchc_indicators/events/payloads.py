"""Payloads of the events this service consumes (``docs/events.md``), validated on arrival.

Unknown fields are ignored (producers may add some); a payload that fails validation can never be
applied and is dead-lettered.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cchc_indicators.domain.facts import DossierFacts


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class DossierChanged(Payload):
    dossier_code: str
    version: int = Field(ge=1)
    previous_version: int | None = None
    source: str | None = None
    after: DossierFacts


class ProcedureChanged(Payload):
    code: str = Field(min_length=1, max_length=64)
    name: str
    field_code: str | None = Field(None, max_length=64)
    field_name: str | None = None
    levels: list[Literal["province", "district", "commune"]] = Field(default_factory=list)
    online_level: Literal["full", "partial", "none"]
    legacy_level: int | None = None
    full_online_eligible: bool = False
    on_national_portal: bool = False
    has_fee: bool = False
    online_payment: bool = False
    postal: bool = False
    published: bool = False
    processing_days: float | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    version: int = Field(ge=1)


class AgencyChanged(Payload):
    code: str = Field(min_length=1, max_length=64)
    name: str
    level: str
    parent_code: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    successor_code: str | None = None
    version: int = Field(ge=1)


class OrgUnitChanged(Payload):
    id: uuid.UUID
    code: str | None = Field(None, max_length=64)
    slug: str | None = None
    name: str
    level: str
    parent_id: uuid.UUID | None = None
    parent_code: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    successor_ids: list[uuid.UUID] = Field(default_factory=list)
    version: int = Field(ge=1)


class PlanChanged(Payload):
    id: uuid.UUID
    code: str
    kind: str | None = None
    title: str
    province: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    status: str
    version: int = Field(ge=1)


class TargetUpserted(Payload):
    id: uuid.UUID
    plan_id: uuid.UUID
    plan_code: str | None = None
    key: str
    text: str
    area: str | None = None
    measure: str
    op: str = Field(pattern=r"^(>=|<=|>|<|=)$")
    value: Decimal
    unit: str | None = None
    filter: dict[str, Any] | None = None
    due: date | None = None
    scope_org_unit_id: uuid.UUID | None = None
    baseline: Decimal | None = None
    version: int = Field(ge=1)


class FigureReported(Payload):
    id: uuid.UUID
    target_id: uuid.UUID
    plan_id: uuid.UUID | None = None
    measure: str | None = None
    period: str | None = None
    org_unit_id: uuid.UUID | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    value: Decimal | None = None
    reported_by: str | None = None
    reported_at: datetime
    supersedes_id: uuid.UUID | None = None
    version: int = Field(ge=1)
