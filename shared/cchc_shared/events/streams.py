"""JetStream streams and consumers are set up by code, never by hand.

One stream per producing service: ``CCHC_PLANS`` holds ``cchc.plans.>``, and so on. File storage;
the server's fsync policy is ``sync_interval: always`` (see ``embedded.py`` and deploy/).
"""

from __future__ import annotations

from dataclasses import dataclass

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

DAY = 24 * 3600.0


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_days: float = 30.0


PLANS_STREAM = StreamSpec("CCHC_PLANS", ("cchc.plans.>",))
INGEST_STREAM = StreamSpec("CCHC_INGEST", ("cchc.ingest.>",))
INDICATORS_STREAM = StreamSpec("CCHC_INDICATORS", ("cchc.indicators.>",))
INDICES_STREAM = StreamSpec("CCHC_INDICES", ("cchc.indices.>",))
ALL_STREAMS = (PLANS_STREAM, INGEST_STREAM, INDICATORS_STREAM, INDICES_STREAM)


async def connect(url: str, *, name: str) -> NATS:
    """A connection that keeps reconnecting for ever: a NATS restart is an outage, not a crash."""
    return await nats.connect(
        servers=[u.strip() for u in url.split(",")],
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        allow_reconnect=True,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec, *, replicas: int = 1) -> None:
    config = StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=replicas,
        max_age=spec.max_age_days * DAY,
        duplicate_window=120.0,
    )
    try:
        await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)


async def ensure_streams(js: JetStreamContext, *, replicas: int = 1) -> None:
    for spec in ALL_STREAMS:
        await ensure_stream(js, spec, replicas=replicas)
