"""Session-level PostgreSQL advisory locks held on a dedicated connection: one active poller per
source, one runner per backfill job. A crashed holder's connection dies and its lock with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cchc_ingest.store.raw import advisory_key


class LockLost(Exception):
    """The connection holding a lock broke: another process may hold it now."""


@asynccontextmanager
async def try_lock(engine: AsyncEngine, name: str) -> AsyncIterator[AsyncConnection | None]:
    """Yields the holding connection, or None if another session holds the lock."""
    key = advisory_key(name)
    async with engine.connect() as conn:
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar()
        await conn.commit()
        if not got:
            yield None
            return
        try:
            yield conn
        finally:
            try:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
            except Exception:  # the connection is gone, and the lock with it
                await conn.invalidate()


@asynccontextmanager
async def leadership(
    engine: AsyncEngine, name: str, *, retry: float = 2.0
) -> AsyncIterator[AsyncConnection]:
    """Wait until this process holds the lock ``name``; stand by while another one does."""
    while True:
        async with try_lock(engine, name) as conn:
            if conn is not None:
                yield conn
                return
        await asyncio.sleep(retry)


async def check_alive(conn: AsyncConnection) -> None:
    try:
        await conn.execute(text("SELECT 1"))
        await conn.commit()
    except Exception as exc:
        raise LockLost(repr(exc)) from exc
