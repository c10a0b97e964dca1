"""Every query of the gateway."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_gateway.store.models import Account, AuditEntry, SigningKey

# pg_advisory_xact_lock key of key rotation: a constant, so every replica takes the same lock.
KEY_ROTATION_LOCK = 0x43434843_0001


# --- accounts ---------------------------------------------------------------------------------


async def get_account(session: AsyncSession, kind: str, name: str) -> Account | None:
    return await session.get(Account, (kind, name))


async def insert_account_if_absent(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert an account unless one of that kind and name exists; answers whether it did."""
    result = await session.execute(
        insert(Account).values(**values).on_conflict_do_nothing().returning(Account.name)
    )
    return result.first() is not None


async def list_accounts(
    session: AsyncSession, *, limit: int, after: tuple[str, str] | None
) -> Sequence[Account]:
    query = select(Account).order_by(Account.kind, Account.name).limit(limit)
    if after is not None:
        query = query.where(tuple_(Account.kind, Account.name) > after)
    return (await session.scalars(query)).all()


# --- signing keys -----------------------------------------------------------------------------


async def lock_key_rotation(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": KEY_ROTATION_LOCK})


async def published_keys(session: AsyncSession, now: datetime) -> Sequence[SigningKey]:
    query = select(SigningKey).where(SigningKey.expires_at > now).order_by(SigningKey.activates_at)
    return (await session.scalars(query)).all()


async def delete_expired_keys(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(SigningKey).where(SigningKey.expires_at <= now))


def add_key(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)


# --- audit ------------------------------------------------------------------------------------


async def insert_audit(session: AsyncSession, entry: dict[str, Any]) -> None:
    await session.execute(insert(AuditEntry).values(**entry))


async def list_audit(
    session: AsyncSession,
    *,
    limit: int,
    before_id: int | None,
    subject: str | None,
    since: datetime | None,
) -> Sequence[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    return (await session.scalars(query)).all()


async def count_audit(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


# --- cursors ----------------------------------------------------------------------------------


def encode_cursor(*parts: object) -> str:
    raw = "\x1f".join(str(p) for p in parts).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str] | None:
    """The parts of a cursor, or None if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    parts = raw.split("\x1f")
    return parts if len(parts) == arity else None
