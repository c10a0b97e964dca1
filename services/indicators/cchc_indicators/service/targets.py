"""Plan targets judged against their indicators (indicators.md, "Target status").

Choices where indicators.md is silent:
- A target's value is its indicator over the plan's period from its start to the evaluation date
  (or the target's due date, when that comes first); catalogue targets read the catalogue as it
  stood on that day; reported targets read the newest figure reported by then that no later
  figure supersedes.
- The trend is a least-squares line through the indicator's values in the last three complete
  months (those inside the plan's period), extended to the due month; with fewer than two
  monthly values the current value is taken as the projection.
- A target without a due date is due at the end of its plan's period.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_indicators.domain.catalogue import BY_CODE, IndicatorCode
from cchc_indicators.domain.evaluate import Figure
from cchc_indicators.domain.periods import Grain, Period, local_midnight, period_of
from cchc_indicators.service import figures
from cchc_indicators.service.context import ReadContext, read_context
from cchc_indicators.service.figures import Filter, QueryError, Scope
from cchc_indicators.store import reference
from cchc_indicators.store.models import OutboxEvent, Plan, ReportedFigure, Target
from cchc_indicators.store.state import mark_evaluated
from cchc_shared.events.envelope import CloudEvent
from cchc_shared.events.outbox import enqueue

STATUS_CHANGED = "vn.cchc.indicators.target.status_changed"
FILTER_KEYS = {"field_group", "field", "procedure", "channel"}


@dataclass(frozen=True, slots=True)
class Evaluation:
    target: Target
    plan: Plan
    figure: Figure | None
    status: str
    gap: float | None
    projected: float | None = None
    reported: ReportedFigure | None = None
    note: str | None = None

    @property
    def value(self) -> float | None:
        if self.figure is None or self.figure.value is None:
            return None
        return float(self.figure.value)


def satisfies(value: float, op: str, target: Decimal | float) -> bool:
    goal = float(target)
    return {
        ">=": value >= goal,
        "<=": value <= goal,
        ">": value > goal,
        "<": value < goal,
        "=": value == goal,
    }.get(op, False)


def due_date(target: Target, plan: Plan) -> date | None:
    return target.due or plan.period_to


def target_filter(raw: dict[str, Any] | None) -> Filter:
    if not raw:
        return figures.NO_FILTER
    unknown = set(raw) - FILTER_KEYS
    if unknown:
        raise QueryError("filter", f"unsupported filter keys: {', '.join(sorted(unknown))}")

    def listed(key: str) -> list[str] | None:
        value = raw.get(key)
        if value is None:
            return None
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    return Filter(listed("field_group"), listed("field"), listed("procedure"), listed("channel"))


def _scope(ctx: ReadContext, target: Target) -> Scope:
    if target.scope_org_unit_id is None:
        return Scope(None, None)
    return figures.resolve_scope(ctx, str(target.scope_org_unit_id), "receipt")


async def indicator_figure(
    ctx: ReadContext, target: Target, plan: Plan, window: Period
) -> tuple[Figure | None, ReportedFigure | None]:
    if target.measure == "reported":
        by = local_midnight(window.end)
        figure_row = await reference.latest_figure(ctx.session, target.id, by=by)
        return (reported_figure(figure_row) if figure_row else None), figure_row
    code = IndicatorCode(target.measure)
    flt = target_filter(target.filter)
    if BY_CODE[code].source == "catalog":
        return (await figures.catalog_values(ctx, code, window, None, flt)).figure, None
    return await figures.dossier_figure(ctx, code, window, _scope(ctx, target), flt), None


def reported_figure(row: ReportedFigure) -> Figure:
    if row.value is not None:
        value: float | None = float(row.value)
    elif row.numerator is not None and row.denominator:
        value = 100 * float(row.numerator) / float(row.denominator)
    else:
        value = None
    numerator = float(row.numerator) if row.numerator is not None else (value or 0.0)
    denominator = int(row.denominator) if row.denominator is not None else None
    return Figure(numerator, denominator, value)


def plan_window(target: Target, plan: Plan, at: date) -> Period | None:
    start = plan.period_from or date(at.year, 1, 1)
    due = due_date(target, plan)
    last = min(at, due) if due else at
    if last < start:
        return None
    return Period(f"{start.isoformat()}/{last.isoformat()}", start, last + timedelta(days=1), None)


async def evaluate_target(ctx: ReadContext, target: Target, plan: Plan, at: date) -> Evaluation:
    window = plan_window(target, plan, at)
    if window is None:
        return Evaluation(target, plan, None, "no_data", None, note="the plan has not started")
    if target.measure != "reported" and target.measure not in IndicatorCode.__members__:
        return Evaluation(target, plan, None, "no_data", None, note="unknown indicator")
    try:
        figure, reported = await indicator_figure(ctx, target, plan, window)
    except QueryError as exc:
        return Evaluation(target, plan, None, "no_data", None, note=str(exc))
    value = None if figure is None or figure.value is None else float(figure.value)
    if value is None:
        return Evaluation(target, plan, figure, "no_data", None, reported=reported)
    gap = value - float(target.value)
    if satisfies(value, target.op, target.value):
        return Evaluation(target, plan, figure, "achieved", gap, reported=reported)
    due = due_date(target, plan)
    if due is not None and at >= due:
        return Evaluation(target, plan, figure, "missed", gap, reported=reported)
    projected = await _projection(ctx, target, plan, window, at, value)
    status = "on_track" if satisfies(projected, target.op, target.value) else "at_risk"
    return Evaluation(target, plan, figure, status, gap, projected, reported)


async def _projection(
    ctx: ReadContext, target: Target, plan: Plan, window: Period, at: date, current: float
) -> float:
    due = due_date(target, plan)
    if target.measure == "reported" or due is None:
        return current
    months = _last_complete_months(at, window.start)
    points: list[tuple[int, float]] = []
    for index, month in enumerate(months):
        figure, _ = await indicator_figure(ctx, target, plan, month)
        if figure is not None and figure.value is not None:
            points.append((index, float(figure.value)))
    if len(points) < 2:
        return current
    slope, intercept = _least_squares(points)
    last_month = months[-1].start
    ahead = (due.year * 12 + due.month) - (last_month.year * 12 + last_month.month)
    return intercept + slope * (len(months) - 1 + ahead)


def _last_complete_months(at: date, not_before: date) -> list[Period]:
    month = period_of(at, Grain.MONTH)
    if at != month.last_day:
        month = period_of(month.start - timedelta(days=1), Grain.MONTH)
    months = []
    for _ in range(3):
        if month.start >= not_before:
            months.append(month)
        month = period_of(month.start - timedelta(days=1), Grain.MONTH)
    return list(reversed(months))


def _least_squares(points: list[tuple[int, float]]) -> tuple[float, float]:
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0
    return slope, mean_y - slope * mean_x


async def scorecard(ctx: ReadContext, plan: Plan, at: date) -> list[Evaluation]:
    return [
        await evaluate_target(ctx, target, plan, at)
        for target in await reference.targets_of(ctx.session, plan.id)
    ]


# The evaluation worker

EVALUATION_LOCK = zlib.crc32(b"indicators.target_evaluation")


async def evaluate_all(session: AsyncSession, now: datetime | None = None) -> int:
    """Re-evaluate every target; write changed statuses and their events. Answers the count of
    changes. Runs under a transaction-level advisory lock: one evaluator at a time."""
    locked = (
        await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": EVALUATION_LOCK})
    ).scalar()
    if not locked:
        return 0
    now = now or datetime.now(UTC)
    ctx = await read_context(session, now)
    held = await reference.statuses(session)
    changed = 0
    for target, plan in await reference.all_targets_with_plans(session):
        evaluation = await evaluate_target(ctx, target, plan, ctx.today)
        previous = held.get(target.id)
        if previous is not None and previous.status == evaluation.status:
            continue
        await _record(session, evaluation, previous.status if previous else None, now)
        changed += 1
    await mark_evaluated(session, ctx.freshness.data_version)
    return changed


async def _record(
    session: AsyncSession, evaluation: Evaluation, previous: str | None, now: datetime
) -> None:
    target_id: uuid.UUID = evaluation.target.id
    await reference.save_status(
        session,
        {
            "target_id": target_id,
            "plan_id": evaluation.plan.id,
            "status": evaluation.status,
            "value": evaluation.value,
            "evaluated_at": now,
        },
    )
    event = CloudEvent(
        source="/cchc/indicators",
        type=STATUS_CHANGED,
        subject=str(target_id),
        data={
            "target_id": str(target_id),
            "plan_id": str(evaluation.plan.id),
            "previous_status": previous,
            "status": evaluation.status,
            "value": evaluation.value,
            "evaluated_at": now.isoformat().replace("+00:00", "Z"),
        },
    )
    await enqueue(session, OutboxEvent, event)
