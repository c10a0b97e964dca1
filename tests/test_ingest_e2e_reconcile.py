"""Acceptance 4 of the ingest: reconciliation finds and repairs a gap made by deleting the stored
dossiers of one day, through the service's API."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_ingest.domain.instants import local_date
from cchc_ingest.main import create_app
from cchc_simulator.timeutil import format_datetime
from tests.test_ingest_e2e_support import (
    ALL_FAULTS,
    assert_quarantine_matches_truth,
    assert_store_matches_truth,
    history_range,
    in_process_simulator,
    ingest_settings,
    truth_of,
    wait_for,
)

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_state")]


async def until_done(api: AsyncClient, url: str, seconds: float = 300) -> dict[str, Any]:
    async def done() -> bool:
        body = (await api.get(url)).json()
        assert body["status"] not in ("failed",), body
        return bool(body["status"] == "done")

    await wait_for(done, seconds, every=0.3)
    answer: dict[str, Any] = (await api.get(url)).json()
    return answer


async def delete_dossiers_received_on(engine: AsyncEngine) -> tuple[date, int]:
    """Delete the dossiers received on the busiest day: a gap the poller would never notice."""
    async with engine.begin() as conn:
        day, count = (
            await conn.execute(
                text(
                    "SELECT received_on, count(*) FROM ingest.dossiers "
                    "WHERE received_on IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
                )
            )
        ).one()
        await conn.execute(text("DELETE FROM ingest.dossiers WHERE received_on = :d"), {"d": day})
    return day, count


async def test_reconciliation_finds_and_repairs_a_deleted_day(
    make_client: ClientFactory, engine: AsyncEngine
) -> None:
    simulator, sim_app = in_process_simulator(3_000, ALL_FAULTS)
    start, end = history_range(
        {
            "historyStart": format_datetime(simulator.config.start),
            "historyEnd": format_datetime(simulator.config.end),
        }
    )
    settings = ingest_settings("http://lgsp", poll_interval=5.0, catalogue_interval=3600.0)
    app = create_app(settings, source_transport=httpx.ASGITransport(app=sim_app))
    truth = truth_of(simulator)
    async with make_client(app) as api:
        backfill = await api.post(
            "/api/v1/ingest/backfill", json={"from": start.isoformat(), "to": end.isoformat()}
        )
        assert backfill.status_code == 202, backfill.text
        await until_done(api, backfill.headers["Location"])
        await assert_store_matches_truth(engine, truth)

        day, deleted = await delete_dossiers_received_on(engine)
        first, last = local_date(start), local_date(end) - timedelta(days=1)
        run = await api.post(
            "/api/v1/ingest/reconciliations", json={"from": str(first), "to": str(last)}
        )
        assert run.status_code == 202, run.text
        report = await until_done(api, run.headers["Location"])

    assert deleted > 10
    found = report["findings"]
    assert report["differences_found"] == len(found) > 0
    assert report["differences_remaining"] == 0 and report["error"] is None
    assert day.isoformat() in {f["day"] for f in found}
    on_the_day = [f for f in found if f["day"] == day.isoformat()]
    assert sum(f["source_received"] - f["ours_received"] for f in on_the_day) == deleted
    assert all(f["repaired"] for f in found)
    await assert_store_matches_truth(engine, truth)
    await assert_quarantine_matches_truth(engine, truth)
