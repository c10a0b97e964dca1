"""The latest procedure and agency records with their content hashes (``ingest.catalogue``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc_ingest.store.models import CatalogueRecord


async def hashes(conn: AsyncConnection, kind: str) -> dict[str, tuple[str, int]]:
    """code -> (content hash, version) of every stored record of a kind."""
    rows = await conn.execute(
        select(CatalogueRecord.code, CatalogueRecord.content_hash, CatalogueRecord.version).where(
            CatalogueRecord.kind == kind
        )
    )
    return {code: (digest, version) for code, digest, version in rows}


async def save(
    conn: AsyncConnection, kind: str, records: Sequence[tuple[Mapping[str, Any], str, int]]
) -> None:
    """Store (content, hash, version) for changed records."""
    if not records:
        return
    stmt = insert(CatalogueRecord).values(
        [
            {
                "kind": kind,
                "code": content["code"],
                "content": dict(content),
                "content_hash": digest,
                "version": version,
            }
            for content, digest, version in records
        ]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[CatalogueRecord.kind, CatalogueRecord.code],
        set_={
            "content": stmt.excluded.content,
            "content_hash": stmt.excluded.content_hash,
            "version": stmt.excluded.version,
            "updated_at": func.now(),
        },
    )
    await conn.execute(stmt)


async def counts(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(
        select(CatalogueRecord.kind, func.count()).group_by(CatalogueRecord.kind)
    )
    return {kind: n for kind, n in rows}
