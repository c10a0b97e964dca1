"""Catalogue and agency sync: read both listings, store what changed, publish one event per
change (a record's content hash moved, so its version moves)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from cchc_ingest.domain.catalogue import content_hash
from cchc_ingest.domain.dossier import RecordRejected
from cchc_ingest.events.publish import OutboxRow, agency_changed, procedure_changed
from cchc_ingest.pipeline.records import quarantine_row
from cchc_ingest.pipeline.runtime import Runtime
from cchc_ingest.store import catalogue, dossiers, outbox, state
from cchc_ingest.store.dossiers import QuarantineRow
from cchc_ingest.store.locks import leadership
from cchc_ingest.store.raw import raw_connection

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    kind: str
    read: int
    changed: int
    quarantined: int


async def sync_kind(
    runtime: Runtime,
    kind: str,
    raws: Sequence[object],
    parse: Callable[[object], Mapping[str, Any]],
    event: Callable[[Mapping[str, Any], int], OutboxRow],
) -> SyncOutcome:
    parsed: dict[str, Mapping[str, Any]] = {}
    rejected: list[QuarantineRow] = []
    for raw in raws:
        try:
            record = parse(raw)
        except RecordRejected as exc:
            rejected.append(quarantine_row(kind, raw, exc))
            continue
        parsed[record["code"]] = record
    async with runtime.engine.begin() as conn:
        held = await catalogue.hashes(conn, kind)
        changed = []
        for code, content in parsed.items():
            digest = content_hash(content)
            stored = held.get(code)
            if stored is None or stored[0] != digest:
                changed.append((content, digest, stored[1] + 1 if stored else 1))
        await catalogue.save(conn, kind, changed)
        raw = await raw_connection(conn)
        await outbox.enqueue(raw, [event(content, version) for content, _, version in changed])
        await dossiers.quarantine(raw, rejected, runtime.source.name)
    return SyncOutcome(kind, len(raws), len(changed), len(rejected))


async def sync_catalogue(runtime: Runtime) -> list[SyncOutcome]:
    source = runtime.source
    agencies = await source.agencies()
    procedures = await source.procedures()
    outcomes = [
        await sync_kind(runtime, "agency", agencies, source.parse_agency, agency_changed),
        await sync_kind(
            runtime, "procedure", procedures, source.parse_procedure, procedure_changed
        ),
    ]
    async with runtime.engine.begin() as conn:
        await state.mark_catalogue_synced(conn, source.name)
    return outcomes


class CatalogueSync:
    def __init__(self, runtime: Runtime, *, interval: float) -> None:
        self.rt = runtime
        self.interval = interval

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                async with leadership(
                    self.rt.engine, f"cchc_ingest.catalogue:{self.rt.source.name}"
                ):
                    while True:
                        outcomes = await sync_catalogue(self.rt)
                        failures = 0
                        _log.info("catalogue synced", outcomes=str(outcomes))
                        await asyncio.sleep(self.interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                _log.warning("catalogue sync failed", error=repr(exc))
                await asyncio.sleep(min(300.0, random.uniform(0.5, 1.0) * 2 ** min(failures, 8)))
