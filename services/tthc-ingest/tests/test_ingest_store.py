"""Pages of dossiers written to real PostgreSQL: version guard, events, history, quarantine."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cchc_ingest.domain.dossier import PiiHasher, parse_dossier
from cchc_ingest.pipeline.records import prepare_page
from cchc_ingest.pipeline.write import write_page
from cchc_ingest.samples import dossier_record
from cchc_ingest.store.dossiers import PageOutcome
from cchc_ingest.store.raw import raw_connection

HASHER = PiiHasher("k")
CODE = "000.00.01.H34-240305-00017"

pytestmark = pytest.mark.usefixtures("clean_state")


async def write(engine: AsyncEngine, records: list[Any]) -> PageOutcome:
    page = prepare_page(records, parse_dossier, HASHER, source="lgsp")
    async with engine.begin() as conn:
        return await write_page(await raw_connection(conn), page)


async def rows(engine: AsyncEngine, sql: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(text(sql))).mappings()]


async def events(engine: AsyncEngine) -> list[dict[str, Any]]:
    found = await rows(
        engine, "SELECT envelope FROM ingest.outbox_event_list ORDER BY seq, position"
    )
    return [r["envelope"] for r in found]


async def test_versions_only_move_forward_and_each_move_is_one_event(engine: AsyncEngine) -> None:
    first = await write(engine, [dossier_record(PhienBan=2, TrangThaiHoSo="2")])
    older = await write(engine, [dossier_record(PhienBan=1, TrangThaiHoSo="1")])
    same = await write(engine, [dossier_record(PhienBan=2, TrangThaiHoSo="4")])
    newer = await write(engine, [dossier_record(PhienBan=5, TrangThaiHoSo="9")])
    assert [o.stored for o in (first, older, same, newer)] == [1, 0, 0, 1]
    assert [o.duplicates for o in (first, older, same, newer)] == [0, 1, 1, 0]

    stored = await rows(engine, "SELECT code, version, status FROM ingest.dossiers")
    assert stored == [{"code": CODE, "version": 5, "status": 9}]
    sent = await events(engine)
    assert [e["type"] for e in sent] == ["vn.cchc.ingest.dossier.changed"] * 2
    created, moved = sent[0]["data"], sent[1]["data"]
    assert (created["version"], created["previous_version"], created["before"]) == (2, None, None)
    assert created["after"]["status"] == 2 and created["source"] == "lgsp"
    assert (moved["version"], moved["previous_version"]) == (5, 2)
    assert moved["before"] == created["after"]  # the consumer retracts exactly what it added
    assert moved["after"]["finished"] is True and moved["after"]["status"] == 9
    assert sent[1]["subject"] == CODE


async def test_status_history_records_each_status_change(engine: AsyncEngine) -> None:
    for version, status in ((1, "1"), (2, "2"), (3, "2"), (4, "4")):
        await write(engine, [dossier_record(PhienBan=version, TrangThaiHoSo=status)])
    history = await rows(
        engine,
        "SELECT version, status, previous_status FROM ingest.dossier_status_history ORDER BY id",
    )
    assert history == [
        {"version": 1, "status": 1, "previous_status": None},
        {"version": 2, "status": 2, "previous_status": 1},
        {"version": 4, "status": 4, "previous_status": 2},
    ]


async def test_a_page_stores_its_highest_versions_and_quarantines_once(
    engine: AsyncEngine,
) -> None:
    bad = dossier_record(MaHoSo="X-1", TrangThaiHoSo="99")
    page = [
        dossier_record(MaHoSo="A-1", PhienBan=1),
        dossier_record(MaHoSo="A-1", PhienBan=3),
        dossier_record(MaHoSo="B-1", PhienBan=1),
        bad,
        bad,
    ]
    outcome = await write(engine, page)
    again = await write(engine, [bad])
    assert (outcome.taken, outcome.stored, outcome.quarantined) == (5, 2, 2)
    assert again.quarantined == 1
    stored = await rows(engine, "SELECT code, version FROM ingest.dossiers ORDER BY code")
    assert stored == [{"code": "A-1", "version": 3}, {"code": "B-1", "version": 1}]
    held = await rows(engine, "SELECT record_code, reason, times_seen FROM ingest.quarantine")
    assert held == [
        {"record_code": "X-1", "reason": "TrangThaiHoSo: unknown status: '99'", "times_seen": 3}
    ]
    assert len(await events(engine)) == 2


async def test_the_stored_record_has_no_personal_data_in_clear(engine: AsyncEngine) -> None:
    await write(engine, [dossier_record()])
    (row,) = await rows(engine, "SELECT record::text AS record FROM ingest.dossiers")
    assert "Nguyễn" not in row["record"] and "0905123456" not in row["record"]
    assert "name_hash" in row["record"]


async def test_records_and_their_bookkeeping_commit_together(engine: AsyncEngine) -> None:
    from cchc_ingest.pipeline.runtime import Runtime

    class Boom(Exception):
        pass

    async def failing_bookkeeping(conn: AsyncConnection, *_: object) -> None:
        raise Boom

    runtime = Runtime(engine=engine, source=None, hasher=HASHER)  # type: ignore[arg-type]
    runtime.source = type("S", (), {"name": "lgsp", "parse_dossier": staticmethod(parse_dossier)})()
    with pytest.raises(Boom):
        await runtime.store_records([dossier_record()], failing_bookkeeping)
    assert await rows(engine, "SELECT code FROM ingest.dossiers") == []
    assert await events(engine) == []
