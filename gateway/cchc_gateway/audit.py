"""The audit log: every write that reaches the gateway (who, what, when, from where, outcome),
recorded in the gateway's schema once the answer is sent (it adds nothing to the write's
latency). A failure to record is logged loudly; the write itself has already happened."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cchc_gateway.store import repository
from cchc_shared.auth import READ_METHODS, Principal
from cchc_shared.db import transaction

_log = structlog.get_logger(__name__)


class AuditLog:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def record(self, entry: dict[str, Any]) -> None:
        try:
            async with transaction(self._sessionmaker) as session:
                await repository.insert_audit(session, entry)
        except Exception as exc:
            _log.error("audit entry not recorded", entry=entry, error=repr(exc))


class AuditMiddleware:
    def __init__(self, app: ASGIApp, *, log: AuditLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        at = datetime.now(UTC)
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            await self.log.record(_entry(scope, at, status, duration_ms))


def _entry(scope: Scope, at: datetime, status: int, duration_ms: float) -> dict[str, Any]:
    state = scope.get("state", {})
    principal: Principal | None = state.get("principal")
    headers = {k.lower(): v for k, v in scope.get("headers", ())}
    client = scope.get("client")
    query = scope.get("query_string", b"").decode("latin-1")
    subject = principal.subject if principal else state.get("audit_subject")
    return {
        "at": at,
        "subject": _clean(subject, 200) if subject else None,
        "client_id": principal.client_id if principal else None,
        "roles": sorted(principal.roles) if principal else [],
        "org_unit_scope": principal.org_unit_scope if principal else None,
        "method": scope["method"],
        "path": _clean(scope["path"], 2000),
        "query": _clean(query, 2000) or None,
        "status": status,
        "remote_addr": client[0] if client else None,
        "user_agent": _clean(headers.get(b"user-agent", b"").decode("latin-1"), 500) or None,
        "request_id": state.get("request_id"),
        "duration_ms": round(duration_ms, 3),
    }


def _clean(text: str, limit: int) -> str:
    """PostgreSQL text takes no NUL; hostile paths must not lose the audit entry."""
    return text.replace("\x00", "\\0")[:limit]
