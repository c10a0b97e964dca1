"""Indicator values, series and rankings from the aggregates (dossier codes) or the catalogue
snapshot (catalogue codes), for an org unit's subtree, a period and a breakdown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from cchc_indicators.domain.aggregates import MeasureSums, combine
from cchc_indicators.domain.catalogue import IndicatorCode, IndicatorDefinition
from cchc_indicators.domain.evaluate import RULES, Figure, count, evaluate, rate
from cchc_indicators.domain.periods import Grain, Period, local_midnight, period_series
from cchc_indicators.service.context import ReadContext
from cchc_indicators.service.org_tree import Unit
from cchc_indicators.service.read_model import MODEL
from cchc_indicators.store import aggregates, reference
from cchc_indicators.store.aggregates import GroupBy, SumsQuery

Breakdown = Literal["org_unit", "procedure", "field", "field_group", "channel", "level"]
Boundaries = Literal["receipt", "today"]

CHANNEL_NAMES = {
    "in_person": "Trực tiếp",
    "online": "Trực tuyến",
    "postal": "Bưu chính công ích",
}
GROUP_NAMES = {"dat_dai": "Đất đai", "xay_dung": "Xây dựng", "dau_tu": "Đầu tư"}


class QueryError(ValueError):
    """A request that cannot be answered; ``field`` names the parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Scope:
    """The dossiers a figure covers: an org unit's subtree (all units when ``unit`` is None)."""

    unit: Unit | None
    agencies: list[str] | None
    boundaries: Boundaries = "receipt"


@dataclass(frozen=True, slots=True)
class Filter:
    """A target's filter: field groups, fields, procedures, channels (each optional)."""

    field_groups: list[str] | None = None
    fields: list[str] | None = None
    procedures: list[str] | None = None
    channels: list[str] | None = None


NO_FILTER = Filter()


@dataclass(frozen=True, slots=True)
class Row:
    key: str | None
    name: str | None
    figure: Figure


@dataclass(frozen=True, slots=True)
class Values:
    figure: Figure
    rows: list[Row] | None


def resolve_scope(
    ctx: ReadContext,
    org_unit: str | None,
    boundaries: Boundaries,
    field: str = "query.org_unit",
) -> Scope:
    if org_unit is None or not org_unit.strip():
        return Scope(None, None, boundaries)
    unit = ctx.tree.find(org_unit)
    if unit is None:
        raise QueryError(field, f"no org unit {org_unit!r} (give its id, code or slug)")
    if boundaries == "today":
        return Scope(unit, ctx.tree.subtree_today(unit.code, ctx.today), boundaries)
    return Scope(unit, ctx.tree.subtree(unit.code), boundaries)


def clip(ctx: ReadContext, period: Period, field: str = "query.period") -> Period:
    """Cut a running period at the end of today: stocks are read now, not in the future."""
    try:
        return period.clipped(ctx.today)
    except ValueError as exc:
        raise QueryError(field, str(exc)) from None


def is_catalog(definition: IndicatorDefinition) -> bool:
    return definition.source == "catalog"


# Dossier indicators


def _sums_query(
    ctx: ReadContext, period: Period, scope: Scope, flt: Filter, group_by: GroupBy | None
) -> SumsQuery:
    fields = flt.fields
    if flt.field_groups is not None:
        in_groups = ctx.reference.fields_in_groups(flt.field_groups)
        fields = in_groups if fields is None else sorted(set(fields) & set(in_groups))
    return SumsQuery(
        period=period,
        agencies=scope.agencies,
        group_by=group_by,
        field_codes=fields,
        procedure_codes=flt.procedures,
        channels=flt.channels,
    )


async def _from_read_model(ctx: ReadContext, flt: Filter) -> bool:
    """Whether the in-memory read model answers (caught up first): questions on agencies and
    periods only. A filter or breakdown on procedure, field, field group or channel reads the
    aggregate tables."""
    if flt != NO_FILTER or not MODEL.usable(ctx.freshness):
        return False
    tree = ctx.tree
    await MODEL.catch_up(
        ctx.open_session, ctx.freshness, lambda: (tree.subtree(code) for code in tree.units)
    )
    return True


async def dossier_sums(
    ctx: ReadContext,
    period: Period,
    scope: Scope,
    flt: Filter = NO_FILTER,
    group_by: GroupBy | None = None,
) -> dict[str | None, MeasureSums]:
    if group_by in (None, "agency") and await _from_read_model(ctx, flt):
        if group_by is None:
            return {None: MODEL.sums(scope.agencies, period)}
        return MODEL.sums_by_agency(scope.agencies, period)
    query = _sums_query(ctx, period, scope, flt, group_by)
    return await aggregates.period_sums(ctx.session, query)


async def dossier_figure(
    ctx: ReadContext, code: IndicatorCode, period: Period, scope: Scope, flt: Filter = NO_FILTER
) -> Figure:
    sums = await dossier_sums(ctx, period, scope, flt)
    return evaluate(code, combine(sums.values()))


async def dossier_values(
    ctx: ReadContext,
    code: IndicatorCode,
    period: Period,
    scope: Scope,
    by: Breakdown | None,
    flt: Filter = NO_FILTER,
) -> Values:
    if by is None:
        return Values(await dossier_figure(ctx, code, period, scope, flt), None)
    if by == "level":
        raise QueryError("query.by", "by=level applies to catalogue indicators only")
    if by == "org_unit":
        return await _by_org_unit(ctx, code, period, scope, flt)
    group_by: GroupBy = "field" if by == "field_group" else by
    groups = await dossier_sums(ctx, period, scope, flt, group_by)
    total = evaluate(code, combine(groups.values()))
    if by == "field_group":
        groups = _merge_field_groups(ctx, groups)
    names = await _group_names(ctx, by, [k for k in groups if k is not None])
    rows = [Row(k, names.get(k) if k else None, evaluate(code, s)) for k, s in groups.items()]
    return Values(total, sorted(rows, key=lambda r: (r.key is None, r.key or "")))


def _merge_field_groups(
    ctx: ReadContext, groups: dict[str | None, MeasureSums]
) -> dict[str | None, MeasureSums]:
    merged: dict[str | None, list[MeasureSums]] = {}
    for field_code, sums in groups.items():
        info = ctx.reference.fields.get(field_code) if field_code else None
        key = info.group if info else (field_code.lower() if field_code else None)
        merged.setdefault(key, []).append(sums)
    return {k: combine(v) for k, v in merged.items()}


async def _group_names(ctx: ReadContext, by: Breakdown, keys: list[str]) -> dict[str, str]:
    if by == "channel":
        return {k: CHANNEL_NAMES.get(k, k) for k in keys}
    if by == "procedure":
        return await reference.procedure_names(ctx.session, keys)
    if by == "field":
        return {k: ctx.reference.fields[k].name for k in keys if k in ctx.reference.fields}
    names = {f.group: f.name for f in ctx.reference.fields.values()}
    return {k: GROUP_NAMES.get(k) or names.get(k, k) for k in keys}


def _rollup_units(scope: Scope, ctx: ReadContext, period: Period) -> list[Unit]:
    tree = ctx.tree
    if scope.boundaries == "today":
        today = Period("today", ctx.today, ctx.today + timedelta(days=1), None)
        return tree.children(scope.unit.code if scope.unit else None, today)
    return tree.children(scope.unit.code if scope.unit else None, period)


def _subtree(ctx: ReadContext, unit: Unit, boundaries: Boundaries) -> list[str]:
    if boundaries == "today":
        return ctx.tree.subtree_today(unit.code, ctx.today)
    return ctx.tree.subtree(unit.code)


def roll_up(
    ctx: ReadContext,
    by_agency: dict[str | None, MeasureSums],
    units: Iterable[Unit],
    boundaries: Boundaries,
) -> list[tuple[Unit, MeasureSums]]:
    return [
        (u, combine(by_agency[a] for a in _subtree(ctx, u, boundaries) if a in by_agency))
        for u in units
    ]


async def _by_org_unit(
    ctx: ReadContext, code: IndicatorCode, period: Period, scope: Scope, flt: Filter
) -> Values:
    if await _from_read_model(ctx, flt):
        return _by_org_unit_in_memory(ctx, code, period, scope)
    by_agency = await dossier_sums(ctx, period, scope, flt, "agency")
    total = evaluate(code, combine(by_agency.values()))
    units = _rollup_units(scope, ctx, period)
    rows = [
        Row(u.code, u.name, evaluate(code, sums))
        for u, sums in roll_up(ctx, by_agency, units, scope.boundaries)
    ]
    return Values(total, rows)


def _by_org_unit_in_memory(
    ctx: ReadContext, code: IndicatorCode, period: Period, scope: Scope
) -> Values:
    """``_by_org_unit`` from the read model: each child's agencies (within the scope) as one
    group, summed once and kept, instead of a roll-up of every agency per request."""
    total = evaluate(code, MODEL.sums(scope.agencies, period))
    in_scope = None if scope.agencies is None else set(scope.agencies)
    rows = []
    for unit in _rollup_units(scope, ctx, period):
        agencies = _subtree(ctx, unit, scope.boundaries)
        if in_scope is not None:
            agencies = [a for a in agencies if a in in_scope]
        rows.append(Row(unit.code, unit.name, evaluate(code, MODEL.sums(agencies, period))))
    return Values(total, rows)


# Catalogue indicators


def catalog_figure(code: IndicatorCode, counts: dict[str, int]) -> Figure:
    parts = {
        IndicatorCode.CATALOG_PUBLISHED_RATE: ("published", "procedures"),
        IndicatorCode.CATALOG_ONLINE_RATE: ("online", "procedures"),
        IndicatorCode.CATALOG_FULL_ONLINE_RATE: ("eligible_full_online", "eligible"),
        IndicatorCode.CATALOG_NATIONAL_PORTAL_RATE: ("full_online_on_portal", "full_online"),
        IndicatorCode.CATALOG_FEE_ONLINE_PAYMENT_RATE: ("has_fee_online_payment", "has_fee"),
        IndicatorCode.CATALOG_POSTAL_RATE: ("postal", "procedures"),
    }
    if code is IndicatorCode.CATALOG_PROCEDURES:
        return count(counts["procedures"])
    numerator, denominator = parts[code]
    return rate(counts[numerator], counts[denominator])


def snapshot_day(period: Period) -> date:
    return period.last_day


async def catalog_values(
    ctx: ReadContext,
    code: IndicatorCode,
    period: Period,
    by: Breakdown | None,
    flt: Filter = NO_FILTER,
) -> Values:
    """The catalogue as it stood at the period's end (clipped to today)."""
    if by not in (None, "field", "field_group"):
        message = f"catalogue indicators break down by field or field_group, not {by}"
        raise QueryError("query.by", message)
    day = snapshot_day(period)
    at = local_midnight(day + timedelta(days=1))
    fields = flt.fields
    if flt.field_groups is not None:
        fields = ctx.reference.fields_in_groups(flt.field_groups)
    groups = await reference.catalog_counts(
        ctx.session, day=day, at=at, field_codes=fields, by_field=by in ("field", "field_group")
    )
    total_counts = _sum_counts(groups.values())
    figure = catalog_figure(code, total_counts)
    if by is None:
        return Values(figure, None)
    if by not in ("field", "field_group"):
        raise QueryError(
            "query.by", f"catalogue indicators break down by field or field_group, not {by}"
        )
    merged: dict[str | None, list[dict[str, int]]] = {}
    for field_code, counts in groups.items():
        info = ctx.reference.fields.get(field_code) if field_code else None
        key = field_code if by == "field" else (info.group if info else field_code)
        merged.setdefault(key, []).append(counts)
    names = await _group_names(ctx, by, [k for k in merged if k])
    rows = [
        Row(k, names.get(k) if k else None, catalog_figure(code, _sum_counts(v)))
        for k, v in sorted(merged.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    ]
    return Values(figure, rows)


def _sum_counts(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    total = dict.fromkeys(reference.CATALOG_COUNTS, 0)
    for part in parts:
        for name, value in part.items():
            total[name] += value
    return total


# Any indicator


async def values(
    ctx: ReadContext,
    definition: IndicatorDefinition,
    period: Period,
    scope: Scope,
    by: Breakdown | None,
    flt: Filter = NO_FILTER,
) -> Values:
    if is_catalog(definition):
        return await catalog_values(ctx, definition.code, period, by, flt)
    return await dossier_values(ctx, definition.code, period, scope, by, flt)


@dataclass(frozen=True, slots=True)
class Point:
    period: Period
    figure: Figure


async def series(
    ctx: ReadContext,
    definition: IndicatorDefinition,
    first: str,
    last: str,
    grain: Grain,
    scope: Scope,
) -> list[Point]:
    """One point per period of ``grain``; periods that start after today are left out."""
    try:
        periods = list(_series_periods(first, last, grain, ctx.today))
    except ValueError as exc:
        raise QueryError("query.from", str(exc)) from None
    if not periods:
        return []
    if is_catalog(definition):
        return [
            Point(p, (await catalog_values(ctx, definition.code, p, None)).figure) for p in periods
        ]
    if await _from_read_model(ctx, NO_FILTER):
        sums = MODEL.series_sums(scope.agencies, periods)
    else:
        query = _sums_query(ctx, periods[0], scope, NO_FILTER, None)
        sums = await aggregates.series_sums(ctx.session, query, periods)
    rule = RULES[definition.code]
    return [Point(p, rule(s)) for p, s in zip(periods, sums, strict=True)]


@lru_cache(maxsize=1024)
def _series_periods(first: str, last: str, grain: Grain, today: date) -> tuple[Period, ...]:
    """The periods of a series, cut at today (kept: dashboards ask for the same few series)."""
    periods = period_series(first, last, grain, today=today)
    return tuple(p.clipped(today) for p in periods if p.start <= today)


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int | None
    unit: Unit
    figure: Figure


async def ranking(
    ctx: ReadContext,
    definition: IndicatorDefinition,
    period: Period,
    level: str,
    descending: bool,
    boundaries: Boundaries,
) -> list[Ranked]:
    """Every unit of a level valid in the period, by its subtree's value (no value last)."""
    if is_catalog(definition):
        raise QueryError("path.code", "catalogue indicators are province-wide: no ranking")
    units = ctx.tree.at_level(level, period)
    if await _from_read_model(ctx, NO_FILTER):
        rolled = [
            (u, evaluate(definition.code, MODEL.sums(_subtree(ctx, u, boundaries), period)))
            for u in units
        ]
    else:
        agencies = sorted({a for u in units for a in _subtree(ctx, u, boundaries)})
        scope = Scope(None, agencies, boundaries)
        by_agency = await dossier_sums(ctx, period, scope, NO_FILTER, "agency")
        rolled = [
            (u, evaluate(definition.code, s)) for u, s in roll_up(ctx, by_agency, units, boundaries)
        ]
    valued = sorted(
        (r for r in rolled if r[1].value is not None),
        key=lambda r: (-(r[1].value or 0) if descending else (r[1].value or 0), r[0].code),
    )
    ranked = [Ranked(i + 1, u, f) for i, (u, f) in enumerate(valued)]
    return ranked + [Ranked(None, u, f) for u, f in rolled if f.value is None]


def previous_period(period: Period) -> Period | None:
    """The period before (same grain); None for ranges without a grain."""
    if period.grain is None:
        return None
    from cchc_indicators.domain.periods import period_of

    return period_of(period.start - timedelta(days=1), period.grain)


def codes_needing(definitions: Sequence[IndicatorDefinition]) -> list[IndicatorCode]:
    return [d.code for d in definitions if not is_catalog(d)]
