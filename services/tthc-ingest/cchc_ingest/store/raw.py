"""The asyncpg connection under a SQLAlchemy connection, for the bulk paths.

Statements sent on it run inside the SQLAlchemy transaction already open on that connection.
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

RawConnection = Any  # asyncpg.Connection (asyncpg ships no type information)


async def raw_connection(conn: AsyncConnection | AsyncSession) -> RawConnection:
    """The driver connection, inside the transaction of ``conn``.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its first statement: a statement sent
    on the driver connection before that would run in autocommit, outside the transaction (its
    locks released at once, its writes committed alone). One statement through SQLAlchemy first
    makes sure the transaction is open.
    """
    if isinstance(conn, AsyncSession):
        conn = await conn.connection()
    await conn.execute(_BEGIN_PROBE)
    fairy = await conn.get_raw_connection()
    return fairy.driver_connection


_BEGIN_PROBE = text("SELECT 1")


def advisory_key(name: str) -> int:
    """A PostgreSQL advisory-lock key that is the same in every process (unlike ``hash()``)."""
    return zlib.crc32(name.encode())
