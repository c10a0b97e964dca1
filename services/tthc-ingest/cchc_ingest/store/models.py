"""Tables of the ingest service, all in the `ingest` PostgreSQL schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from cchc_shared.db import service_metadata
from cchc_shared.events.outbox import DeadLetterMixin, OutboxEventMixin, ProcessedMessageMixin

SCHEMA = "ingest"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class OutboxEvent(OutboxEventMixin, Base):
    """Events of this service waiting for publication (see cchc_shared.events.relay)."""


class ProcessedMessage(ProcessedMessageMixin, Base):
    """Events this service's consumers already applied."""


class DeadLetter(DeadLetterMixin, Base):
    """Events this service's consumers gave up on."""
