"""The target evaluator: re-judges every target after new data (or every few minutes, since due
dates pass without any event) and publishes ``target.status_changed`` through the outbox."""

from __future__ import annotations

import asyncio
import time

import structlog

from cchc_indicators.service.targets import evaluate_all
from cchc_indicators.store.state import read_state
from cchc_shared.app import ServiceContext
from cchc_shared.db import transaction

EVALUATE_EVERY = 2.0  # seconds between checks for new data
REEVALUATE_AFTER = 600.0  # seconds: re-judge anyway (a due date may have passed)
_log = structlog.get_logger(__name__)


async def evaluation_loop(ctx: ServiceContext) -> None:
    last_run = 0.0
    while True:
        try:
            async with transaction(ctx.sessionmaker) as session:
                state = await read_state(session)
                stale = state.data_version != state.evaluated_version
                if stale or time.monotonic() - last_run > REEVALUATE_AFTER:
                    changed = await evaluate_all(session)
                    last_run = time.monotonic()
                    if changed:
                        _log.info("target statuses changed", count=changed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.warning("target evaluation failed", error=repr(exc))
        await asyncio.sleep(EVALUATE_EVERY)


def workers(ctx: ServiceContext) -> list[object]:
    return [evaluation_loop(ctx)]
