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
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import orjson
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
                try:
                    await self._consume(sub)
                finally:
                    # A pull subscription left open when we are cancelled mid-fetch makes the
                    # connection's drain wait for its whole timeout at shutdown.
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
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
        decoded = [(msg, await self._decode(msg)) for msg in msgs]
        readable = [(msg, events) for msg, events in decoded if events is not None]
        if not readable:
            return
        try:
            await self._apply(readable)
        except Exception as exc:
            if len(readable) == 1:
                await self._on_message_failure(*readable[0], exc)
                return
            for msg, events in readable:
                try:
                    await self._apply([(msg, events)])
                except Exception as single_exc:
                    await self._on_message_failure(msg, events, single_exc)

    async def _decode(self, msg: Msg) -> list[CloudEvent] | None:
        """The events a message carries (one, or a CloudEvents batch); None if unreadable."""
        try:
            return decode_events(msg.data)
        except (ValidationError, ValueError) as exc:
            # Unreadable: no retry will ever make it readable.
            await self._dead_letter(msg, None, f"unreadable event: {exc}")
            return None

    async def _apply(self, messages: Sequence[tuple[Msg, list[CloudEvent]]]) -> None:
        events = [event for _, msg_events in messages for event in msg_events]
        fresh = await self._apply_events(events)
        # Committed: now, and only now, acknowledge.
        for msg, _ in messages:
            await msg.ack()
        EVENTS_CONSUMED.labels(self._spec.durable).inc(fresh)

    async def _apply_events(self, events: Sequence[CloudEvent]) -> int:
        """In one transaction: mark the events processed, apply those new to this consumer."""
        async with self._sessionmaker() as session, session.begin():
            fresh_ids = set(
                (
                    await session.execute(
                        pg_insert(self._processed)
                        .values(
                            [{"consumer": self._spec.durable, "event_id": e.id} for e in events]
                        )
                        .on_conflict_do_nothing()
                        .returning(self._processed.event_id)
                    )
                ).scalars()
            )
            # An id twice in one fetch (a re-sent batch) is applied once.
            fresh = list({e.id: e for e in events if e.id in fresh_ids}.values())
            if fresh:
                await self._spec.handler(session, fresh)
        return len(fresh)

    async def _on_message_failure(self, msg: Msg, events: list[CloudEvent], exc: Exception) -> None:
        if len(events) > 1 and isinstance(exc, PoisonMessage):
            await self._isolate_poison(msg, events)
            return
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

    async def _isolate_poison(self, msg: Msg, events: list[CloudEvent]) -> None:
        """A batch with a poison event: apply its events one by one, dead-letter the poison ones,
        and retry the whole message on any other failure (applied events are skipped then)."""
        for event in events:
            try:
                await self._apply_events([event])
            except PoisonMessage as exc:
                await self._record_dead_letter(
                    msg, event.id, event.to_bytes(), f"{type(exc).__name__}: {exc}"
                )
            except Exception as exc:
                await self._on_message_failure(msg, [event], exc)
                return
        await msg.ack()

    @staticmethod
    def _event_id(msg: Msg) -> str | None:
        headers = msg.headers or {}
        return headers.get("Nats-Msg-Id")

    async def _dead_letter(self, msg: Msg, event_id: str | None, reason: str) -> None:
        await self._record_dead_letter(msg, event_id, msg.data, reason)
        await msg.term()

    async def _record_dead_letter(
        self, msg: Msg, event_id: str | None, payload: bytes, reason: str
    ) -> None:
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                insert(self._dead_letters).values(
                    consumer=self._spec.durable,
                    nats_subject=msg.subject,
                    event_id=event_id,
                    payload=payload.decode("utf-8", errors="replace"),
                    reason=reason[:4000],
                    deliveries=msg.metadata.num_delivered or 1,
                )
            )
        EVENTS_DEAD_LETTERED.labels(self._spec.durable).inc()
        _log.error("event dead-lettered", durable=self._spec.durable, reason=reason[:500])


def decode_events(data: bytes) -> list[CloudEvent]:
    """One structured CloudEvent, or a CloudEvents batch (a JSON array of them)."""
    body = data.lstrip()
    if body[:1] == b"[":
        items = orjson.loads(body)
        if not isinstance(items, list) or not items:
            raise ValueError("an event batch must be a non-empty JSON array")
        return [CloudEvent.model_validate(item) for item in items]
    return [CloudEvent.from_bytes(body)]
