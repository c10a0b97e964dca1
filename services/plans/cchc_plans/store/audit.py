"""The audit trail: one row per change of an entity (who, when, before, after, why)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.store.models import AuditEntry
from cchc_plans.store.pagination import keyset


def record(
    session: AsyncSession,
    *,
    entity_type: str,
    entity_id: uuid.UUID,
    plan_id: uuid.UUID | None,
    action: str,
    actor: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            entity_type=entity_type,
            entity_id=entity_id,
            plan_id=plan_id,
            action=action,
            actor=actor,
            before=before,
            after=after,
            reason=reason,
        )
    )


async def list_for_plan(
    session: AsyncSession, plan_id: uuid.UUID, cursor: str | None, limit: int
) -> Sequence[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.plan_id == plan_id)
    return list((await session.execute(keyset(stmt, [AuditEntry.id], cursor, limit))).scalars())


async def list_for_entity(
    session: AsyncSession, entity_id: uuid.UUID, cursor: str | None, limit: int
) -> Sequence[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.entity_id == entity_id)
    return list((await session.execute(keyset(stmt, [AuditEntry.id], cursor, limit))).scalars())
