"""Rules for figures agencies report against `reported` targets.

A figure is a numerator over a denominator (its value is the percentage) or a value on its own.
A numerator above its denominator, a percentage outside 0–100, a negative count and a period
outside the plan are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cchc_plans.domain.periods import Period, parse_period

HUNDRED = Decimal(100)
_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class FigureFault:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class FigureInput:
    period: str
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None


@dataclass(frozen=True, slots=True)
class CheckedFigure:
    period: Period
    value: Decimal


def check_figure(
    figure: FigureInput, *, unit: str, plan_start: date, plan_end: date
) -> tuple[CheckedFigure | None, list[FigureFault]]:
    """Answer the figure's period and value, or every fault found."""
    faults: list[FigureFault] = []
    period = _check_period(figure.period, plan_start, plan_end, faults)
    value = _check_value(figure, unit, faults)
    if faults or period is None or value is None:
        return None, faults
    return CheckedFigure(period, value), []


def _check_period(
    label: str, plan_start: date, plan_end: date, faults: list[FigureFault]
) -> Period | None:
    try:
        period = parse_period(label)
    except ValueError as exc:
        faults.append(FigureFault("period", str(exc)))
        return None
    if not period.overlaps(plan_start, plan_end):
        faults.append(
            FigureFault(
                "period", f"period {label} is outside the plan ({plan_start} to {plan_end})"
            )
        )
        return None
    return period


def _check_value(figure: FigureInput, unit: str, faults: list[FigureFault]) -> Decimal | None:
    has_ratio = figure.numerator is not None or figure.denominator is not None
    if has_ratio and figure.value is not None:
        faults.append(FigureFault("value", "give either a value or a numerator and denominator"))
        return None
    if has_ratio:
        return _ratio_value(figure.numerator, figure.denominator, unit, faults)
    if figure.value is None:
        faults.append(FigureFault("value", "give a value, or a numerator and a denominator"))
        return None
    return _plain_value(figure.value, unit, faults)


def _ratio_value(
    numerator: Decimal | None, denominator: Decimal | None, unit: str, faults: list[FigureFault]
) -> Decimal | None:
    if unit != "percent":
        faults.append(FigureFault("numerator", f"a {unit} target takes a value, not a ratio"))
        return None
    if numerator is None:
        faults.append(FigureFault("numerator", "a denominator needs its numerator"))
    elif numerator < 0:
        faults.append(FigureFault("numerator", "the numerator cannot be negative"))
    if denominator is None:
        faults.append(FigureFault("denominator", "a numerator needs its denominator"))
    elif denominator <= 0:
        faults.append(FigureFault("denominator", "the denominator must be above zero"))
    if numerator is None or denominator is None or numerator < 0 or denominator <= 0:
        return None
    if numerator > denominator:
        faults.append(
            FigureFault(
                "numerator", f"the numerator {numerator} is above the denominator {denominator}"
            )
        )
        return None
    return (numerator * HUNDRED / denominator).quantize(_QUANTUM)


def _plain_value(value: Decimal, unit: str, faults: list[FigureFault]) -> Decimal | None:
    if unit == "percent" and not (0 <= value <= HUNDRED):
        faults.append(FigureFault("value", f"a percentage must lie within 0–100, not {value}"))
        return None
    if unit in ("count", "days") and value < 0:
        faults.append(FigureFault("value", f"a {unit} cannot be negative"))
        return None
    return value
