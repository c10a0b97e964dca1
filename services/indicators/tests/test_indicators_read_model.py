"""The in-memory read model follows the aggregate tables: an event applied by a consumer (any
process, its own transaction) is visible at the next read, pulled as changed rows; a rebuild
makes it load afresh; and it answers exactly what the aggregate tables answer."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_indicators.domain.aggregates import FLOW_MEASURES, STOCK_MEASURES, Measure
from cchc_indicators.domain.catalogue import BY_CODE, IndicatorCode
from cchc_indicators.domain.periods import Grain, period_of
from cchc_indicators.service import figures, read_model
from cchc_indicators.service.context import read_context
from cchc_indicators.service.read_model import MODEL, WIDTH, DaySeries, ReadModel
from cchc_indicators.service.rebuild import rebuild_aggregates
from cchc_indicators.testing import agency_event, apply, dossier_event, facts, finished, vn
from cchc_shared.db import create_sessionmaker, transaction

NOW = datetime(2024, 12, 31, tzinfo=UTC)
MARCH = period_of(date(2024, 3, 1), Grain.MONTH)
TREE = [
    agency_event("P", "UBND tỉnh", "province", None),
    agency_event("D", "UBND huyện", "district", "P"),
    agency_event("A1", "UBND xã 1", "commune", "D"),
    agency_event("A2", "UBND xã 2", "commune", "D"),
    agency_event("S", "Sở", "department", "P"),
]


async def read(engine: AsyncEngine, code: IndicatorCode, unit: str | None, by: Any = None) -> Any:
    """One read as a request makes it: a fresh session, the state as committed now."""
    async with create_sessionmaker(engine)() as session:
        ctx = await read_context(session, now=NOW)
        scope = figures.resolve_scope(ctx, unit, "receipt")
        return await figures.dossier_values(ctx, code, MARCH, scope, by)


async def from_tables(engine: AsyncEngine, code: IndicatorCode, unit: str | None) -> Any:
    with read_model.switched(False):
        return await read(engine, code, unit, "org_unit")


async def test_applied_events_are_pulled_into_the_model(
    engine: AsyncEngine, clean_state: None
) -> None:
    await apply(engine, TREE)
    await apply(engine, [dossier_event(facts("X1")), dossier_event(facts("X2", agency_code="S"))])
    received = IndicatorCode.DOSSIER_RECEIVED
    assert (await read(engine, received, "P")).figure.value == 2
    epoch, version = MODEL.epoch, MODEL.version
    assert epoch and version > 0

    # A consumer (here: its own transaction, as in another process) applies a new dossier and
    # a newer version of X1 that finishes it.
    await apply(
        engine,
        [
            dossier_event(facts("X3", agency_code="A2")),
            dossier_event(finished("X1", 2, vn(2024, 3, 20))),
        ],
    )
    district = await read(engine, received, "D", "org_unit")
    assert district.figure.value == 2
    assert {r.key: r.figure.value for r in district.rows} == {"A1": 1, "A2": 1}
    # Pulled, not reloaded: same epoch, a newer version.
    assert MODEL.epoch == epoch and MODEL.version > version
    on_time = await read(engine, IndicatorCode.DOSSIER_ON_TIME_RATE, "D")
    # X1 finished late (due 8 March), X3 open and overdue at March's end.
    assert (on_time.figure.numerator, on_time.figure.denominator) == (0, 2)
    for code in (received, IndicatorCode.DOSSIER_ON_TIME_RATE, IndicatorCode.DOSSIER_OVERDUE_OPEN):
        for unit in (None, "P", "D", "A2"):
            assert await read(engine, code, unit, "org_unit") == await from_tables(
                engine, code, unit
            )
        for level in ("district", "commune"):
            assert await rank(engine, code, level) == await rank(engine, code, level, False)


async def rank(engine: AsyncEngine, code: IndicatorCode, level: str, model: bool = True) -> Any:
    """A ranking from the read model, or (``model`` False) from the aggregate tables."""
    with read_model.switched(model):
        async with create_sessionmaker(engine)() as session:
            ctx = await read_context(session, now=NOW)
            return await figures.ranking(ctx, BY_CODE[code], MARCH, level, True, "receipt")


async def test_a_rebuild_makes_the_model_load_afresh(
    engine: AsyncEngine, clean_state: None
) -> None:
    await apply(engine, TREE)
    await apply(engine, [dossier_event(facts(f"X{i}", agency_code="A1")) for i in range(3)])
    received = IndicatorCode.DOSSIER_RECEIVED
    assert (await read(engine, received, "D")).figure.value == 3
    epoch = MODEL.epoch
    async with transaction(create_sessionmaker(engine)) as session:
        await rebuild_aggregates(session)
    assert (await read(engine, received, "D")).figure.value == 3
    assert MODEL.epoch != epoch


async def test_series_from_the_model(engine: AsyncEngine, clean_state: None) -> None:
    await apply(engine, TREE)
    await apply(
        engine,
        [
            dossier_event(facts("X1", received_at=vn(2024, 1, 5))),
            dossier_event(facts("X2", received_at=vn(2024, 3, 5), agency_code="A2")),
            dossier_event(finished("X3", 1, vn(2024, 4, 2), received_at=vn(2024, 3, 31, 23))),
        ],
    )
    definition = BY_CODE[IndicatorCode.DOSSIER_OVERDUE_OPEN]
    async with create_sessionmaker(engine)() as session:
        ctx = await read_context(session, now=NOW)
        scope = figures.resolve_scope(ctx, "D", "receipt")
        points = await figures.series(ctx, definition, "2024-01", "2024-06", Grain.MONTH, scope)
        with read_model.switched(False):
            expected = await figures.series(
                ctx, definition, "2024-01", "2024-06", Grain.MONTH, scope
            )
    assert points == expected
    # Every one is due 8 March: X1 (received in January) and X2 overdue from then on; X3,
    # received on 31 March, overdue at once, finished on 2 April.
    assert [p.figure.value for p in points] == [0, 0, 3, 2, 2, 2]


def test_kept_sums_follow_new_totals() -> None:
    """A group's sums of a period are kept, and dropped when its totals change."""
    series = DaySeries()
    first_day = MARCH.start.toordinal()
    series.add(first_day, [1] * WIDTH)
    series.add(first_day - 1, [5] * WIDTH)  # February: a stock, not a flow of March
    kept = series.sums(MARCH)
    assert series.sums(MARCH) is kept
    assert (kept[Measure.RECEIVED], kept[Measure.OPEN]) == (1, 6)
    series.add(first_day + 30, [2] * WIDTH)  # 31 March
    series.add(first_day + 31, [4] * WIDTH)  # 1 April: after March
    changed = series.sums(MARCH)
    assert (changed[Measure.RECEIVED], changed[Measure.OPEN]) == (3, 8)
    assert changed.flow.keys() == FLOW_MEASURES and changed.stock_at_end.keys() == STOCK_MEASURES
    other = DaySeries()
    other.add_all(series)
    assert other.sums(MARCH) == changed


def test_the_collector_does_not_walk_the_totals() -> None:
    """Tens of thousands of per-day totals stay out of every full collection's walk."""
    series = DaySeries()
    for day in range(400):
        series.add(MARCH.start.toordinal() + day, [day] * WIDTH)
    series.sums(MARCH)
    gc.collect()
    assert not any(gc.is_tracked(totals) for totals in series.daily.values())


def test_a_group_is_found_whatever_the_order_of_its_agencies() -> None:
    model = ReadModel()
    model.agencies = {code: DaySeries() for code in ("A1", "A2", "S")}
    group = model.group(["A1", "A2", "S"])
    assert model.group(("S", "A1", "A2", "A1")) is group
    assert model.group(["A1"]) is model.agencies["A1"]
    assert model.group(["A1", "A1"]) is model.agencies["A1"]
