"""First start: the administrator and the IOC dashboard's client, from secrets the operator (or
`cchc up`) provides. There is no default password: an account whose secret is not given is not
created. An account that exists is never overwritten (its password may have been changed)."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cchc_gateway.auth.issuer import CLIENT, USER
from cchc_gateway.auth.passwords import hash_secret_async
from cchc_gateway.store import repository
from cchc_shared.auth import Role
from cchc_shared.db import transaction
from cchc_shared.settings import GatewaySettings

_log = structlog.get_logger(__name__)
IOC_DASHBOARD = "ioc-dashboard"


async def bootstrap_accounts(
    sessionmaker: async_sessionmaker[AsyncSession], settings: GatewaySettings
) -> None:
    wanted = [
        (USER, settings.admin_username, settings.admin_password, Role.ADMIN, "Quản trị hệ thống"),
        (CLIENT, IOC_DASHBOARD, settings.ioc_dashboard_secret, Role.VIEWER, "IOC dashboard"),
    ]
    async with transaction(sessionmaker) as session:
        for kind, name, secret, role, display in wanted:
            if await repository.get_account(session, kind, name) is not None:
                continue
            if not secret:
                _log.warning("bootstrap account not created: no secret given", kind=kind, name=name)
                continue
            created = await repository.insert_account_if_absent(
                session,
                {
                    "kind": kind,
                    "name": name,
                    "secret_hash": await hash_secret_async(secret),
                    "roles": [role.value],
                    "org_unit_scope": None,
                    "display_name": display,
                    "disabled": False,
                },
            )
            if created:
                _log.info("bootstrap account created", kind=kind, name=name, role=role.value)
