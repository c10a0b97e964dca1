"""What the workers share: the database, the source, the hasher, and the sizes to use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cchc_ingest.domain.dossier import PiiHasher
from cchc_ingest.pipeline.records import PreparedPage, parse_page
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

    async def store_records(
        self,
        records: Sequence[object],
        bookkeeping: Bookkeeping,
        *,
        until: datetime | None = None,
    ) -> tuple[PreparedPage, PageOutcome]:
        """Parse a page, then store it and its bookkeeping (cursor, counters) in one transaction.

        Rows are built only for dossiers newer than what the store holds, before the write lock
        is taken (building them costs more than parsing, and most records of a backfill are
        versions older than the stored one); the write checks versions again under the lock.
        """
        with paused_gc():
            page = parse_page(records, self.source.parse_dossier, self.hasher, until=until)
        async with self.engine.begin() as conn:
            raw = await raw_connection(conn)
            held = await dossiers.held_versions(raw, list(page.best))
            with paused_gc():
                page.build_rows(held)
            outcome = await write_page(raw, page, self.source.name)
            await bookkeeping(conn, page, outcome)
        return page, outcome
