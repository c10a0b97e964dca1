"""Reconciliation: compare the source's daily counts (``hoso/thongke``) with ours per day and
agency, re-read the days that differ, compare again, and keep the report.

A run is resumable: ``pending`` -> compare -> ``rereading`` (a backfill job of the differing days)
-> compare again -> ``done``.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog

from cchc_ingest.domain.instants import local_date, local_day_start
from cchc_ingest.domain.reconcile import Difference, SourceCount, days_to_reread, differences
from cchc_ingest.pipeline.backfill import BackfillRunner, create_job
from cchc_ingest.pipeline.runtime import Runtime
from cchc_ingest.store import dossiers, jobs, reconciliations
from cchc_ingest.store.locks import try_lock
from cchc_ingest.store.raw import raw_connection

_log = structlog.get_logger(__name__)
DAY = timedelta(days=1)


def finding(diff: Difference, after: Difference | None) -> dict[str, Any]:
    row: dict[str, Any] = asdict(diff)
    row["day"] = diff.day.isoformat()
    row["ours_received_after"] = after.ours_received if after else diff.source_received
    row["ours_updated_after"] = after.ours_updated if after else diff.source_updated
    row["repaired"] = after is None
    return row


class Reconciler:
    def __init__(
        self,
        runtime: Runtime,
        backfill: BackfillRunner,
        *,
        interval: float = 0.0,
        days: int = 7,
        idle: float = 2.0,
    ) -> None:
        self.rt = runtime
        self.backfill = backfill
        self.interval = interval
        self.days = days
        self.idle = idle

    async def run(self) -> None:
        """Process runs asked for through the API, and schedule one every ``interval`` seconds."""
        failures = 0
        while True:
            try:
                await self._schedule()
                async with self.rt.engine.connect() as conn:
                    open_ids = await reconciliations.open_run_ids(conn)
                for run_id in open_ids:
                    await self.process(run_id)
                failures = 0
                await asyncio.sleep(self.idle)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                _log.warning("reconciliation interrupted", error=repr(exc))
                await asyncio.sleep(min(120.0, random.uniform(0.5, 1.0) * 2 ** min(failures, 6)))

    async def _schedule(self) -> None:
        if self.interval <= 0:
            return
        async with self.rt.engine.begin() as conn:
            last = await reconciliations.last_created(conn)
            if last is None or datetime.now(UTC) - last >= timedelta(seconds=self.interval):
                today = local_date(datetime.now(UTC))
                await reconciliations.create(conn, today - timedelta(days=self.days - 1), today)

    async def process(self, run_id: uuid.UUID) -> None:
        async with try_lock(self.rt.engine, f"cchc_ingest.reconcile:{run_id}") as held:
            if held is None:
                return
            try:
                await self._advance(run_id)
            except (asyncio.CancelledError, ConnectionError, OSError):
                raise
            except Exception as exc:
                if _transient(exc):
                    raise
                async with self.rt.engine.begin() as conn:
                    await reconciliations.update_run(conn, run_id, status="failed", error=repr(exc))

    async def _advance(self, run_id: uuid.UUID) -> None:
        async with self.rt.engine.connect() as conn:
            run = await reconciliations.get(conn, run_id)
        if run is None:
            return
        first, last = run["day_from"], run["day_to"]
        if run["status"] == "pending":
            found = await self.compare(first, last)
            if not found:
                async with self.rt.engine.begin() as conn:
                    await reconciliations.update_run(
                        conn,
                        run_id,
                        status="done",
                        days_checked=(last - first).days + 1,
                        findings=[],
                        differences_found=0,
                        differences_remaining=0,
                    )
                return
            async with self.rt.engine.begin() as conn:
                job_id = await create_job(
                    conn,
                    self.rt.source.name,
                    local_day_start(first),
                    local_day_start(last + DAY),
                    kind="reread",
                    slices=_day_slices(days_to_reread(found)),
                )
                await reconciliations.update_run(
                    conn,
                    run_id,
                    status="rereading",
                    reread_job_id=job_id,
                    days_checked=(last - first).days + 1,
                    differences_found=len(found),
                    findings=[finding(d, d) for d in found],
                )
            await self._finish(run_id, job_id, first, last)
        elif run["status"] == "rereading":
            await self._finish(run_id, run["reread_job_id"], first, last)

    async def _finish(self, run_id: uuid.UUID, job_id: uuid.UUID, first: date, last: date) -> None:
        await self.backfill.run_job(job_id)
        async with self.rt.engine.connect() as conn:
            job = await jobs.get(conn, job_id)
            run = await reconciliations.get(conn, run_id)
        if job is None or run is None or job["status"] in jobs.OPEN_STATUSES:
            return  # another process runs the re-read; we come back to it
        remaining = {(d.day, d.agency_code): d for d in await self.compare(first, last)}
        before = [
            Difference(
                date.fromisoformat(f["day"]),
                f["agency_code"],
                f["source_received"],
                f["ours_received"],
                f["source_updated"],
                f["ours_updated"],
            )
            for f in run["findings"]
        ]
        async with self.rt.engine.begin() as conn:
            await reconciliations.update_run(
                conn,
                run_id,
                status="done",
                findings=[finding(d, remaining.get((d.day, d.agency_code))) for d in before],
                differences_remaining=len(remaining),
                error=job["error"],
            )

    async def compare(self, first: date, last: date) -> list[Difference]:
        counts = await self.rt.source.daily_counts(first, last)
        async with self.rt.engine.connect() as conn:
            raw = await raw_connection(conn)
            received = await dossiers.received_counts(raw, first, last)
            updated = await dossiers.updated_counts(raw, first, last)
        source = [SourceCount(c.day, c.agency_code, c.received, c.updated) for c in counts]
        return differences(source, received, updated)


def _day_slices(days: Sequence[date]) -> list[tuple[datetime, datetime | None]]:
    return [(local_day_start(d), local_day_start(d + DAY)) for d in days]


def _transient(exc: Exception) -> bool:
    from cchc_ingest.sources.lgsp import SourceAuthFailed, SourceUnavailable

    return isinstance(exc, SourceUnavailable | SourceAuthFailed)
