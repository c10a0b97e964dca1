"""Acceptance 1 and 2 of the ingest: a year backfilled from the simulated one-stop system with
every fault switched on ends with our store equal to the source's ground truth, dossier for
dossier, and the quarantine holding exactly the malformed records; also when the ingest process
is SIGKILLed twice during the backfill and restarted."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_ingest.pipeline.backfill import BackfillRunner, create_job
from cchc_ingest.pipeline.catalogue import sync_catalogue
from cchc_ingest.workers import make_runtime
from cchc_shared.db import create_engine
from cchc_shared.embedded import free_port
from cchc_shared.testing import TestInfra, TestTokens
from tests.test_ingest_e2e_support import (
    IngestProcess,
    Province,
    assert_quarantine_matches_truth,
    assert_store_matches_truth,
    history_range,
    ingest_env,
    ingest_settings,
    provinces,
    sim_status,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_state")]

A_YEAR = 300_000  # both acceptance tests read the same simulated year, and share its truth


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[int], Province]]:
    with provinces(tmp_path_factory.mktemp("provinces")) as province:
        yield province


async def job_row(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        (row,) = (await conn.execute(text("SELECT * FROM ingest.backfill_jobs"))).mappings()
        return dict(row)


@pytest.mark.timeout(1800)  # minutes on a 2-core machine; shared CI runners are slower
async def test_a_year_backfilled_through_every_fault_equals_the_source(
    infra: TestInfra, province: Callable[[int], Province]
) -> None:
    year = province(A_YEAR)
    status = await sim_status(await year.url())
    start, end = history_range(status)
    engine = create_engine(infra.database_url, pool_size=8)
    runtime = make_runtime(ingest_settings(await year.url()), engine)
    try:
        await sync_catalogue(runtime)
        async with engine.begin() as conn:
            job_id = await create_job(conn, runtime.source.name, start, end)
        assert await BackfillRunner(runtime).run_job(job_id)
        truth = await year.truth()

        job = await job_row(engine)
        assert (job["status"], job["error"]) == ("done", None)
        assert status["dossiers"] >= A_YEAR and len(truth.latest) >= 0.99 * A_YEAR
        await assert_store_matches_truth(engine, truth)
        held = await assert_quarantine_matches_truth(engine, truth)
        assert held >= 0.0005 * truth.versions  # the fault really fired
        assert job["quarantined"] >= held and job["duplicates_skipped"] > 0
    finally:
        runtime.close()
        await runtime.source.aclose()
        await engine.dispose()


@pytest.mark.timeout(1800)
async def test_the_ingest_process_killed_twice_during_a_backfill_still_ends_equal(
    service_env: dict[str, str],
    test_tokens: TestTokens,
    engine: AsyncEngine,
    tmp_path: Path,
    province: Callable[[int], Province],
) -> None:
    year = province(A_YEAR)
    url = await year.url()
    start, end = history_range(await sim_status(url))
    ingest = IngestProcess(
        ingest_env(service_env, url, CCHC_PORT=str(free_port())), tmp_path / "ingest.log"
    )
    await ingest.start()
    try:
        async with httpx.AsyncClient(
            base_url=ingest.url, headers=test_tokens.headers("admin"), timeout=30
        ) as api:
            created = await api.post(
                "/api/v1/ingest/backfill", json={"from": start.isoformat(), "to": end.isoformat()}
            )
            assert created.status_code == 202, created.text
            job_url = created.headers["Location"]

            for share in (0.25, 0.6):  # killed at a quarter, and past half of the work
                await wait_for(functools.partial(_read_at_least, engine, share), 600)
                ingest.kill()
                done, total = await _slices_read(engine)
                assert done < total, "the backfill ended before the kill: nothing was cut"
                await ingest.start()

            async def finished() -> bool:
                job = (await api.get(job_url)).json()
                assert job["status"] in ("pending", "running", "done"), job
                return bool(job["status"] == "done")

            await wait_for(finished, 1200, every=0.5)
            job = (await api.get(job_url)).json()
    finally:
        ingest.kill()
    truth = await year.truth()
    assert (job["error"], job["slices_done"]) == (None, job["slices_total"])
    await assert_store_matches_truth(engine, truth)
    await assert_quarantine_matches_truth(engine, truth)


async def _slices_read(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        done, total = (
            await conn.execute(
                text("SELECT count(*) FILTER (WHERE done), count(*) FROM ingest.backfill_chunks")
            )
        ).one()
    return int(done), int(total)


async def _read_at_least(engine: AsyncEngine, share: float) -> bool:
    """Whether the backfill has read ``share`` of its slices (the day being read is cut short)."""
    done, total = await _slices_read(engine)
    return bool(total) and done >= share * total
