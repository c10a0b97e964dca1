"""Idempotent event consumers on durable JetStream pull consumers.

For each batch fetched: in one database transaction, record each event id in the service's
``processed_messages`` table (``ON CONFLICT DO NOTHING``: an id already there is a redelivery and is
skipped), apply the handler to the new events, commit; only then acknowledge. A transient failure
NAKs with a delay and the messages come back; after ``max_deliver`` deliveries, or at once for a
message that cannot be parsed or that the handler rejects as poison, the message is recorded as a
dead letter with the reason and terminated.

A batch that fails is retried one message at a time, so one poison message never holds back the
others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cchc_shared.events.envelope import CloudEvent
from cchc_shared.events.outbox import DeadLetterMixin, ProcessedMessageMixin
from cchc_shared.metrics import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED

_log = structlog.get_logger(__name__)

BatchHandler = Callable[[AsyncSession, Sequence[CloudEvent]], Awaitable[None]]
"""Applies new (never seen by this consumer) events inside the caller's transaction."""


class PoisonMessage(Exception):
    """Raised by a handler for an event that can never be applied: dead-letter it, don't retry."""


@dataclass(frozen=True)
class ConsumerSpec:
    durable: str
    stream: str
    filter_subjects: tuple[str, ...]
    handler: BatchHandler
    max_deliver: int = 10
    batch_size: int = 200
    ack_wait: float = 60.0
    # Redelivery delays after a NAK; the last one repeats.
    backoff: tuple[float, ...] = (0.5, 2.0, 5.0, 15.0, 30.0)


class EventConsumer:
    def __init__(
        self,
        *,
        js: JetStreamContext,
        sessionmaker: async_sessionmaker[AsyncSession],
        spec: ConsumerSpec,
        processed: type[ProcessedMessageMixin],
        dead_letters: type[DeadLetterMixin],
    ) -> None:
        self._js = js
        self._sessionmaker = sessionmaker
        self._spec = spec
        self._processed = processed
        self._dead_letters = dead_letters

    def config(self) -> ConsumerConfig:
        spec = self._spec
        return ConsumerConfig(
            durable_name=spec.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=spec.ack_wait,
            max_deliver=spec.max_deliver + 1,  # we dead-letter at max_deliver ourselves
            filter_subjects=list(spec.filter_subjects),
            max_ack_pending=max(1000, spec.batch_size * 5),
        )

    async def ensure(self) -> None:
        """Create (or update) the durable consumer on the server."""
        await self._js.add_consumer(self._spec.stream, self.config())

    async def run(self) -> None:
        """Fetch and apply until cancelled; outages of NATS or PostgreSQL are waited out."""
        while True:
            try:
                await self.ensure()
                sub = await self._js.pull_subscribe_bind(
                    durable=self._spec.durable, stream=self._spec.stream
                )
                await self._consume(sub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.warning("consumer interrupted", durable=self._spec.durable, error=repr(exc))
                await asyncio.sleep(1.0)

    async def _consume(self, sub: JetStreamContext.PullSubscription) -> None:
        while True:
            try:
                msgs = await sub.fetch(self._spec.batch_size, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                continue
            await self.process(msgs)

    async def process(self, msgs: Sequence[Msg]) -> None:
        """Apply a fetched batch; on failure, fall back to one message at a time."""
        try:
            await self._apply(msgs)
        except Exception as exc:
            if len(msgs) == 1:
                await self._on_failure(msgs[0], exc)
                return
            for msg in msgs:
                try:
                    await self._apply([msg])
                except Exception as single_exc:
                    await self._on_failure(msg, single_exc)

    async def _apply(self, msgs: Sequence[Msg]) -> None:
        events: list[tuple[Msg, CloudEvent]] = []
        for msg in msgs:
            try:
                events.append((msg, CloudEvent.from_bytes(msg.data)))
            except ValidationError as exc:
                # Unreadable: no retry will ever make it readable.
                await self._dead_letter(msg, None, f"unreadable event: {exc}")
        if not events:
            return
        async with self._sessionmaker() as session, session.begin():
            ids = [e.id for _, e in events]
            fresh_ids = set(
                (
                    await session.execute(
                        pg_insert(self._processed)
                        .values([{"consumer": self._spec.durable, "event_id": i} for i in ids])
                        .on_conflict_do_nothing()
                        .returning(self._processed.event_id)
                    )
                ).scalars()
            )
            fresh = [e for _, e in events if e.id in fresh_ids]
            if fresh:
                await self._spec.handler(session, fresh)
        # Committed: now, and only now, acknowledge.
        for msg, _ in events:
            await msg.ack()
        EVENTS_CONSUMED.labels(self._spec.durable).inc(len(fresh))

    async def _on_failure(self, msg: Msg, exc: Exception) -> None:
        deliveries = msg.metadata.num_delivered or 1
        if isinstance(exc, PoisonMessage) or deliveries >= self._spec.max_deliver:
            await self._dead_letter(msg, self._event_id(msg), f"{type(exc).__name__}: {exc}")
            return
        delay = self._spec.backoff[min(deliveries, len(self._spec.backoff)) - 1]
        _log.warning(
            "event failed, will retry",
            durable=self._spec.durable,
            deliveries=deliveries,
            delay=delay,
            error=repr(exc),
        )
        await msg.nak(delay=delay)

    @staticmethod
    def _event_id(msg: Msg) -> str | None:
        headers = msg.headers or {}
        return headers.get("Nats-Msg-Id")

    async def _dead_letter(self, msg: Msg, event_id: str | None, reason: str) -> None:
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                insert(self._dead_letters).values(
                    consumer=self._spec.durable,
                    nats_subject=msg.subject,
                    event_id=event_id,
                    payload=msg.data.decode("utf-8", errors="replace"),
                    reason=reason[:4000],
                    deliveries=msg.metadata.num_delivered or 1,
                )
            )
        await msg.term()
        EVENTS_DEAD_LETTERED.labels(self._spec.durable).inc()
        _log.error("event dead-lettered", durable=self._spec.durable, reason=reason[:500])
