"""The change-feed poller's cursor (committed with the records it covers, resumed after a crash,
restarted when the source forgets it) and the catalogue sync's events (only on a real change),
against real PostgreSQL and an in-memory source."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cchc_ingest.domain import catalogue
from cchc_ingest.domain.catalogue import Agency, Procedure
from cchc_ingest.domain.dossier import Dossier, PiiHasher, parse_dossier
from cchc_ingest.domain.instants import format_compact_local
from cchc_ingest.pipeline.catalogue import sync_catalogue
from cchc_ingest.pipeline.poller import FUTURE_TOLERANCE, Poller, first_start, next_position
from cchc_ingest.pipeline.runtime import Runtime
from cchc_ingest.samples import dossier_record
from cchc_ingest.sources.base import DailyCount, FeedPage
from cchc_ingest.sources.lgsp import SourceRejected
from cchc_ingest.store import state
from cchc_ingest.store.state import FeedPosition

T0 = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- next_position and first_start: pure ---------------------------------------------------------


def test_a_cursor_chain_is_continued_from_where_it_started() -> None:
    held = FeedPosition(at(0), "c1", at(5))
    assert next_position(at(0), held, "c2", at(9)) == FeedPosition(at(0), "c2", at(9))


def test_at_the_end_of_a_chain_the_next_starts_at_the_newest_change_inclusive() -> None:
    held = FeedPosition(at(0), "c1", at(5))
    assert next_position(at(0), held, None, at(9)) == FeedPosition(at(9), None, at(9))


def test_the_high_water_mark_never_moves_back_nor_past_the_near_future() -> None:
    held = FeedPosition(at(0), None, at(5))
    assert next_position(at(0), held, None, at(2)) == FeedPosition(at(5), None, at(5))
    assert next_position(at(5), held, None, None) == FeedPosition(at(5), None, at(5))
    far = datetime.now(UTC) + timedelta(days=365)
    moved = next_position(at(0), held, None, far)
    assert moved.high_water is not None
    assert moved.high_water <= datetime.now(UTC) + FUTURE_TOLERANCE


def test_where_a_new_poller_starts() -> None:
    now = at(60)
    assert first_start("", now) == (now, True)  # now, after queueing the history
    assert first_start("now", now) == (now, False)
    assert first_start("20240305090000", now) == (at(0), False)  # local time
    assert first_start("20240305", now) == (datetime(2024, 3, 4, 17, tzinfo=UTC), False)


# -- the poller against a store ------------------------------------------------------------------


class MemorySource:
    """A change feed in memory: records ordered by NgayCapNhat, cursors are positions."""

    name = "lgsp"

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self.records = list(records)
        self.calls: list[tuple[datetime, str | None]] = []
        self.forget_cursors = False
        self.procedure_records: list[dict[str, Any]] = []
        self.agency_records: list[dict[str, Any]] = []

    async def changes(self, since: datetime, cursor: str | None, limit: int) -> FeedPage:
        self.calls.append((since, cursor))
        if cursor is not None and self.forget_cursors:
            raise SourceRejected(400, "unknown cursor")
        stamp = format_compact_local(since)
        start = (
            int(cursor)
            if cursor
            else next((i for i, r in enumerate(self.records) if r["NgayCapNhat"] >= stamp), 0)
        )
        if cursor is None and all(r["NgayCapNhat"] < stamp for r in self.records):
            start = len(self.records)
        end = min(start + limit, len(self.records))
        more = end < len(self.records)
        return FeedPage(self.records[start:end], str(end) if more else None, more)

    async def dossier(self, code: str) -> object | None:
        return None

    async def daily_counts(self, first: date, last: date) -> Sequence[DailyCount]:
        return []

    async def procedures(self) -> Sequence[object]:
        return self.procedure_records

    async def agencies(self) -> Sequence[object]:
        return self.agency_records

    def parse_dossier(self, raw: object, hasher: PiiHasher) -> Dossier:
        return parse_dossier(raw, hasher)

    def parse_procedure(self, raw: object) -> Procedure:
        return catalogue.parse_procedure(raw)

    def parse_agency(self, raw: object) -> Agency:
        return catalogue.parse_agency(raw)

    async def aclose(self) -> None:
        pass


def feed(count: int) -> list[dict[str, Any]]:
    """``count`` changes of distinct dossiers, one a minute from 09:00 local time."""
    return [
        dossier_record(MaHoSo=f"D-{i:04d}", PhienBan=1, NgayCapNhat=format_compact_local(at(i)))
        for i in range(count)
    ]


def runtime(engine: AsyncEngine, source: MemorySource, page_size: int = 4) -> Runtime:
    return Runtime(engine=engine, source=source, hasher=PiiHasher("k"), page_size=page_size)


def poller(rt: Runtime) -> Poller:
    return Poller(rt, interval=0.01, poll_from=format_compact_local(at(0)))


async def scalar(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


async def position(engine: AsyncEngine) -> FeedPosition | None:
    async with engine.connect() as conn:
        return await state.position(conn, "lgsp")


async def poll_until_idle(p: Poller) -> int:
    pages = 1
    while await p.poll_once():
        pages += 1
    return pages


@pytest.mark.usefixtures("clean_state")
async def test_the_poller_pages_through_the_feed_and_commits_its_cursor_with_the_records(
    engine: AsyncEngine,
) -> None:
    source = MemorySource(feed(10))
    p = poller(runtime(engine, source))
    await p.ensure_position()
    assert await p.poll_once() is True
    assert await scalar(engine, "SELECT count(*) FROM ingest.dossiers") == 4
    assert await position(engine) == FeedPosition(at(0), "4", at(3))

    assert await poll_until_idle(p) == 2
    assert await scalar(engine, "SELECT count(*) FROM ingest.dossiers") == 10
    # The chain ended: the next one starts at the newest change, inclusive.
    assert await position(engine) == FeedPosition(at(9), None, at(9))
    assert source.calls == [(at(0), None), (at(0), "4"), (at(0), "8")]

    # Polling again re-reads the newest second (at-least-once) and changes nothing.
    assert await p.poll_once() is False
    assert source.calls[-1] == (at(9), None)
    assert await scalar(engine, "SELECT stored FROM ingest.source_state") == 10
    assert await scalar(engine, "SELECT duplicates_skipped FROM ingest.source_state") == 1
    assert await scalar(engine, "SELECT count(*) FROM ingest.outbox_event_list") == 10


@pytest.mark.usefixtures("clean_state")
async def test_a_new_poller_resumes_from_the_committed_cursor(engine: AsyncEngine) -> None:
    source = MemorySource(feed(10))
    first = poller(runtime(engine, source))
    await first.ensure_position()
    await first.poll_once()  # then the process dies

    source.calls.clear()
    second = poller(runtime(engine, source))
    await second.ensure_position()  # finds the position: no new start, no backfill
    await poll_until_idle(second)
    assert source.calls[0] == (at(0), "4")
    assert await scalar(engine, "SELECT count(*) FROM ingest.dossiers") == 10
    assert await scalar(engine, "SELECT count(*) FROM ingest.backfill_jobs") == 0


@pytest.mark.usefixtures("clean_state")
async def test_a_page_that_fails_to_commit_leaves_the_cursor_where_it_was(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = MemorySource(feed(10))
    p = poller(runtime(engine, source))
    await p.ensure_position()
    await p.poll_once()

    class Crash(Exception):
        pass

    async def crash(conn: AsyncConnection, *args: object, **kwargs: object) -> None:
        raise Crash

    monkeypatch.setattr(state, "record_page", crash)
    with pytest.raises(Crash):
        await p.poll_once()
    monkeypatch.undo()
    assert await position(engine) == FeedPosition(at(0), "4", at(3))
    assert await scalar(engine, "SELECT count(*) FROM ingest.dossiers") == 4  # page rolled back
    await poll_until_idle(p)
    assert await scalar(engine, "SELECT count(*) FROM ingest.dossiers") == 10


@pytest.mark.usefixtures("clean_state")
async def test_a_cursor_the_source_forgot_restarts_the_chain_at_the_high_water_mark(
    engine: AsyncEngine,
) -> None:
    source = MemorySource(feed(10))
    p = poller(runtime(engine, source))
    await p.ensure_position()
    await p.poll_once()
    source.forget_cursors = True
    assert await p.poll_once() is True  # more to read: at once, from the high-water mark
    assert await position(engine) == FeedPosition(at(3), None, at(3))
    source.forget_cursors = False
    await poll_until_idle(p)
    assert source.calls == [(at(0), None), (at(0), "4"), (at(3), None), (at(3), "7")]
    assert await scalar(engine, "SELECT count(*) FROM ingest.dossiers") == 10
    assert await scalar(engine, "SELECT count(*) FROM ingest.outbox_event_list") == 10


# -- catalogue sync ------------------------------------------------------------------------------


def procedure_record(code: str, **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "MaTTHC": code,
        "TenTTHC": "Cấp giấy phép xây dựng",
        "MaLinhVuc": "XAY_DUNG",
        "TenLinhVuc": "Xây dựng",
        "CapThucHien": ["TINH"],
        "MucDo": "TOAN_TRINH",
        "DuDieuKienToanTrinh": "1",
        "TichHopDVCQG": "1",
        "CoPhiLePhi": "1",
        "ThanhToanTrucTuyen": "1",
        "BuuChinhCongIch": "0",
        "CongKhai": "1",
        "ThoiHanGiaiQuyet": "15",
        "HieuLucTu": "20200101",
        "HieuLucDen": None,
    }
    return record | overrides


def agency_record(code: str, **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "MaDinhDanh": code,
        "TenCoQuan": "UBND xã Đắk Cấm",
        "Cap": "XA",
        "MaCoQuanCha": "000.00.20.H34",
        "HieuLucTu": "20200101",
        "HieuLucDen": None,
        "MaCoQuanKeThua": None,
    }
    return record | overrides


async def quarantined(engine: AsyncEngine) -> list[tuple[str, str | None, str]]:
    """(kind, record code, reason) of every quarantined record, by kind."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT kind, record_code, reason FROM ingest.quarantine ORDER BY kind")
        )
        return [(kind, code, reason) for kind, code, reason in rows]


async def catalogue_events(engine: AsyncEngine) -> list[tuple[str, str, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT envelope->>'type', envelope->>'subject', "
                "(envelope->'data'->>'version')::int FROM ingest.outbox_event_list "
                "ORDER BY seq, position"
            )
        )
        return [(t.rsplit(".", 2)[-2], s, v) for t, s, v in rows]


@pytest.mark.usefixtures("clean_state")
async def test_catalogue_events_are_published_only_when_content_changes(
    engine: AsyncEngine,
) -> None:
    source = MemorySource([])
    source.procedure_records = [procedure_record("1.001"), procedure_record("1.002")]
    source.agency_records = [agency_record("000.2D.01.H34")]
    rt = runtime(engine, source)

    first = await sync_catalogue(rt)
    assert [(o.kind, o.read, o.changed) for o in first] == [("agency", 1, 1), ("procedure", 2, 2)]
    assert await catalogue_events(engine) == [
        ("agency", "000.2D.01.H34", 1),
        ("procedure", "1.001", 1),
        ("procedure", "1.002", 1),
    ]

    # The same content again, spelled otherwise (NFD text, fields in another order): no event.
    source.procedure_records = [
        dict(reversed(procedure_record("1.002").items())),
        procedure_record("1.001", TenTTHC=unicodedata.normalize("NFD", "Cấp giấy phép xây dựng")),
    ]
    again = await sync_catalogue(rt)
    assert [o.changed for o in again] == [0, 0]
    assert len(await catalogue_events(engine)) == 3

    # A real change moves that record's version, and only that one's.
    source.procedure_records[0] = procedure_record("1.002", ThoiHanGiaiQuyet="10")
    source.agency_records = [agency_record("000.2D.01.H34", HieuLucDen="20250630")]
    await sync_catalogue(rt)
    assert (await catalogue_events(engine))[3:] == [
        ("agency", "000.2D.01.H34", 2),
        ("procedure", "1.002", 2),
    ]
    async with engine.connect() as conn:
        data = (
            await conn.execute(
                text(
                    "SELECT envelope->'data' FROM ingest.outbox_event_list "
                    "WHERE envelope->>'subject' = '1.002' ORDER BY seq DESC, position DESC "
                    "LIMIT 1"
                )
            )
        ).scalar_one()
    assert data["processing_days"] == 10.0 and data["levels"] == ["province"]
    assert data["online_level"] == "full" and data["version"] == 2


@pytest.mark.usefixtures("clean_state")
async def test_an_unreadable_catalogue_record_is_quarantined_and_publishes_nothing(
    engine: AsyncEngine,
) -> None:
    source = MemorySource([])
    source.procedure_records = [procedure_record("1.001"), procedure_record("1.009", MucDo="5")]
    source.agency_records = [agency_record("X-1", Cap="THON")]
    outcomes = await sync_catalogue(runtime(engine, source))
    assert [(o.changed, o.quarantined) for o in outcomes] == [(0, 1), (1, 1)]
    assert await quarantined(engine) == [
        ("agency", "X-1", "Cap: unknown level: 'THON'"),
        ("procedure", "1.009", "MucDo: unknown online level: '5'"),
    ]
    assert [e[1] for e in await catalogue_events(engine)] == ["1.001"]


@pytest.mark.usefixtures("clean_state")
async def test_catalogue_text_with_nul_is_quarantined_not_a_failed_sync(
    engine: AsyncEngine,
) -> None:
    """Catalogue content is stored as JSONB, which holds no NUL: such a record once failed the
    whole sync, again at every poll."""
    source = MemorySource([])
    source.procedure_records = [procedure_record("1.001", TenTTHC="Cấp\x00 phép")]
    source.agency_records = [agency_record("X\x00-1"), agency_record("000.2D.01.H34")]
    outcomes = await sync_catalogue(runtime(engine, source))
    assert [(o.changed, o.quarantined) for o in outcomes] == [(1, 1), (0, 1)]
    assert await quarantined(engine) == [
        ("agency", None, "MaDinhDanh: contains a NUL character"),  # its code unreadable
        ("procedure", "1.001", "TenTTHC: contains a NUL character"),
    ]
    assert [e[1] for e in await catalogue_events(engine)] == ["000.2D.01.H34"]
