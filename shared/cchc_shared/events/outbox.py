"""The transactional outbox: an event row is written in the same transaction as the change.

Each service declares its own outbox, processed-messages and dead-letter tables in its own schema
by mixing these classes into its declarative base (see a service's ``store/models.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from cchc_shared.events.envelope import CloudEvent


class OutboxEventMixin:
    """Events waiting for (or done with) publication to NATS JetStream."""

    __tablename__ = "outbox_events"

    packed: ClassVar[bool] = False
    """True when the writer packs its own events: each row then holds one JetStream message (an
    event, or a CloudEvents batch as a JSON array; see ``relay.pack_for_outbox``). A bulk writer
    saves a row written, parsed as JSONB and marked published per event."""

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    nats_subject: Mapped[str] = mapped_column(String(200))
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805 - SQLAlchemy's declared_attr form
        # The relay only ever looks for unpublished rows: keep that index tiny.
        return (
            Index(
                "ix_outbox_events_unpublished",
                "seq",
                postgresql_where=text("published_at IS NULL"),
            ),
        )


class ProcessedMessageMixin:
    """Which consumer already applied which event: the idempotency guard."""

    __tablename__ = "processed_messages"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DeadLetterMixin:
    """Messages a consumer gave up on, with the reason, for an operator to look at."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(100))
    nats_subject: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    deliveries: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def outbox_rows(events: Iterable[CloudEvent]) -> list[dict[str, Any]]:
    return [
        {
            "event_id": uuid.UUID(e.id),
            "nats_subject": e.nats_subject,
            "envelope": e.model_dump(mode="json", exclude_none=True),
        }
        for e in events
    ]


async def enqueue(
    session: AsyncSession, outbox: type[OutboxEventMixin], *events: CloudEvent
) -> None:
    """Write events into the outbox inside the caller's transaction."""
    if events:
        await session.execute(insert(outbox), outbox_rows(events))
