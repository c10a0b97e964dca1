"""Agencies from the one-stop system (`vn.cchc.ingest.agency.changed`) become org units.

Upsert by code (MaDinhDanh); a version not newer than the one applied last is skipped, so
redeliveries and late arrivals change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.domain.catalogue import Level
from cchc_plans.domain.documents import CLEAN_TEXT
from cchc_plans.domain.org_units import UnitSpec
from cchc_plans.service.org_units import UnitChange, change_unit, create_unit
from cchc_plans.store import org_units
from cchc_shared.app import ServiceContext
from cchc_shared.events.consumer import ConsumerSpec, PoisonMessage
from cchc_shared.events.envelope import CloudEvent
from cchc_shared.events.streams import INGEST_STREAM

AGENCY_CHANGED = "vn.cchc.ingest.agency.changed"
DURABLE = "plans-agencies"
ACTOR = "ingest"

Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    CLEAN_TEXT,
]


class AgencyChanged(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=500), CLEAN_TEXT]
    level: Level
    parent_code: Code | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    successor_code: Code | None = None
    version: int


async def on_agency_changed(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    for event in events:
        if event.type != AGENCY_CHANGED:
            continue
        try:
            agency = AgencyChanged.model_validate(event.data)
        except ValidationError as exc:
            raise PoisonMessage(f"event {event.id}: {exc}") from exc
        await apply_agency(session, agency)


async def apply_agency(session: AsyncSession, agency: AgencyChanged) -> None:
    unit = await org_units.by_code(session, agency.code, for_update=True)
    parent = await org_units.by_code(session, agency.parent_code) if agency.parent_code else None
    province = parent.province if parent else None
    if unit is None:
        spec = UnitSpec(
            code=agency.code,
            name=agency.name,
            level=agency.level,
            parent=agency.parent_code,
            valid_from=agency.valid_from,
            valid_to=agency.valid_to,
            successor=agency.successor_code,
            province=province,
        )
        await create_unit(
            session, spec, actor=ACTOR, source="ingest", source_version=agency.version
        )
        return
    if unit.source_version is not None and agency.version <= unit.source_version:
        return  # an older or the same state of the agency
    change = UnitChange(
        name=agency.name,
        level=agency.level,
        parent_code=agency.parent_code,
        valid_from=agency.valid_from,
        valid_to=agency.valid_to,
        successor_codes=[agency.successor_code] if agency.successor_code else [],
        province=unit.province or province,
        clear=frozenset({"parent_code", "valid_from", "valid_to"}),
    )
    await change_unit(session, unit, change, actor=ACTOR, source_version=agency.version)


def consumers(_: ServiceContext) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            durable=DURABLE,
            stream=INGEST_STREAM.name,
            filter_subjects=("cchc.ingest.agency.changed",),
            handler=on_agency_changed,
        )
    ]
