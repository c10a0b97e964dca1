"""The consumers: ingest's dossiers, procedures and agencies; plans' org units, plans, targets and
reported figures. Each batch is applied in the transaction that records its event ids in
``processed_messages`` (redeliveries are skipped there), and each aggregate applies a version only
when it is newer than the one held.

A dossier's change retracts what *we* hold for it and adds the new version: the event's own
``before`` is ignored, since a lost or reordered event would make it disagree with our state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_indicators.domain.aggregates import Contribution, diff
from cchc_indicators.domain.facts import DossierFacts
from cchc_indicators.events.payloads import (
    AgencyChanged,
    DossierChanged,
    FigureReported,
    OrgUnitChanged,
    PlanChanged,
    ProcedureChanged,
    TargetUpserted,
)
from cchc_indicators.service.field_groups import field_group
from cchc_indicators.service.org_tree import compute_paths
from cchc_indicators.store import aggregates, dossiers, reference
from cchc_indicators.store.models import OrgUnit, Plan, ReportedFigure, Target
from cchc_indicators.store.state import mark_applied
from cchc_shared.app import ServiceContext
from cchc_shared.events.consumer import ConsumerSpec, PoisonMessage
from cchc_shared.events.envelope import CloudEvent

DOSSIER_CHANGED = "vn.cchc.ingest.dossier.changed"
PROCEDURE_CHANGED = "vn.cchc.ingest.procedure.changed"
AGENCY_CHANGED = "vn.cchc.ingest.agency.changed"
ORG_UNIT_CHANGED = "vn.cchc.plans.org_unit.changed"
PLAN_EVENTS = (
    "vn.cchc.plans.plan.issued",
    "vn.cchc.plans.plan.amended",
    "vn.cchc.plans.plan.closed",
)
TARGET_UPSERTED = "vn.cchc.plans.target.upserted"
FIGURE_REPORTED = "vn.cchc.plans.figure.reported"

P = TypeVar("P", bound=BaseModel)


def parse(model: type[P], event: CloudEvent) -> P:
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        raise PoisonMessage(f"{event.type} {event.id}: {exc}") from exc


# Dossiers


async def prepare_dossier_changes(
    session: AsyncSession, changes: Sequence[DossierChanged]
) -> list[Contribution]:
    """Store the newer versions among ``changes``; answer what they change in the aggregates."""
    held = await dossiers.lock_dossiers(session, [c.dossier_code for c in changes])
    rows: list[Contribution] = []
    latest: dict[str, DossierFacts] = {}
    for change in sorted(changes, key=lambda c: (c.dossier_code, c.version)):
        current = held[change.dossier_code]
        if change.version <= current.version:
            continue  # an older or equal version arrived late: what we hold is newer
        rows.extend(diff(current.facts, change.after))
        held[change.dossier_code] = dossiers.HeldDossier(change.version, change.after)
        latest[change.dossier_code] = change.after
    await dossiers.save_dossiers(session, list(latest.values()))
    return rows


def dossier_change(event: CloudEvent) -> DossierChanged:
    change = parse(DossierChanged, event)
    after = change.after
    if after.dossier_code != change.dossier_code or after.version != change.version:
        raise PoisonMessage(
            f"{event.id}: payload names {change.dossier_code} v{change.version} but its facts "
            f"are {after.dossier_code} v{after.version}"
        )
    return change


# Catalogue and org units


async def apply_procedure(session: AsyncSession, event: CloudEvent) -> None:
    p = parse(ProcedureChanged, event)
    values = p.model_dump()
    values["recorded_at"] = event.time
    await reference.add_procedure_version(session, values)
    if p.field_code:
        group = field_group(p.field_code, p.field_name)
        await reference.upsert_field(session, p.field_code, p.field_name or p.field_code, group)


async def apply_agency(session: AsyncSession, event: CloudEvent) -> None:
    a = parse(AgencyChanged, event)
    values = {
        "code": a.code,
        "name": a.name,
        "level": a.level,
        "parent_code": a.parent_code,
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
        "successor_codes": [a.successor_code] if a.successor_code else [],
        "ingest_version": a.version,
    }
    await reference.upsert_versioned(
        session, OrgUnit, values, key=["code"], version_column="ingest_version"
    )


async def apply_org_unit(session: AsyncSession, event: CloudEvent) -> None:
    u = parse(OrgUnitChanged, event)
    by_id = {str(row.id): row.code for row in await reference.all_org_units(session) if row.id}
    parent = u.parent_code or (
        by_id.get(str(u.parent_id), str(u.parent_id)) if u.parent_id else None
    )
    values = {
        "code": u.code or str(u.id),
        "id": u.id,
        "slug": u.slug,
        "name": u.name,
        "level": u.level,
        "parent_code": parent,
        "valid_from": u.valid_from,
        "valid_to": u.valid_to,
        "successor_codes": [by_id.get(str(s), str(s)) for s in u.successor_ids],
        "plans_version": u.version,
    }
    await reference.upsert_versioned(
        session, OrgUnit, values, key=["code"], version_column="plans_version"
    )


async def refresh_paths(session: AsyncSession) -> None:
    units = await reference.all_org_units(session)
    paths = compute_paths({u.code: u.parent_code for u in units})
    changed = {u.code: paths[u.code] for u in units if list(u.path or []) != paths[u.code]}
    await reference.save_paths(session, changed)


# Plans


async def apply_plan(session: AsyncSession, event: CloudEvent) -> None:
    await reference.upsert_versioned(
        session, Plan, parse(PlanChanged, event).model_dump(), key=["id"]
    )


async def apply_target(session: AsyncSession, event: CloudEvent) -> None:
    await reference.upsert_versioned(
        session, Target, parse(TargetUpserted, event).model_dump(), key=["id"]
    )


async def apply_figure(session: AsyncSession, event: CloudEvent) -> None:
    await reference.upsert_versioned(
        session, ReportedFigure, parse(FigureReported, event).model_dump(), key=["id"]
    )


# Batch handlers


async def handle_events(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """The batch handler of both consumers (each sees only its own stream's subjects)."""
    if not events:
        return
    changes: list[DossierChanged] = []
    tree_changed = reference_changed = False
    for event in events:
        handler = _REFERENCE_HANDLERS.get(event.type)
        if event.type == DOSSIER_CHANGED:
            changes.append(dossier_change(event))
        elif handler is not None:
            await handler(session, event)
            reference_changed = True
            tree_changed |= event.type in (AGENCY_CHANGED, ORG_UNIT_CHANGED)
    rows = await prepare_dossier_changes(session, changes) if changes else []
    if tree_changed:
        await refresh_paths(session)
    # The version is taken last (it locks service_state until commit: see mark_applied) and
    # stamps the aggregate rows this batch changes, for the read models to pull.
    version = await mark_applied(
        session, max(e.time for e in events), reference_changed=reference_changed
    )
    await aggregates.add_contributions(session, rows, version=version)


_REFERENCE_HANDLERS: dict[str, Any] = {
    PROCEDURE_CHANGED: apply_procedure,
    AGENCY_CHANGED: apply_agency,
    ORG_UNIT_CHANGED: apply_org_unit,
    **{t: apply_plan for t in PLAN_EVENTS},
    TARGET_UPSERTED: apply_target,
    FIGURE_REPORTED: apply_figure,
}

INGEST_SUBJECTS = (
    "cchc.ingest.dossier.changed",
    "cchc.ingest.procedure.changed",
    "cchc.ingest.agency.changed",
)
PLANS_SUBJECTS = (
    "cchc.plans.org_unit.changed",
    "cchc.plans.plan.>",
    "cchc.plans.target.upserted",
    "cchc.plans.figure.reported",
)


def consumers(ctx: ServiceContext) -> list[ConsumerSpec]:
    batch = ctx.settings.consumer_batch_size
    deliveries = ctx.settings.consumer_max_deliver
    return [
        ConsumerSpec(
            durable="indicators-ingest",
            stream="CCHC_INGEST",
            filter_subjects=INGEST_SUBJECTS,
            handler=handle_events,
            batch_size=batch,
            max_deliver=deliveries,
        ),
        ConsumerSpec(
            durable="indicators-plans",
            stream="CCHC_PLANS",
            filter_subjects=PLANS_SUBJECTS,
            handler=handle_events,
            batch_size=batch,
            max_deliver=deliveries,
        ),
    ]
