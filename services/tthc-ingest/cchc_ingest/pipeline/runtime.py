"""What the workers share: the database, the source, the hasher, and the sizes to use."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cchc_ingest.domain.dossier import PiiHasher, parse_dossier
from cchc_ingest.domain.dossier_json import RawRecords
from cchc_ingest.pipeline.records import (
    PreparedPage,
    parse_page,
    prepare_page_for_transfer,
    transferred_page,
)
from cchc_ingest.pipeline.write import write_page
from cchc_ingest.sources.base import DossierSource
from cchc_ingest.store import dossiers
from cchc_ingest.store.dossiers import PageOutcome
from cchc_ingest.store.raw import raw_connection
from cchc_shared.memory import paused_gc

Bookkeeping = Callable[[AsyncConnection, PreparedPage, PageOutcome], Awaitable[None]]


@dataclass
class Runtime:
    engine: AsyncEngine
    source: DossierSource
    hasher: PiiHasher
    page_size: int = 1000
    concurrency: int = 4
    parse_workers: int = 0
    """Processes that parse pages and build their rows beside this one (0: parse here). Parsing
    is most of the ingest's Python work, and one process runs Python on one core only."""
    _pool: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)

    async def store_records(
        self,
        records: Sequence[object],
        bookkeeping: Bookkeeping,
        *,
        until: datetime | None = None,
    ) -> tuple[PreparedPage, PageOutcome]:
        """Parse a page, then store it and its bookkeeping (cursor, counters) in one transaction.

        With parsing processes, a page is parsed and its rows and events built there, while this
        process writes the previous page. Without, rows are built here only for dossiers newer
        than what the store holds (building them costs more than parsing, and most records of a
        backfill are versions older than the stored one). Either way the write checks versions
        under its lock.
        """
        # Pages the LGSP client decoded as JSON records go to the parsing processes, if any.
        pool = self._parsing_pool() if isinstance(records, RawRecords) else None
        if pool is not None:
            assert isinstance(records, RawRecords)
            payload = await asyncio.get_running_loop().run_in_executor(
                pool,
                prepare_page_for_transfer,
                records.to_json(),
                self.hasher,
                self.source.name,
                until,
            )
            page = transferred_page(payload)
        else:
            with paused_gc():
                page = parse_page(records, self.source.parse_dossier, self.hasher, until=until)
        async with self.engine.begin() as conn:
            raw = await raw_connection(conn)
            if pool is None:
                held = await dossiers.held_versions(raw, list(page.best))
                with paused_gc():
                    page.build_rows(self.source.name, held)
            outcome = await write_page(raw, page)
            await bookkeeping(conn, page, outcome)
        return page, outcome

    async def start_parsing(self) -> None:
        """Start the parsing processes now rather than at the first page (each imports the
        parser, about a second of CPU, which would otherwise delay that page)."""
        pool = self._parsing_pool()
        if pool is not None:
            loop = asyncio.get_running_loop()
            await asyncio.gather(
                *(loop.run_in_executor(pool, parsing_ready) for _ in range(self.parse_workers))
            )

    def _parsing_pool(self) -> ProcessPoolExecutor | None:
        """The worker processes, started at first use; only for the contract's own parser."""
        if self.parse_workers <= 0 or self.source.parse_dossier is not parse_dossier:
            return None
        if self._pool is None:
            # spawn: a fork of a process running an event loop and threads is not safe.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.parse_workers,
                mp_context=context,
                initializer=start_parsing_process,
                initargs=(os.getpid(),),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def start_parsing_process(parent_pid: int) -> None:
    """Initialiser of a parsing process: it ends when the service that started it is gone.
    A service killed with SIGKILL cannot stop its pool, and an orphaned worker would wait on
    its queue for ever."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def parsing_ready() -> bool:
    """Run in a parsing process to start it: the parser is imported with this module."""
    return True
