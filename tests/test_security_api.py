"""Acceptance over the whole API as it stands: the real services and the gateway, each under
uvicorn on loopback, the services verifying tokens with the keys the gateway publishes.

- every operation of the combined `/api/v1/openapi.json` refuses a missing or foreign token
  (401), at the gateway and at the service that owns it, and a viewer's writes (403);
- schemathesis runs against the combined document with every check on (no 5xx, every response as
  documented), bounded so it finishes in about a minute.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient

from cchc_gateway.routes import service_for
from cchc_gateway.testing import (
    ADMIN_PASSWORD,
    IOC_DASHBOARD_SECRET,
    bearer,
    client_token,
    password_token,
)
from cchc_shared.testing import TestInfra, TestTokens, truncate_schemas
from tests.support.system import serving_system

pytestmark = pytest.mark.slow
WRITE_METHODS = {"post", "put", "patch", "delete"}
PUBLIC = {("post", "/api/v1/auth/token")}
SCHEMATHESIS_BUDGET_SECONDS = 60


@dataclass
class Api:
    gateway_url: str
    service_urls: dict[str, str]
    admin: dict[str, str]
    viewer: dict[str, str]


@pytest.fixture(scope="module")
async def api(infra: TestInfra, service_env: dict[str, str]) -> AsyncIterator[Api]:
    await truncate_schemas(infra.database_url, ["gateway"])
    async with (
        serving_system(rate_limit=10_000) as served,
        AsyncClient(base_url=served.gateway_url, timeout=30) as client,
    ):
        yield Api(
            gateway_url=served.gateway_url,
            service_urls=served.service_urls,
            admin=bearer(await password_token(client, "admin", ADMIN_PASSWORD)),
            viewer=bearer(await client_token(client, "ioc-dashboard", IOC_DASHBOARD_SECRET)),
        )


def operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "head"} | WRITE_METHODS and (method, path) not in PUBLIC
    ]


def concrete(path: str) -> str:
    """A path template with a value in every parameter (the token is judged before them)."""
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_operation_needs_a_token_everywhere_and_a_writer_to_write(api: Api) -> None:
    async with AsyncClient(base_url=api.gateway_url, timeout=30) as gateway:
        document = (await gateway.get("/api/v1/openapi.json")).json()
        found = operations(document)
        assert ("get", "/api/v1/auth/me") in found
        foreign = bearer(TestTokens().mint("admin"))
        failures = []
        for method, path in found:
            url = concrete(path)
            body = {"json": {}} if method in WRITE_METHODS else {}
            for name, headers in (("no token", {}), ("foreign token", foreign)):
                resp = await gateway.request(method, url, headers=headers, **body)
                if resp.status_code != 401:
                    failures.append(f"gateway {method} {path} {name}: {resp.status_code}")
            service = service_for(path)
            if service is not None:
                direct = await gateway.request(method, api.service_urls[service] + url, **body)
                if direct.status_code != 401:
                    failures.append(f"{service} {method} {path} direct: {direct.status_code}")
            if method in WRITE_METHODS:
                resp = await gateway.request(method, url, headers=api.viewer, **body)
                if resp.status_code != 403:
                    failures.append(f"gateway {method} {path} as viewer: {resp.status_code}")
    assert failures == []


async def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    api: Api, tmp_path: Path
) -> None:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        f"--config-file={Path(__file__).parent / 'support' / 'schemathesis.toml'}",
        "run",
        f"{api.gateway_url}/api/v1/openapi.json",
        "--checks=all",
        "--phases=examples,coverage,fuzzing",
        "--max-examples=8",
        f"--max-time={SCHEMATHESIS_BUDGET_SECONDS}",
        "--seed=4212",
        "--request-timeout=30",
        "--header",
        f"Authorization: {api.admin['Authorization']}",
        "--suppress-health-check=all",
        "--no-color",
        f"--report-dir={tmp_path}",
    ]
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    output, _ = await asyncio.wait_for(proc.communicate(), SCHEMATHESIS_BUDGET_SECONDS + 120)
    text = output.decode(errors="replace")
    failures = text[text.find("=== FAILURES ===") :] if "=== FAILURES ===" in text else text
    assert proc.returncode == 0, failures[:30_000]
