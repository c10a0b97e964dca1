"""Real infrastructure for tests: PostgreSQL and NATS JetStream, started once per test session.

By default both come from the same wheels ``cchc up`` uses, on free ports under a temporary
directory. ``CCHC_TEST_DATABASE_URL`` (a server URL; a fresh database is created on it) and
``CCHC_TEST_NATS_URL`` point the tests at servers you run instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import psutil
from fastapi import APIRouter, Depends
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.engine import make_url

from cchc_shared.auth import (
    CurrentPrincipal,
    Principal,
    Role,
    ensure_in_scope,
    require_roles,
    sign_token,
    token_claims,
)
from cchc_shared.embedded import EmbeddedNats, EmbeddedPostgres, servers_under
from cchc_shared.events.streams import ALL_STREAMS


@dataclass
class TestInfra:
    __test__ = False  # not a test class, whatever its name says

    database_url: str
    nats_url: str
    root: Path
    pg: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    _owned_root: bool = field(default=True, repr=False)

    def stop(self) -> None:
        if self.pg is not None:
            self.pg.stop()
        if self.nats is not None:
            self.nats.stop()
        if self._owned_root:
            shutil.rmtree(self.root, ignore_errors=True)


TEST_ROOT_PREFIX = "cchc-test-"
OWNER_FILE = "owner.pid"


def start_test_infra() -> TestInfra:
    reap_orphaned_test_servers()
    root = Path(tempfile.mkdtemp(prefix=TEST_ROOT_PREFIX))
    os.chmod(root, 0o755)  # noqa: S103  # the embedded PostgreSQL runs as another user when we are root
    (root / OWNER_FILE).write_text(str(os.getpid()))
    external_db = os.environ.get("CCHC_TEST_DATABASE_URL")
    external_nats = os.environ.get("CCHC_TEST_NATS_URL")
    pg = nats = None
    database = f"cchc_test_{secrets.token_hex(4)}"
    if external_db:
        server_url = external_db
    else:
        pg = EmbeddedPostgres(root / "pg")
        pg.start()
        server_url = pg.url("postgres")
    if external_nats:
        nats_url = external_nats
    else:
        nats = EmbeddedNats(root / "nats", sync_interval="always")
        nats.start()
        nats_url = nats.url
    database_url = make_url(server_url).set(database=database).render_as_string(hide_password=False)
    _create_database(server_url, database)
    return TestInfra(database_url=database_url, nats_url=nats_url, root=root, pg=pg, nats=nats)


def reap_orphaned_test_servers(temp_dir: Path | None = None) -> list[Path]:
    """Stop the embedded servers of test runs that died without stopping them (a SIGKILLed or
    timed-out pytest), and remove their directories; answer the directories reaped.

    A run's directory names the process that owns it (``owner.pid``): runs still alive, and
    directories without that file, are left alone.
    """
    reaped = []
    for root in Path(temp_dir or tempfile.gettempdir()).glob(f"{TEST_ROOT_PREFIX}*"):
        try:
            owner = int((root / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if psutil.pid_exists(owner):
            continue
        servers = servers_under(root)
        for proc in servers:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(servers, timeout=10)
        shutil.rmtree(root, ignore_errors=True)
        reaped.append(root)
    return reaped


def _create_database(server_url: str, database: str) -> None:
    import asyncio

    async def create() -> None:
        conn = await asyncpg.connect(_plain_dsn(server_url))
        try:
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()

    asyncio.run(create())


def _plain_dsn(sqlalchemy_url: str) -> str:
    """asyncpg wants postgresql://, not postgresql+asyncpg://."""
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


async def truncate_schemas(database_url: str, schemas: Iterable[str]) -> None:
    """Empty every table of the given schemas but keep alembic's version tables."""
    conn = await asyncpg.connect(_plain_dsn(database_url))
    try:
        rows = await conn.fetch(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY($1::text[]) "
            "AND tablename <> 'alembic_version'",
            list(schemas),
        )
        if rows:
            names = ", ".join(f'"{r["schemaname"]}"."{r["tablename"]}"' for r in rows)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


async def reset_streams(js: JetStreamContext) -> None:
    """Delete every CCHC stream (and so its consumers): each test starts from empty streams."""
    for spec in ALL_STREAMS:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(spec.name)


class TestTokens:
    """A signing key of the tests' own, and tokens minted with it.

    The root conftest puts its public half in ``CCHC_AUTH_JWKS`` so every service app a test
    builds verifies these tokens like real ones: same checks, no shortcut.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, *, issuer: str = "cchc", audience: str = "cchc-api") -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self.private_key = Ed25519PrivateKey.generate()
        self.kid = f"test-{secrets.token_hex(4)}"
        self.issuer = issuer
        self.audience = audience

    def jwks(self) -> dict[str, list[dict[str, object]]]:
        import json

        from jwt.algorithms import OKPAlgorithm

        jwk: dict[str, object] = json.loads(OKPAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update(kid=self.kid, alg="EdDSA", use="sig")
        return {"keys": [jwk]}

    def mint(
        self,
        role: str | Iterable[str] = "admin",
        *,
        scope: str | None = None,
        subject: str | None = None,
        ttl_seconds: int = 3600,
        now: float | None = None,
        **extra_claims: object,
    ) -> str:
        """A signed token for ``role`` (one or several), optionally scoped to an org unit."""
        roles = [role] if isinstance(role, str) else list(role)
        claims = token_claims(
            subject=subject or f"test-{'-'.join(roles) or 'norole'}",
            roles=roles,
            issuer=self.issuer,
            audience=self.audience,
            ttl_seconds=ttl_seconds,
            org_unit_scope=scope,
            now=now,
        )
        claims.update(extra_claims)
        return sign_token(claims, self.private_key, kid=self.kid, algorithm="EdDSA")

    def headers(
        self, role: str | Iterable[str] = "admin", scope: str | None = None
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.mint(role, scope=scope)}"}


@asynccontextmanager
async def serving(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a loopback port (a free one unless given), in this
    event loop; answers its base URL."""
    import asyncio

    import uvicorn

    from cchc_shared.embedded import free_port

    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # start-up failed: raise its error
            raise RuntimeError("the server stopped during start-up")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


PROBE_TREE: dict[str, str | None] = {
    "tinh": None,
    "huyen-a": "tinh",
    "xa-a1": "huyen-a",
    "huyen-b": "tinh",
}
"""The probe service's org units: a province, two districts, a commune under the first."""


def probe_is_descendant(org_unit_id: str, ancestor_id: str) -> bool:
    parent = PROBE_TREE.get(org_unit_id)
    while parent is not None:
        if parent == ancestor_id:
            return True
        parent = PROBE_TREE.get(parent)
    return False


def auth_probe_definition() -> Any:
    """A service built like the real ones whose routes use every auth feature: the default
    floor, ``require_roles``, and ``ensure_in_scope`` (sync and async subtree checks). Its paths
    sit under prefixes the gateway routes to plans and ingest."""
    from cchc_shared.app import ServiceDefinition

    router = APIRouter(tags=["probe"])

    async def is_descendant_async(org_unit_id: str, ancestor_id: str) -> bool:
        return probe_is_descendant(org_unit_id, ancestor_id)

    @router.get("/api/v1/plans/probe")
    async def read_plans(principal: CurrentPrincipal) -> dict[str, str]:
        return {"subject": principal.subject}

    @router.get("/api/v1/org-units/{org_unit_id}/probe")
    async def read_org_unit(org_unit_id: str, principal: CurrentPrincipal) -> dict[str, str]:
        await ensure_in_scope(principal, org_unit_id, probe_is_descendant)
        return {"org_unit_id": org_unit_id}

    @router.post("/api/v1/plans/probe", status_code=201)
    async def write_plan(
        principal: Annotated[Principal, Depends(require_roles(Role.PLANNER))],
    ) -> dict[str, str]:
        return {"by": principal.subject}

    @router.post("/api/v1/tasks/probe/{org_unit_id}/progress", status_code=201)
    async def report_progress(
        org_unit_id: str,
        principal: Annotated[Principal, Depends(require_roles(Role.AGENCY_OFFICER, Role.PLANNER))],
    ) -> dict[str, str]:
        await ensure_in_scope(principal, org_unit_id, is_descendant_async)
        return {"org_unit_id": org_unit_id}

    @router.post("/api/v1/ingest/probe", status_code=202)
    async def push_dossiers(
        principal: Annotated[Principal, Depends(require_roles(Role.INTEGRATION))],
    ) -> dict[str, str]:
        return {"by": principal.subject}

    return ServiceDefinition(name="probe", title="auth probe", description="", routers=[router])
