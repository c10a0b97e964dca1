# ruff: noqa: S608  # SQL text holds only our own table/column names; values are bound
"""Every query on the aggregate tables: add contributions, and sum measures for a period.

A period's figures need flows summed over its days and stocks summed up to its last day
(``domain/aggregates.py``). Whole months come from the month tables, the days at the edges from
the day tables, so a year costs twelve month rows per group instead of 365 day rows; the stock
prefix reads the month rows before the period's last month plus that month's days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import TextClause, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_indicators.domain.aggregates import (
    STOCK_MEASURES,
    Contribution,
    Measure,
    MeasureSums,
)
from cchc_indicators.domain.periods import Grain, Period
from cchc_indicators.store.models import (
    AGGREGATE_TABLES,
    AggAgencyDay,
    AggAgencyMonth,
    AggDetailDay,
    AggDetailMonth,
    MeasureColumns,
)

MEASURES: tuple[Measure, ...] = tuple(Measure)
GroupBy = Literal["agency", "procedure", "field", "channel"]
NO_FIELD = ""  # primary keys cannot hold NULL: a dossier without a field is stored under ''

_DETAIL_KEYS = ("agency_code", "procedure_code", "field_code", "channel")
_AGENCY_KEYS = ("agency_code", "channel")
_GROUP_COLUMNS: dict[GroupBy, str] = {
    "agency": "agency_code",
    "procedure": "procedure_code",
    "field": "field_code",
    "channel": "channel",
}


def _table(model: type[MeasureColumns]) -> Any:
    return model.__table__  # type: ignore[attr-defined]  # a mixin: subclasses are mapped


def _time_column(table: type[MeasureColumns]) -> str:
    return "month" if table in (AggDetailMonth, AggAgencyMonth) else "day"


def _key_columns(table: type[MeasureColumns]) -> tuple[str, ...]:
    keys = _DETAIL_KEYS if table in (AggDetailDay, AggDetailMonth) else _AGENCY_KEYS
    return (keys[0], _time_column(table), *keys[1:])


def table_deltas(
    rows: Iterable[Contribution],
) -> dict[type[MeasureColumns], dict[tuple[Any, ...], list[int]]]:
    """The net delta per table, per primary key (``_key_columns`` order), per measure
    (``MEASURES`` order)."""
    index = {measure: i for i, measure in enumerate(MEASURES)}
    width = len(MEASURES)
    detail_day: dict[tuple[Any, ...], list[int]] = {}
    detail_month: dict[tuple[Any, ...], list[int]] = {}
    agency_day: dict[tuple[Any, ...], list[int]] = {}
    agency_month: dict[tuple[Any, ...], list[int]] = {}
    months: dict[date, date] = {}
    for row in rows:
        key = row.key
        day = key.day
        month = months.get(day)
        if month is None:
            month = months[day] = day.replace(day=1)
        field = key.field_code if key.field_code is not None else NO_FIELD
        slot, delta = index[row.measure], row.delta
        for target, bucket in (
            (detail_day, (key.agency_code, day, key.procedure_code, field, key.channel)),
            (detail_month, (key.agency_code, month, key.procedure_code, field, key.channel)),
            (agency_day, (key.agency_code, day, key.channel)),
            (agency_month, (key.agency_code, month, key.channel)),
        ):
            totals = target.get(bucket)
            if totals is None:
                totals = target[bucket] = [0] * width
            totals[slot] += delta
    return {
        AggDetailDay: detail_day,
        AggDetailMonth: detail_month,
        AggAgencyDay: agency_day,
        AggAgencyMonth: agency_month,
    }


async def add_contributions(
    session: AsyncSession, rows: Iterable[Contribution], *, version: int = 0
) -> None:
    """``total = total + delta`` for every touched (bucket, measure), in the caller's transaction.

    Keys are written in sorted order so that concurrent transactions lock rows in the same order.
    ``version`` (the transaction's ``data_version``) stamps the ``agg_agency_day`` rows changed.
    """
    for table, deltas in table_deltas(rows).items():
        changed = sorted((k, v) for k, v in deltas.items() if any(v))
        if changed:
            await _upsert(session, table, changed, version)


async def _upsert(
    session: AsyncSession,
    table: type[MeasureColumns],
    rows: Sequence[tuple[tuple[Any, ...], list[int]]],
    version: int,
) -> None:
    keys = _key_columns(table)
    sa_table = _table(table)
    stamped = table is AggAgencyDay
    stmt = pg_insert(sa_table)
    updates = {m.value: sa_table.c[m.value] + stmt.excluded[m.value] for m in MEASURES}
    if stamped:
        updates["changed_version"] = stmt.excluded.changed_version
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)
    stamp = {"changed_version": version} if stamped else {}
    params = [
        {
            **dict(zip(keys, key, strict=True)),
            **{m.value: d for m, d in zip(MEASURES, v, strict=True)},
            **stamp,
        }
        for key, v in rows
    ]
    await session.execute(stmt, params)


@dataclass(frozen=True)
class SumsQuery:
    """Which buckets to sum: a period, optional filters, optional grouping."""

    period: Period
    agencies: Sequence[str] | None = None
    group_by: GroupBy | None = None
    field_codes: Sequence[str] | None = None
    procedure_codes: Sequence[str] | None = None
    channels: Sequence[str] | None = None

    @property
    def needs_detail(self) -> bool:
        return (
            self.group_by in ("procedure", "field")
            or self.field_codes is not None
            or self.procedure_codes is not None
        )


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _first_month_from(day: date) -> date:
    """The first month start on or after ``day``."""
    if day.day == 1:
        return day
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


# The read queries are plain SQL built once per shape (tables, grouping, filters present) and
# cached: composing them with SQLAlchemy's expression language cost more than running them.

_FILTER_SQL = {
    "agencies": "agency_code = ANY(:agencies)",
    "field_codes": "field_code = ANY(:field_codes)",
    "procedure_codes": "procedure_code = ANY(:procedure_codes)",
    "channels": "channel = ANY(:channels)",
}
_STATEMENTS: dict[tuple[Any, ...], TextClause] = {}


def _tables(query: SumsQuery) -> tuple[str, str]:
    day_model, month_model = (
        (AggDetailDay, AggDetailMonth) if query.needs_detail else (AggAgencyDay, AggAgencyMonth)
    )
    return _table(day_model).fullname, _table(month_model).fullname


def _filter_params(query: SumsQuery) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    if query.agencies is not None:
        params["agencies"] = list(query.agencies)
    if query.field_codes is not None:
        params["field_codes"] = [c if c is not None else NO_FIELD for c in query.field_codes]
    if query.procedure_codes is not None:
        params["procedure_codes"] = list(query.procedure_codes)
    if query.channels is not None:
        params["channels"] = list(query.channels)
    return params


def _where(conditions: list[str], filters: Iterable[str]) -> str:
    return " AND ".join([*conditions, *(_FILTER_SQL[f] for f in filters)])


def _sum_when(condition: str | None) -> str:
    if condition is None:
        return ", ".join(f"SUM({m.value}) AS {m.value}" for m in MEASURES)
    return ", ".join(
        f"SUM(CASE WHEN {condition} THEN {m.value} ELSE 0 END) AS {m.value}" for m in MEASURES
    )


def _split_sums(flow_when: str, stock_when: str | None) -> str:
    parts = []
    for m in MEASURES:
        when = stock_when if m in STOCK_MEASURES else flow_when
        parts.append(
            f"SUM({m.value}) AS {m.value}"
            if when is None
            else f"SUM(CASE WHEN {when} THEN {m.value} ELSE 0 END) AS {m.value}"
        )
    return ", ".join(parts)


def _outer(union: str, key: str) -> str:
    totals = ", ".join(f"SUM({m.value})" for m in MEASURES)
    return f"SELECT {key}, {totals} FROM ({union}) AS parts GROUP BY {key}"


def _sums_statement(query: SumsQuery, filters: tuple[str, ...]) -> TextClause:
    shape = ("sums", query.needs_detail, query.group_by, filters)
    statement = _STATEMENTS.get(shape)
    if statement is None:
        days, months = _tables(query)
        group = _GROUP_COLUMNS[query.group_by] if query.group_by else "NULL::text"
        group_by = f" GROUP BY {group}" if query.group_by else ""
        month_sums = _split_sums("month >= :flow_m0 AND month < :flow_m1", None)
        day_sums = _split_sums(
            "day >= :start AND (day < :flow_m0 OR day >= :flow_m1)", "day >= :stock_m1"
        )
        from_months = (
            f"SELECT {group} AS grp, {month_sums} FROM {months} "
            f"WHERE {_where(['month < :stock_m1'], filters)}{group_by}"
        )
        from_days = (
            f"SELECT {group} AS grp, {day_sums} FROM {days} "
            f"WHERE {_where(['day >= :low', 'day < :end'], filters)}{group_by}"
        )
        statement = _STATEMENTS[shape] = text(_outer(f"{from_months} UNION ALL {from_days}", "grp"))
    return statement


def _sums_params(query: SumsQuery) -> dict[str, Any]:
    period = query.period
    first_full = _first_month_from(period.start)  # the first whole month
    stock_m1 = _month_start(period.end)  # the month holding period.end (exclusive)
    if first_full >= stock_m1:  # no whole month: every flow comes from the day table
        first_full = flow_m1 = period.start
    else:
        flow_m1 = stock_m1
    return {
        "start": period.start,
        "end": period.end,
        "flow_m0": first_full,
        "flow_m1": flow_m1,
        "stock_m1": stock_m1,
        "low": min(period.start, stock_m1),
        **_filter_params(query),
    }


def _measure_sums_of(row: Sequence[Any]) -> MeasureSums:
    flow = {m: int(row[i] or 0) for i, m in enumerate(MEASURES) if m not in STOCK_MEASURES}
    stock = {m: int(row[i] or 0) for i, m in enumerate(MEASURES) if m in STOCK_MEASURES}
    return MeasureSums(flow, stock)


async def period_sums(session: AsyncSession, query: SumsQuery) -> dict[str | None, MeasureSums]:
    """Measure sums per group (a single ``None`` group without ``group_by``)."""
    params = _sums_params(query)
    filters = tuple(sorted(_filter_params(query)))
    result = await session.execute(_sums_statement(query, filters), params)
    sums: dict[str | None, MeasureSums] = {}
    for row in result:
        group = row[0]
        if query.group_by == "field" and group == NO_FIELD:
            group = None
        sums[group] = _measure_sums_of(row[1:])
    return sums


def _series_statement(query: SumsQuery, filters: tuple[str, ...]) -> TextClause:
    """Rows (bucket date, sums); NULL-dated rows hold the stock changes before the series."""
    shape = ("series", query.needs_detail, filters)
    statement = _STATEMENTS.get(shape)
    if statement is None:
        days, months = _tables(query)
        plain = _sum_when(None)
        parts = [
            f"SELECT NULL::date AS d, {plain} FROM {months} "
            f"WHERE {_where(['month < :base_month'], filters)}",
            f"SELECT NULL::date AS d, {plain} FROM {days} "
            f"WHERE {_where(['day >= :base_month', 'day < :start'], filters)}",
            f"SELECT month AS d, {plain} FROM {months} "
            f"WHERE {_where(['month >= :flow_m0', 'month < :flow_m1'], filters)} GROUP BY month",
            f"SELECT day AS d, {plain} FROM {days} WHERE "
            + _where(
                ["day >= :start", "day < :end", "(day < :flow_m0 OR day >= :flow_m1)"], filters
            )
            + " GROUP BY day",
        ]
        statement = _STATEMENTS[shape] = text(_outer(" UNION ALL ".join(parts), "d"))
    return statement


async def series_sums(
    session: AsyncSession, query: SumsQuery, periods: Sequence[Period]
) -> list[MeasureSums]:
    """Measure sums for consecutive periods (as ``period_sums`` would give each), in one query.

    The periods must be consecutive and whole months or days, as ``period_series`` gives them
    (the last one may be cut at today).
    """
    start, end = periods[0].start, periods[-1].end
    first_full, last_month = _first_month_from(start), _month_start(end)
    if periods[0].grain is Grain.DAY or first_full >= last_month:
        first_full = last_month = start  # no whole months: every bucket is a day
    params = {
        "start": start,
        "end": end,
        "base_month": _month_start(start),
        "flow_m0": first_full,
        "flow_m1": last_month,
        **_filter_params(query),
    }
    filters = tuple(sorted(_filter_params(query)))
    rows = (await session.execute(_series_statement(query, filters), params)).all()
    return _accumulate(rows, periods)


def _accumulate(rows: Sequence[Any], periods: Sequence[Period]) -> list[MeasureSums]:
    """Flows summed per period; stocks carried forward from everything dated before."""
    base = [0] * len(MEASURES)
    buckets: list[tuple[date, list[int]]] = []
    for row in rows:
        totals = [int(v or 0) for v in row[1:]]
        if row[0] is None:
            base = [a + b for a, b in zip(base, totals, strict=True)]
        else:
            buckets.append((row[0], totals))
    buckets.sort(key=lambda b: b[0])
    stock_slots = [i for i, m in enumerate(MEASURES) if m in STOCK_MEASURES]
    running = [0] * len(MEASURES)
    for i in stock_slots:
        running[i] = base[i]
    result: list[MeasureSums] = []
    position = 0
    for period in periods:
        current = list(running)
        for i, m in enumerate(MEASURES):
            if m not in STOCK_MEASURES:
                current[i] = 0
        while position < len(buckets) and buckets[position][0] < period.end:
            current = [c + t for c, t in zip(current, buckets[position][1], strict=True)]
            position += 1
        for i in stock_slots:
            running[i] = current[i]
        result.append(_measure_sums_of(current))
    return result


async def truncate_aggregates(session: AsyncSession) -> None:
    names = ", ".join(_table(t).fullname for t in AGGREGATE_TABLES)
    await session.execute(text(f"TRUNCATE {names}"))
