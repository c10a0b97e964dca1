"""The outbox relay: publishes committed outbox rows to JetStream, then marks them published.

Exactly one relay per service publishes at a time (a PostgreSQL advisory lock whose key is a crc32
of the outbox table name, stable across processes); others wait as standbys. A batch is locked
with ``FOR UPDATE SKIP LOCKED``, published, every publish acknowledgement is checked, and only
then are the rows marked. A failure anywhere rolls the batch back: it is published again later
(JetStream's duplicate window and idempotent consumers make that harmless).

Events of one subject travel several to a JetStream message, in the CloudEvents *batched* format
(a JSON array, content type ``application/cloudevents-batch+json``). Why: with
``sync_interval: always`` JetStream fsyncs every message, which caps one event per message at a
few hundred per second on ordinary disks; a hundred events per message keeps the same durability
at a hundredth of the fsyncs. A lone event is sent as a plain structured event with its id as
``Nats-Msg-Id``; a batch's ``Nats-Msg-Id`` is a digest of its event ids, so a retried identical
batch is dropped by JetStream, and consumers deduplicate by event id whatever the packing.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import structlog
from nats.js import JetStreamContext
from sqlalchemy import Row, String, cast, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cchc_shared.events.outbox import OutboxEventMixin
from cchc_shared.metrics import OUTBOX_PUBLISHED

_log = structlog.get_logger(__name__)
PUBLISH_TIMEOUT = 10.0
OutboxRow = Row[*tuple[Any, ...]]
"""A selected outbox row: seq, event_id, nats_subject, envelope (JSON text)."""
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
MAX_MESSAGE_BYTES = 512 * 1024  # well under NATS's default 1 MiB payload limit
PRUNE_EVERY = 60.0  # seconds between deletions of published rows past their retention
PRUNE_CHUNK = 10_000  # rows per DELETE: short transactions, no long lock on the outbox


@dataclass(frozen=True)
class Message:
    subject: str
    body: bytes
    headers: dict[str, str]


def pack(rows: Sequence[PackedRow], *, events_per_message: int) -> list[Message]:
    """Group (event_id, nats_subject, envelope JSON bytes) rows into JetStream messages: per
    subject, in outbox order, at most ``events_per_message`` events and MAX_MESSAGE_BYTES each."""
    return [
        packed_message(row) for row in pack_for_outbox(rows, events_per_message=events_per_message)
    ]


def pack_for_outbox(rows: Sequence[Any], *, events_per_message: int) -> list[PackedRow]:
    """One row per JetStream message, holding its body: a lone event as it is, several as a
    CloudEvents batch (a JSON array). The relay packs its rows so when it publishes; a writer
    that packs its own events (an outbox with ``packed`` set) stores these rows instead. The
    row's id is the lone event's, or a digest of the batch's event ids (the same batch packed
    again gets the same id, and JetStream drops the retry)."""
    packed: list[PackedRow] = []
    for subject, chunk in _chunks(rows, events_per_message):
        if len(chunk) == 1:
            packed.append(PackedRow(uuid.UUID(str(chunk[0].event_id)), subject, chunk[0].envelope))
            continue
        # Event ids as text: a writer packing its own events has them as text, not UUID objects.
        ids = "".join(str(r.event_id) for r in chunk)
        digest = hashlib.sha256(ids.encode()).hexdigest()[:32]
        body = b"[" + b",".join(r.envelope for r in chunk) + b"]"
        packed.append(PackedRow(uuid.UUID(hex=digest), subject, body))
    return packed


def packed_message(row: OutboxRow | PackedRow) -> Message:
    """The JetStream message of a packed row (see :func:`pack_for_outbox`)."""
    body = row.envelope if isinstance(row.envelope, bytes) else row.envelope.encode()
    if body.startswith(b"["):
        headers = {"Nats-Msg-Id": f"batch-{row.event_id.hex}", "Content-Type": BATCH_CONTENT_TYPE}
    else:
        headers = {"Nats-Msg-Id": str(row.event_id)}
    return Message(row.nats_subject, body, headers)


class PackedRow(NamedTuple):
    event_id: uuid.UUID
    nats_subject: str
    envelope: bytes
    """UTF-8 JSON: a writer's envelopes stay bytes until stored (the outbox's text column
    takes them as ``bytea`` through ``convert_from``), never decoded to a Python string and
    encoded back; the relay reads rows as text and encodes each message once."""


def _chunks(rows: Sequence[Any], events_per_message: int) -> Iterator[tuple[str, list[Any]]]:
    by_subject: dict[str, list[Any]] = {}
    for row in rows:
        by_subject.setdefault(row.nats_subject, []).append(row)
    for subject, subject_rows in by_subject.items():
        chunk: list[Any] = []
        size = 0
        for row in subject_rows:
            if chunk and (
                len(chunk) >= events_per_message or size + len(row.envelope) > MAX_MESSAGE_BYTES
            ):
                yield subject, chunk
                chunk, size = [], 0
            chunk.append(row)
            size += len(row.envelope) + 1
        if chunk:
            yield subject, chunk


def lock_key(table_fullname: str) -> int:
    # Python's hash() is salted per process; a crc32 is the same for every relay.
    return zlib.crc32(table_fullname.encode())


class OutboxRelay:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        js: JetStreamContext,
        outbox: type[OutboxEventMixin],
        batch_size: int = 500,
        poll_interval: float = 0.1,
        events_per_message: int = 100,
        retention: timedelta | None = None,
    ) -> None:
        self._engine = engine
        self._sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        self._js = js
        self._outbox = outbox
        self._table = outbox.__table__  # type: ignore[attr-defined]
        # A packed outbox's rows are messages of up to ``events_per_message`` events each.
        self._packed = outbox.packed
        self._batch_size = max(1, batch_size // events_per_message) if self._packed else batch_size
        self._poll_interval = poll_interval
        self._events_per_message = events_per_message
        self._retention = retention
        self._pruned_at = 0.0

    async def run(self) -> None:
        """Run until cancelled, surviving database and NATS outages."""
        while True:
            try:
                await self._run_while_leader()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # an outage: log, wait, try again
                _log.warning("outbox relay interrupted", error=repr(exc))
                await asyncio.sleep(1.0)

    async def _run_while_leader(self) -> None:
        key = lock_key(self._table.fullname)
        async with self._engine.connect() as lock_conn:
            while not (
                await lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            ).scalar():
                await lock_conn.rollback()
                await asyncio.sleep(2.0)  # another relay leads; stand by
            await lock_conn.commit()
            _log.info("outbox relay leading", table=self._table.fullname)
            try:
                while True:
                    published = await self.publish_batch()
                    if published == 0:
                        await self._prune_when_due()
                        await asyncio.sleep(self._poll_interval)
            finally:
                await lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await lock_conn.commit()

    async def publish_batch(self) -> int:
        """Publish one batch; answer how many rows went out (events, or messages when packed)."""
        outbox = self._outbox
        async with self._sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    # The envelope as stored text: published as is, never parsed here. (Not
                    # converted to bytea in SQL: under a sort, the planner converted every
                    # waiting 150 kB row for each batch of 20, a fifth of the relay's speed.)
                    select(
                        outbox.seq,
                        outbox.event_id,
                        outbox.nats_subject,
                        cast(outbox.envelope, String).label("envelope"),
                    )
                    .where(outbox.published_at.is_(None))
                    .order_by(outbox.seq)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            await self._publish(rows)
            await self._mark_published(session, [r.seq for r in rows])
        OUTBOX_PUBLISHED.labels(self._table.fullname).inc(len(rows))
        return len(rows)

    async def _prune_when_due(self) -> None:
        """While idle, at most once a minute: delete published rows past their retention."""
        now = asyncio.get_running_loop().time()
        if self._retention is None or now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        await self.prune(datetime.now(UTC) - self._retention)

    async def prune(self, published_before: datetime) -> int:
        """Delete rows published before ``published_before``, a chunk per transaction;
        answer how many went. Unpublished rows are never touched."""
        outbox = self._outbox
        deleted = 0
        while True:
            chunk = (
                select(outbox.seq)
                .where(outbox.published_at < published_before)
                .limit(PRUNE_CHUNK)
                .scalar_subquery()
            )
            async with self._engine.begin() as conn:
                result = await conn.execute(delete(outbox).where(outbox.seq.in_(chunk)))
            count = result.rowcount or 0
            deleted += count
            if count < PRUNE_CHUNK:
                return deleted

    async def _publish(self, rows: Sequence[OutboxRow]) -> None:
        if self._packed:
            messages = [packed_message(row) for row in rows]
        else:
            events = [PackedRow(r.event_id, r.nats_subject, r.envelope.encode()) for r in rows]
            messages = pack(events, events_per_message=self._events_per_message)
        futures = [
            await self._js.publish_async(message.subject, message.body, headers=message.headers)
            for message in messages
        ]
        # Every acknowledgement must arrive; a missing one raises and rolls the batch back.
        await asyncio.wait_for(asyncio.gather(*futures), timeout=PUBLISH_TIMEOUT)

    async def _mark_published(self, session: AsyncSession, seqs: list[int]) -> None:
        await session.execute(
            update(self._outbox)
            .where(self._outbox.seq.in_(seqs))
            .values(published_at=datetime.now(UTC))
        )


def retention(hours: float) -> timedelta | None:
    """The relay's retention of published rows from its setting (0: keep them forever)."""
    return timedelta(hours=hours) if hours > 0 else None


async def outbox_backlog(session: AsyncSession, outbox: type[OutboxEventMixin]) -> int:
    """How many committed events still wait for publication (a readiness and metrics figure)."""
    return int(
        (
            await session.execute(select(func.count()).where(outbox.published_at.is_(None)))
        ).scalar_one()
    )
