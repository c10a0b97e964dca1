"""The CloudEvents 1.0 envelope every CCHC event travels in (structured JSON mode)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event. ``id`` is also the JetStream ``Nats-Msg-Id``."""

    model_config = ConfigDict(frozen=True)

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str = Field(description="Producing service, e.g. `/cchc/plans`.")
    type: str = Field(description="Reverse-DNS event type, e.g. `vn.cchc.plans.plan.issued`.")
    subject: str | None = Field(None, description="The aggregate the event is about (its id).")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def nats_subject(self) -> str:
        """`vn.cchc.plans.plan.issued` travels on NATS subject `cchc.plans.plan.issued`."""
        return subject_for(self.type)

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)


TYPE_PREFIX = "vn."


def subject_for(event_type: str) -> str:
    return event_type.removeprefix(TYPE_PREFIX)
