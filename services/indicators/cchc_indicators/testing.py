"""Builders of the events this service consumes, for tests and benchmarks (no other service's
code: the payloads are those of ``docs/events.md``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_indicators.domain.facts import DossierFacts
from cchc_indicators.domain.periods import VN_TZ
from cchc_indicators.events.consume import (
    AGENCY_CHANGED,
    DOSSIER_CHANGED,
    FIGURE_REPORTED,
    ORG_UNIT_CHANGED,
    PROCEDURE_CHANGED,
    TARGET_UPSERTED,
    handle_events,
)
from cchc_shared.db import create_sessionmaker, transaction
from cchc_shared.events.envelope import CloudEvent


def vn(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A Vietnam local time."""
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def facts(code: str, version: int = 1, **changes: Any) -> DossierFacts:
    """A received, open, in-person dossier of agency A1 received 2024-03-01 09:00, due 03-08."""
    base: dict[str, Any] = {
        "dossier_code": code,
        "version": version,
        "updated_at": vn(2024, 3, 1),
        "agency_code": "A1",
        "procedure_code": "1.000001",
        "field_code": "DAT_DAI",
        "status": 4,
        "received": True,
        "received_at": vn(2024, 3, 1),
        "withdrawn": False,
        "finished": False,
        "due_at_original": vn(2024, 3, 8, 17),
        "due_at": vn(2024, 3, 8, 17),
        "channel": "in_person",
        "has_fee": False,
        "paid_online": False,
        "digitized": False,
        "e_certified": False,
        "synced": False,
    }
    return DossierFacts.model_validate(base | changes)


def finished(code: str, version: int, at: datetime, **changes: Any) -> DossierFacts:
    return facts(code, version, status=10, finished=True, finished_at=at, **changes)


def event(type_: str, data: dict[str, Any], *, time: datetime | None = None) -> CloudEvent:
    source = "/cchc/ingest" if ".ingest." in type_ else "/cchc/plans"
    return CloudEvent(source=source, type=type_, data=data, time=time or datetime.now(UTC))


def dossier_event(f: DossierFacts) -> CloudEvent:
    return event(
        DOSSIER_CHANGED,
        {
            "dossier_code": f.dossier_code,
            "version": f.version,
            "previous_version": None,
            "source": "test",
            "before": None,
            "after": f.model_dump(mode="json"),
        },
    )


def agency_event(
    code: str,
    name: str,
    level: str,
    parent: str | None,
    *,
    version: int = 1,
    valid_from: date | None = None,
    valid_to: date | None = None,
    successor: str | None = None,
) -> CloudEvent:
    return event(
        AGENCY_CHANGED,
        {
            "code": code,
            "name": name,
            "level": level,
            "parent_code": parent,
            "valid_from": valid_from.isoformat() if valid_from else None,
            "valid_to": valid_to.isoformat() if valid_to else None,
            "successor_code": successor,
            "version": version,
        },
    )


def org_unit_event(
    unit_id: uuid.UUID, code: str, name: str, level: str, parent: str | None, version: int = 1
) -> CloudEvent:
    return event(
        ORG_UNIT_CHANGED,
        {
            "id": str(unit_id),
            "code": code,
            "slug": code.lower(),
            "name": name,
            "level": level,
            "parent_id": None,
            "parent_code": parent,
            "valid_from": None,
            "valid_to": None,
            "successor_ids": [],
            "version": version,
        },
    )


def procedure_event(code: str, version: int = 1, **changes: Any) -> CloudEvent:
    data: dict[str, Any] = {
        "code": code,
        "name": f"Thủ tục {code}",
        "field_code": "DAT_DAI",
        "field_name": "Đất đai",
        "levels": ["province"],
        "online_level": "none",
        "legacy_level": None,
        "full_online_eligible": False,
        "on_national_portal": False,
        "has_fee": False,
        "online_payment": False,
        "postal": False,
        "published": True,
        "processing_days": 10,
        "valid_from": None,
        "valid_to": None,
        "version": version,
    }
    return event(PROCEDURE_CHANGED, data | changes)


def plan_event(
    plan_id: uuid.UUID, code: str, period_from: date, period_to: date, version: int = 1
) -> CloudEvent:
    return event(
        "vn.cchc.plans.plan.issued",
        {
            "id": str(plan_id),
            "code": code,
            "kind": "annual_plan",
            "title": f"Kế hoạch {code}",
            "province": "kon-tum",
            "period_from": period_from.isoformat(),
            "period_to": period_to.isoformat(),
            "status": "issued",
            "version": version,
        },
    )


def target_event(
    target_id: uuid.UUID,
    plan_id: uuid.UUID,
    key: str,
    measure: str,
    value: float,
    *,
    op: str = ">=",
    due: date | None = None,
    filter_: dict[str, Any] | None = None,
    scope: uuid.UUID | None = None,
    version: int = 1,
) -> CloudEvent:
    return event(
        TARGET_UPSERTED,
        {
            "id": str(target_id),
            "plan_id": str(plan_id),
            "plan_code": "TEST",
            "key": key,
            "text": f"Chỉ tiêu {key}",
            "area": "tthc",
            "measure": measure,
            "op": op,
            "value": value,
            "unit": "percent",
            "filter": filter_,
            "due": due.isoformat() if due else None,
            "scope_org_unit_id": str(scope) if scope else None,
            "baseline": None,
            "version": version,
        },
    )


def figure_event(
    target_id: uuid.UUID,
    value: float,
    reported_at: datetime,
    *,
    figure_id: uuid.UUID | None = None,
    supersedes: uuid.UUID | None = None,
) -> CloudEvent:
    return event(
        FIGURE_REPORTED,
        {
            "id": str(figure_id or uuid.uuid4()),
            "target_id": str(target_id),
            "plan_id": None,
            "measure": "reported",
            "period": "2023",
            "org_unit_id": None,
            "numerator": None,
            "denominator": None,
            "value": value,
            "reported_by": "so-noi-vu",
            "reported_at": reported_at.isoformat(),
            "supersedes_id": str(supersedes) if supersedes else None,
            "version": 1,
        },
    )


async def apply(engine: AsyncEngine, events: Sequence[CloudEvent]) -> None:
    """Run the consumers' batch handler on events, committed (what a consumer batch does)."""
    async with transaction(create_sessionmaker(engine)) as session:
        await handle_events(session, events)


def kontum_catalogue() -> list[CloudEvent]:
    """1,904 procedures with the make-up of the simulator's Kon Tum catalogue (acceptance 2):
    levels 1,545 provincial / 237 district / 102 commune / 20 several; online levels as the
    contract maps the legacy ones (2 thông tin = none, 3 một phần = partial, 4 toàn trình = full):
    972 none / 298 partial / 634 full; 1,344 accepting post."""
    levels = ([["province"]] * 1545 + [["district"]] * 237 + [["commune"]] * 102) + [
        ["province", "district", "commune"]
    ] * 20
    online = ["none"] * 972 + ["partial"] * 298 + ["full"] * 634
    fields = [("DAT_DAI", "Đất đai"), ("HO_TICH", "Hộ tịch"), ("XAY_DUNG", "Xây dựng")]
    return [
        procedure_event(
            f"1.{i:06d}",
            levels=levels[i],
            online_level=online[(i * 3) % 1904],  # spread online levels across the levels
            postal=i < 1344,
            field_code=fields[i % 3][0],
            field_name=fields[i % 3][1],
            has_fee=i % 2 == 0,
            online_payment=i % 4 == 0,
        )
        for i in range(1904)
    ]
