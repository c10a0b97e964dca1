"""Acceptance 1 at the store level: random streams of dossier versions (shuffled, redelivered,
older versions arriving late) go through the real consumer handler into PostgreSQL; every
indicator read back for random units, periods and breakdowns equals the brute force over the
latest versions, read from the in-memory read model and from the aggregate tables alike, and so
does a rebuild from ``dossier_state`` (whose SQL gives exactly the incremental path's totals)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cchc_indicators import testing
from cchc_indicators.domain.aggregates import MeasureSums
from cchc_indicators.domain.catalogue import BY_CODE, DOSSIER_CODES
from cchc_indicators.domain.evaluate import evaluate
from cchc_indicators.domain.facts import Breakdown, DossierFacts
from cchc_indicators.domain.periods import Grain, Period, local_midnight, period_of, period_series
from cchc_indicators.domain.reference import reference_figures, reference_figures_by
from cchc_indicators.events.consume import AGENCY_CHANGED, DOSSIER_CHANGED, handle_events
from cchc_indicators.service import figures, read_model
from cchc_indicators.service.context import read_context
from cchc_indicators.service.rebuild import rebuild_aggregates
from cchc_indicators.store.aggregates import MEASURES
from cchc_indicators.store.models import AGGREGATE_TABLES
from cchc_indicators.testing import vn
from cchc_shared.events.envelope import CloudEvent

T = TypeVar("T")
FIRST_DAY = date(2023, 12, 15)
SPAN_DAYS = 220
SPECIAL_SECONDS = [0, 1, 8 * 3600, 17 * 3600, 23 * 3600 + 30 * 60, 86_399]
# Province P: district D (agencies A, B), department C directly under P.
TREE = {"P": None, "D": "P", "A": "D", "B": "D", "C": "P"}
LEVELS = {"P": "province", "D": "district", "A": "commune", "B": "commune", "C": "department"}
AGENCIES = ["A", "B", "C"]
NOW = datetime(2030, 1, 1, tzinfo=UTC)  # after every period: nothing is clipped

DAY_NUMBERS = st.integers(0, SPAN_DAYS)
SECONDS_OF_DAY = st.one_of(st.sampled_from(SPECIAL_SECONDS), st.integers(0, 86_399))
GAPS = st.one_of(
    st.integers(-2, 40).map(lambda days: timedelta(days=days)),
    st.integers(-2 * 86_400, 40 * 86_400).map(lambda seconds: timedelta(seconds=seconds)),
)
ONE_IN_TEN = st.integers(0, 9)
BOOLS = st.booleans()


def draw_instant(draw: st.DrawFn) -> datetime:
    day = FIRST_DAY + timedelta(days=draw(DAY_NUMBERS))
    return local_midnight(day) + timedelta(seconds=draw(SECONDS_OF_DAY))


def draw_related(draw: st.DrawFn, anchor: datetime | None) -> datetime | None:
    chance = draw(ONE_IN_TEN)
    if chance == 0:
        return None
    if anchor is None or chance == 1:
        return draw_instant(draw)
    return anchor + draw(GAPS)


def draw_facts(draw: st.DrawFn, code: str, version: int) -> DossierFacts:
    status = draw(st.integers(1, 10))
    received_at = None if draw(ONE_IN_TEN) == 0 else draw_instant(draw)
    rounds = draw(st.sampled_from([0, 0, 1, 1, 2]))
    requested = draw_related(draw, received_at) if rounds == 1 else None
    rating = draw(st.one_of(st.none(), st.integers(1, 5)))
    return DossierFacts(
        dossier_code=code,
        version=version,
        updated_at=draw_instant(draw),
        agency_code=draw(st.sampled_from(AGENCIES)),
        procedure_code=draw(st.sampled_from(["P1", "P2"])),
        field_code=draw(st.sampled_from(["F1", "F2", None])),
        status=status,
        received=received_at is not None and status not in (1, 3),
        received_at=received_at,
        withdrawn=status == 7,
        finished=status in (8, 9, 10),
        finished_at=draw_related(draw, received_at),
        due_at=draw_related(draw, received_at),
        supplement_rounds=rounds,
        supplement_requested_at=requested,
        supplement_completed_at=draw_related(draw, requested),
        channel=draw(st.sampled_from(["in_person", "online", "postal"])),
        has_fee=draw(BOOLS),
        paid_online=draw(BOOLS),
        digitized=draw(BOOLS),
        e_certified=draw(BOOLS),
        synced=draw(BOOLS),
        rating=rating,
        rated_at=draw_related(draw, received_at) if rating is not None else None,
    )


@st.composite
def version_streams(draw: st.DrawFn) -> list[DossierFacts]:
    versions: list[DossierFacts] = []
    for index in range(draw(st.integers(1, 8))):
        numbers = draw(st.lists(st.integers(1, 20), min_size=1, max_size=4, unique=True))
        versions += [draw_facts(draw, f"D{index}", n) for n in numbers]
    redelivered = draw(st.lists(st.sampled_from(versions), max_size=5))
    return list(draw(st.permutations(versions + redelivered)))


def dossier_event(facts: DossierFacts) -> CloudEvent:
    return CloudEvent(
        source="/cchc/ingest",
        type=DOSSIER_CHANGED,
        subject=facts.dossier_code,
        data={
            "dossier_code": facts.dossier_code,
            "version": facts.version,
            "previous_version": None,
            "source": "test",
            "before": None,  # ignored: the consumer retracts what it holds
            "after": facts.model_dump(mode="json"),
        },
    )


def agency_events() -> list[CloudEvent]:
    return [
        CloudEvent(
            source="/cchc/ingest",
            type=AGENCY_CHANGED,
            data={
                "code": code,
                "name": f"Đơn vị {code}",
                "level": LEVELS[code],
                "parent_code": parent,
                "version": 1,
            },
        )
        for code, parent in TREE.items()
    ]


def latest_versions(stream: list[DossierFacts]) -> list[DossierFacts]:
    latest: dict[str, DossierFacts] = {}
    for facts in stream:
        held = latest.get(facts.dossier_code)
        if held is None or facts.version > held.version:
            latest[facts.dossier_code] = facts
    return list(latest.values())


def subtree(unit: str | None) -> list[str] | None:
    if unit is None:
        return None
    below = [code for code in TREE if _ancestors(code).count(unit)]
    return sorted(below)


def _ancestors(code: str) -> list[str]:
    chain: list[str] = []
    current: str | None = code
    while current is not None:
        chain.append(current)
        current = TREE[current]
    return chain


@pytest.fixture
async def rollback_session(engine: AsyncEngine, clean_state: None) -> AsyncIterator[Any]:
    """Opens one session per example, inside a transaction that is rolled back (on tables that
    other tests' committed data does not fill)."""

    async def open_session() -> AsyncIterator[AsyncSession]:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            try:
                yield AsyncSession(bind=conn, expire_on_commit=False)
            finally:
                await transaction.rollback()

    yield open_session


PERIOD_KINDS = st.sampled_from(["day", "month", "quarter", "half", "year"])
BREAKDOWNS = st.sampled_from([None, "org_unit", "procedure", "field", "channel"])
UNITS = st.sampled_from([None, "P", "D", "A", "C"])


@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking a DB test takes minutes
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(stream=version_streams(), data=st.data())
async def test_incremental_store_equals_brute_force_and_rebuild(
    rollback_session: Any, stream: list[DossierFacts], data: st.DataObject
) -> None:
    async for session in rollback_session():
        await handle_events(session, agency_events())
        events = [dossier_event(f) for f in stream]
        cut = data.draw(st.integers(0, len(events)))
        await handle_events(session, events[:cut])  # two batches: versions cross batches too
        if events[cut:]:
            await handle_events(session, events[cut:])
        latest = latest_versions(stream)
        await check_random_questions(session, latest, data)
        await rebuild_aggregates(session)
        await check_random_questions(session, latest, data)


async def check_random_questions(
    session: AsyncSession, latest: list[DossierFacts], data: st.DataObject
) -> None:
    ctx = await read_context(session, now=NOW)
    for _ in range(3):
        anchor = FIRST_DAY + timedelta(days=data.draw(DAY_NUMBERS))
        period = period_of(anchor, Grain(data.draw(PERIOD_KINDS)))
        unit = data.draw(UNITS)
        by = data.draw(BREAKDOWNS)
        scope = figures.resolve_scope(ctx, unit, "receipt")
        agencies = subtree(unit)
        expected = reference_figures(latest, period, agencies=agencies)
        for code in DOSSIER_CODES:
            got = await figures.dossier_values(ctx, code, period, scope, by)
            assert got.figure == expected[code], (code, period, unit)
            assert got == await from_tables(figures.dossier_values(ctx, code, period, scope, by))
            if by in ("procedure", "field", "channel"):
                by_ref = reference_figures_by(latest, period, Breakdown(by), agencies=agencies)
                rows = {r.key: r.figure for r in got.rows or []}
                # Groups without any bucket in the period have no row; they read as empty.
                empty = evaluate(code, MeasureSums())
                for key in rows.keys() | by_ref.keys():
                    want = by_ref[key][code] if key in by_ref else empty
                    assert rows.get(key, empty) == want, (code, by, key)
            if by == "org_unit":
                for row in got.rows or []:
                    assert (
                        row.figure
                        == reference_figures(latest, period, agencies=subtree(row.key))[code]
                    )
    await check_series(session, latest, data)


async def check_series(
    session: AsyncSession, latest: list[DossierFacts], data: st.DataObject
) -> None:
    ctx = await read_context(session, now=NOW)
    grain = data.draw(st.sampled_from([Grain.DAY, Grain.MONTH, Grain.QUARTER]))
    first = FIRST_DAY + timedelta(days=data.draw(DAY_NUMBERS))
    span = 20 if grain is Grain.DAY else 200
    last = first + timedelta(days=data.draw(st.integers(0, span)))
    unit = data.draw(UNITS)
    scope = figures.resolve_scope(ctx, unit, "receipt")
    code = data.draw(st.sampled_from(DOSSIER_CODES))
    label = {Grain.DAY: lambda d: d.isoformat(), Grain.MONTH: lambda d: d.isoformat()[:7]}
    to_text = label.get(grain, lambda d: d.isoformat())
    points = await figures.series(ctx, BY_CODE[code], to_text(first), to_text(last), grain, scope)
    assert points == await from_tables(
        figures.series(ctx, BY_CODE[code], to_text(first), to_text(last), grain, scope)
    )
    periods: list[Period] = period_series(to_text(first), to_text(last), grain)
    assert [p.period for p in points] == periods
    for point in points:
        expected = reference_figures(latest, point.period, agencies=subtree(unit))[code]
        assert point.figure == expected, (code, point.period)


async def from_tables(read: Coroutine[Any, Any, T]) -> T:
    """The same read with the read model switched off: straight from the aggregate tables."""
    with read_model.switched(False):
        return await read


async def aggregate_rows(session: AsyncSession) -> dict[str, set[tuple[Any, ...]]]:
    """Every non-zero aggregate row of every table (keys and measures, no stamps)."""
    measures = ", ".join(m.value for m in MEASURES)
    nonzero = " OR ".join(f"{m.value} <> 0" for m in MEASURES)
    rows: dict[str, set[tuple[Any, ...]]] = {}
    for model in AGGREGATE_TABLES:
        table: Any = model.__table__  # type: ignore[attr-defined]
        keys = ", ".join(c.name for c in table.primary_key.columns)
        result = await session.execute(
            text(f"SELECT {keys}, {measures} FROM {table.fullname} WHERE {nonzero}")  # noqa: S608
        )
        rows[table.name] = {tuple(r) for r in result}
    return rows


@settings(
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(stream=version_streams(), more=st.data())
async def test_rebuild_gives_exactly_the_incremental_totals(
    rollback_session: Any, stream: list[DossierFacts], more: st.DataObject
) -> None:
    """The rebuild's set-wise SQL states the rules of ``domain/aggregates.py`` a second time:
    every total of every table must come out as the consumer's ``diff`` path left it."""
    # Many more single-version dossiers: the rarer branches (a wait inside an overdue run, a
    # finish exactly at the due instant) need numbers to show up.
    count = more.draw(st.integers(20, 80))
    stream += [more.draw(single(i)) for i in range(count)]
    async for session in rollback_session():
        await handle_events(session, [dossier_event(f) for f in stream])
        incremental = await aggregate_rows(session)
        await rebuild_aggregates(session)
        assert await aggregate_rows(session) == incremental


@st.composite
def single(draw: st.DrawFn, index: int) -> DossierFacts:
    return draw_facts(draw, f"S{index}", 1)


def edge_cases() -> list[DossierFacts]:
    """Instants on the boundaries the rules turn on, which random draws rarely hit."""
    due = vn(2024, 3, 8, 17)
    midnight = vn(2024, 3, 9, 0)
    cases: list[dict[str, Any]] = [
        {"finished": True, "status": 10, "finished_at": due},  # exactly at the due instant
        {"finished": True, "status": 10, "finished_at": due + timedelta(microseconds=1)},
        {"finished": True, "status": 10, "finished_at": vn(2024, 3, 8, 9)},  # on the due day
        {"finished": True, "status": 10, "finished_at": midnight, "due_at": midnight},
        {"finished": True, "status": 10, "finished_at": vn(2024, 2, 1)},  # before receipt
        {"finished": True, "status": 10, "finished_at": None, "updated_at": vn(2024, 3, 20)},
        {"finished": True, "status": 10, "finished_at": vn(2024, 3, 3, 10, 7), "due_at": None},
        {"status": 7, "withdrawn": True, "rating": 2, "rated_at": vn(2024, 3, 2)},
        {"rating": 4, "rated_at": None},
        {"rating": 1, "rated_at": vn(2024, 3, 31, 23, 59)},
        {"supplement_rounds": 2},
        {"supplement_rounds": 2, "finished": True, "status": 10, "finished_at": vn(2024, 3, 2)},
        # one round: requested after the due day, answered later, finished later still
        {
            "supplement_rounds": 1,
            "supplement_requested_at": vn(2024, 3, 10),
            "supplement_completed_at": vn(2024, 3, 15),
            "finished": True,
            "status": 10,
            "finished_at": vn(2024, 3, 20),
        },
        # requested and answered on the same day; answered before requested; never answered
        {
            "supplement_rounds": 1,
            "supplement_requested_at": vn(2024, 3, 10, 8),
            "supplement_completed_at": vn(2024, 3, 10, 16),
        },
        {
            "supplement_rounds": 1,
            "supplement_requested_at": vn(2024, 3, 12),
            "supplement_completed_at": vn(2024, 3, 11),
        },
        {"supplement_rounds": 1, "supplement_requested_at": vn(2024, 3, 5)},
        {"supplement_rounds": 1, "supplement_requested_at": None},
        {"received": False, "status": 1},
        {"field_code": None, "channel": "postal", "has_fee": True, "paid_online": True},
        {"received_at": vn(2024, 3, 31, 23, 59), "due_at": vn(2024, 4, 1, 0)},
    ]
    return [testing.facts(f"E{i}", 1, **case) for i, case in enumerate(cases)]


async def test_rebuild_on_the_boundaries(rollback_session: Any) -> None:
    async for session in rollback_session():
        await handle_events(session, [dossier_event(f) for f in edge_cases()])
        incremental = await aggregate_rows(session)
        assert incremental["agg_detail_day"]
        await rebuild_aggregates(session)
        assert await aggregate_rows(session) == incremental
