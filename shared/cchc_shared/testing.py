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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.engine import make_url

from cchc_shared.embedded import EmbeddedNats, EmbeddedPostgres
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


def start_test_infra() -> TestInfra:
    root = Path(tempfile.mkdtemp(prefix="cchc-test-"))
    os.chmod(root, 0o755)  # noqa: S103  # the embedded PostgreSQL runs as another user when we are root
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
