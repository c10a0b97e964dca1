"""Acceptance 4: no default passwords. Two fresh installations get different secrets, kept in a
file only its owner can read; a restart reuses them; environment variables override them; and a
gateway given no secret creates no account at all."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from httpx import AsyncClient

from cchc_gateway.main import create_app as create_gateway
from cchc_gateway.testing import gateway_settings
from cchc_launcher.launcher import gateway_secrets_env
from cchc_launcher.secrets import SECRET_NAMES, SECRETS_FILE, load_or_create_names
from cchc_shared.testing import TestInfra, truncate_schemas

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]


def test_two_fresh_installations_have_different_secrets_in_owner_only_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SECRET_NAMES:
        monkeypatch.delenv(f"CCHC_{name.upper()}", raising=False)
    previous = os.umask(0)  # a careless umask must not loosen the file
    try:
        one, created_one = load_or_create_names(tmp_path / "one")
        two, created_two = load_or_create_names(tmp_path / "two")
    finally:
        os.umask(previous)
    assert created_one == created_two == list(SECRET_NAMES)
    for name in SECRET_NAMES:
        assert one[name] != two[name]
        assert len(one[name]) >= 32
    for directory in ("one", "two"):
        mode = stat.S_IMODE((tmp_path / directory / SECRETS_FILE).stat().st_mode)
        assert mode == 0o600


def test_a_restart_reuses_and_the_environment_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SECRET_NAMES:
        monkeypatch.delenv(f"CCHC_{name.upper()}", raising=False)
    first, _ = load_or_create_names(tmp_path)
    (tmp_path / SECRETS_FILE).chmod(0o644)  # someone loosened it
    again, created = load_or_create_names(tmp_path)
    assert again == first
    assert created == []
    assert stat.S_IMODE((tmp_path / SECRETS_FILE).stat().st_mode) == 0o600
    monkeypatch.setenv("CCHC_ADMIN_PASSWORD", "chosen-by-the-operator")
    overridden, _ = load_or_create_names(tmp_path)
    assert overridden["admin_password"] == "chosen-by-the-operator"
    env = gateway_secrets_env(overridden)
    assert env["CCHC_ADMIN_PASSWORD"] == "chosen-by-the-operator"
    assert env["CCHC_AUTH_KEY_SECRET"] == first["auth_key_secret"]


async def test_a_gateway_without_secrets_creates_no_account(
    infra: TestInfra, make_client: ClientFactory
) -> None:
    await truncate_schemas(infra.database_url, ["gateway"])
    settings = gateway_settings(admin_password="", ioc_dashboard_secret="")
    async with make_client(create_gateway(settings), role=None) as gateway:
        for password in ("", "admin", "password", "changeme"):
            resp = await gateway.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": "admin", "password": password or "x"},
            )
            assert resp.status_code in (400, 422), password
        accounts = await infra_accounts(infra)
    assert accounts == 0


async def infra_accounts(infra: TestInfra) -> int:
    import asyncpg

    from cchc_shared.testing import _plain_dsn

    conn = await asyncpg.connect(_plain_dsn(infra.database_url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM gateway.accounts"))
    finally:
        await conn.close()
