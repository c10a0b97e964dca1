"""Background work of the plans service: flag overdue tasks as their due dates pass."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any

import structlog

from cchc_plans.service.clock import today_vn
from cchc_plans.service.tasks import OVERDUE_BATCH, flag_overdue
from cchc_shared.app import ServiceContext
from cchc_shared.db import transaction

_log = structlog.get_logger(__name__)
OVERDUE_INTERVAL = 60.0  # seconds; a due date is a day, a minute late is in time


async def overdue_loop(
    ctx: ServiceContext, *, interval: float = OVERDUE_INTERVAL, today: Callable[[], date] = today_vn
) -> None:
    """Flag overdue tasks until cancelled; an outage is logged and waited out."""
    while True:
        try:
            await flag_all_overdue(ctx, today())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.warning("overdue check failed", error=repr(exc))
        await asyncio.sleep(interval)


async def flag_all_overdue(ctx: ServiceContext, today: date) -> int:
    total = 0
    while True:
        async with transaction(ctx.sessionmaker) as session:
            flagged = await flag_overdue(session, today)
        total += flagged
        if flagged < OVERDUE_BATCH:
            return total


def workers(ctx: ServiceContext) -> list[Any]:
    return [overdue_loop(ctx)]
