"""Figures agencies report for `reported` targets; a correction supersedes, history stays."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.domain.catalogue import REPORTED
from cchc_plans.domain.figures import FigureInput, check_figure
from cchc_plans.domain.org_units import overlaps
from cchc_plans.events import publish as ev
from cchc_plans.store import audit, figures, org_units, plans
from cchc_plans.store.models import ReportedFigure
from cchc_plans.store.snapshots import figure_state
from cchc_shared.errors import Conflict, FieldError, NotFound, ValidationFailed


@dataclass(frozen=True)
class FigureReport:
    period: str
    org_unit_id: uuid.UUID
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    value: Decimal | None = None
    evidence: list[str] = field(default_factory=list)
    note: str | None = None


async def report_figure(
    session: AsyncSession, target_id: uuid.UUID, report: FigureReport, *, actor: str
) -> ReportedFigure:
    # Locking the target serialises reports on it: two corrections cannot both supersede one.
    target = await plans.get_target(session, target_id, for_update=True)
    if target is None:
        raise NotFound("target", target_id)
    plan = await plans.get(session, target.plan_id)
    assert plan is not None
    if target.measure != REPORTED:
        raise Conflict(f"target {target.key} is measured by {target.measure}, not reported figures")
    if target.withdrawn:
        raise Conflict(f"target {target.key} was withdrawn from its plan")
    if plan.status == "draft":
        raise Conflict("the plan is a draft; figures are reported on issued plans")
    checked, faults = check_figure(
        FigureInput(report.period, report.numerator, report.denominator, report.value),
        unit=target.unit,
        plan_start=plan.period_from,
        plan_end=plan.period_to,
    )
    errors = [FieldError(field=f"body.{f.field}", message=f.message) for f in faults]
    unit = await org_units.get(session, report.org_unit_id)
    if unit is None:
        errors.append(FieldError(field="body.org_unit_id", message="unknown org unit"))
    elif checked and not overlaps(
        unit.valid_from, unit.valid_to, checked.period.first_day, checked.period.last_day
    ):
        errors.append(
            FieldError(
                field="body.org_unit_id",
                message=f"org unit {unit.code} did not exist in {report.period}",
            )
        )
    if errors or checked is None or unit is None:
        raise ValidationFailed(errors)
    previous = await figures.current(session, target.id, report.period, unit.id)
    figure = ReportedFigure(
        id=uuid.uuid4(),
        target_id=target.id,
        plan_id=plan.id,
        period=report.period,
        period_start=checked.period.first_day,
        period_end=checked.period.last_day,
        org_unit_id=unit.id,
        numerator=report.numerator,
        denominator=report.denominator,
        value=checked.value,
        evidence=list(report.evidence),
        note=report.note,
        reported_by=actor,
        reported_at=datetime.now(UTC),
        supersedes_id=previous.id if previous else None,
        version=(previous.version + 1) if previous else 1,
    )
    if previous is not None:
        previous.superseded_by_id = figure.id
        await session.flush()  # the partial unique index allows one current figure at a time
    session.add(figure)
    await session.flush()
    audit.record(
        session,
        entity_type="figure",
        entity_id=figure.id,
        plan_id=plan.id,
        action="reported" if previous is None else "corrected",
        actor=actor,
        before=figure_state(previous) if previous else None,
        after=figure_state(figure),
        reason=report.note,
    )
    await ev.publish(session, ev.figure_reported(figure, target, unit.code))
    return figure
