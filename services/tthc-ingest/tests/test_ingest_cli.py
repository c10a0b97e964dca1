"""`cchc ingest backfill` and `cchc ingest reconcile` against the real app (served by uvicorn),
whose source is a scripted LGSP with an empty feed: the commands start a job through the API and
follow it to its end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from typer.testing import CliRunner

from cchc_ingest.cli import app as cli
from cchc_ingest.main import create_app
from cchc_shared.settings import IngestSettings
from cchc_shared.testing import TestTokens, serving

pytestmark = pytest.mark.usefixtures("clean_state")


def empty_lgsp(request: httpx.Request) -> httpx.Response:
    """An LGSP whose one-stop system holds nothing (yet)."""
    path = request.url.path
    if path == "/token":
        return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
    if path.endswith("/hoso/thaydoi"):
        return httpx.Response(200, json={"data": [], "conTroTiep": None, "conNua": False})
    if path.endswith("/hoso/thongke"):
        return httpx.Response(200, json={"data": []})
    return httpx.Response(200, json={"data": [], "tongSo": 0})


@pytest.fixture
async def gateway(service_env: dict[str, str]) -> AsyncIterator[str]:
    settings = IngestSettings(lgsp_url="http://lgsp.test", poll_from="now", reconcile_interval=0)
    app = create_app(settings, source_transport=httpx.MockTransport(empty_lgsp))
    async with serving(app) as url:
        yield url


async def invoke(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, cli, list(args))
    return result.exit_code, result.output


async def test_backfill_follows_its_job_to_the_end(gateway: str, test_tokens: TestTokens) -> None:
    token = test_tokens.mint("admin")
    code, out = await invoke(
        "backfill", "--from", "2025-01-01", "--to", "2025-01-04",
        "--url", gateway, "--token", token, "--every", "0.1",
    )  # fmt: skip
    assert code == 0, out
    assert "3 slices" in out
    assert "done: 0 records read, 0 stored" in out


async def test_reconcile_reports_what_it_found(gateway: str, test_tokens: TestTokens) -> None:
    token = test_tokens.mint("admin")
    code, out = await invoke(
        "reconcile", "--from", "2025-01-01", "--to", "2025-01-07",
        "--url", gateway, "--token", token, "--every", "0.1",
    )  # fmt: skip
    assert code == 0, out
    assert "done: 7 days checked, 0 differences found, 0 remaining" in out


async def test_a_refusal_is_shown_with_its_reason(gateway: str, test_tokens: TestTokens) -> None:
    viewer = test_tokens.mint("viewer")
    code, out = await invoke(
        "backfill", "--from", "2025-01-01", "--url", gateway, "--token", viewer
    )
    assert code == 1
    assert "refused (403)" in out
    code, out = await invoke(
        "backfill", "--from", "2025-01-05", "--to", "2025-01-01",
        "--url", gateway, "--token", test_tokens.mint("admin"),
    )  # fmt: skip
    assert code == 1 and "body.to: must be later than `from`" in out
