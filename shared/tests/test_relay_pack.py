"""How the relay packs outbox rows into JetStream messages."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from cchc_shared.events.consumer import decode_events
from cchc_shared.events.envelope import CloudEvent
from cchc_shared.events.relay import (
    BATCH_CONTENT_TYPE,
    MAX_MESSAGE_BYTES,
    pack,
    pack_for_outbox,
    packed_message,
)


class FakeRow:
    """Stands in for a selected outbox row (the relay reads attributes only)."""

    def __init__(self, event: CloudEvent) -> None:
        self.event_id = uuid.UUID(event.id)
        self.nats_subject = event.nats_subject
        self.envelope = orjson.dumps(event.model_dump(mode="json", exclude_none=True))


def rows(*events: CloudEvent) -> list[Any]:
    return [FakeRow(e) for e in events]


def ev(kind: str, n: int, padding: str = "") -> CloudEvent:
    return CloudEvent(source="/t", type=f"vn.cchc.plans.{kind}", data={"n": n, "pad": padding})


def test_events_are_grouped_per_subject_in_order_and_capped() -> None:
    events = [ev("a", n) for n in range(5)] + [ev("b", 0)] + [ev("a", n) for n in range(5, 8)]
    messages = pack(rows(*events), events_per_message=3)
    by_subject = [(m.subject, [e.data["n"] for e in decode_events(m.body)]) for m in messages]
    assert by_subject == [
        ("cchc.plans.a", [0, 1, 2]),
        ("cchc.plans.a", [3, 4, 5]),
        ("cchc.plans.a", [6, 7]),
        ("cchc.plans.b", [0]),
    ]


def test_a_lone_event_keeps_its_id_and_a_batch_gets_a_stable_digest() -> None:
    events = [ev("a", n) for n in range(3)] + [ev("b", 0)]
    first = pack(rows(*events), events_per_message=10)
    again = pack(rows(*events), events_per_message=10)
    batch, lone = first
    assert batch.headers["Content-Type"] == BATCH_CONTENT_TYPE
    assert batch.headers["Nats-Msg-Id"] == again[0].headers["Nats-Msg-Id"]
    assert lone.headers == {"Nats-Msg-Id": events[3].id}
    assert decode_events(lone.body) == [events[3]]
    other = pack(rows(*events[:2]), events_per_message=10)[0]
    assert other.headers["Nats-Msg-Id"] != batch.headers["Nats-Msg-Id"]


def test_messages_stay_under_the_size_cap() -> None:
    big = "x" * 100_000
    messages = pack(rows(*(ev("a", n, big) for n in range(12))), events_per_message=100)
    assert len(messages) > 1
    assert all(len(m.body) <= MAX_MESSAGE_BYTES for m in messages)
    assert sum(len(decode_events(m.body)) for m in messages) == 12


def test_a_writer_packs_rows_that_are_the_messages_the_relay_sends() -> None:
    """A writer that packs its own events stores one row per message: per subject, in order,
    capped; a batch row's id names its message, a lone event keeps its own id."""
    big = "x" * 300_000
    events = [ev("a", n) for n in range(7)] + [ev("b", 0), ev("a", 7, big), ev("a", 8, big)]
    packed = pack_for_outbox(rows(*events), events_per_message=3)
    assert [
        (row.nats_subject, [e.data["n"] for e in decode_events(row.envelope)]) for row in packed
    ] == [
        ("cchc.plans.a", [0, 1, 2]),
        ("cchc.plans.a", [3, 4, 5]),
        ("cchc.plans.a", [6, 7]),
        ("cchc.plans.a", [8]),  # the size cap
        ("cchc.plans.b", [0]),
    ]
    messages = [packed_message(row) for row in packed]
    for row, message in zip(packed[:3], messages[:3], strict=True):
        assert message.headers == {
            "Nats-Msg-Id": f"batch-{row.event_id.hex}",
            "Content-Type": BATCH_CONTENT_TYPE,
        }
    assert messages[4].headers == {"Nats-Msg-Id": events[7].id}
    assert packed[3].event_id == uuid.UUID(events[9].id) and packed[3].envelope[:1] == b"{"
    again = pack_for_outbox(rows(*events), events_per_message=3)
    assert [r.event_id for r in again] == [r.event_id for r in packed]  # a retry is dropped


def test_event_ids_given_as_text_pack_like_uuids() -> None:
    events = [ev("a", n) for n in range(4)]
    as_text = [FakeRow(e) for e in events]
    for row in as_text:
        row.event_id = str(row.event_id)  # type: ignore[assignment]
    assert pack(as_text, events_per_message=10) == pack(rows(*events), events_per_message=10)
