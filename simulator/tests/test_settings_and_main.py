"""Settings from CCHC_* variables, and ``python -m cchc_simulator`` serving on its port."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pydantic
import pytest

from cchc_simulator.settings import SimulatorServerSettings
from cchc_simulator.timeutil import DAY, format_datetime, parse_end, vn_seconds_from_unix


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCHC_SIMULATOR_DOSSIERS", "1234")
    monkeypatch.setenv("CCHC_SIMULATOR_LIVE_RATE", "2.5")
    monkeypatch.setenv("CCHC_SIMULATOR_END", "20250630")
    monkeypatch.setenv("CCHC_SIMULATOR_FAULTS", '{"duplicate_rate": 0.01, "slow_seconds": 3}')

    settings = SimulatorServerSettings()

    assert settings.simulator_dossiers == 1234
    assert settings.simulator_live_rate == 2.5
    assert settings.simulator_faults.duplicate_rate == 0.01
    assert settings.simulator_faults.slow_seconds == 3
    start, end = settings.history_window()
    assert format_datetime(end) == "20250630235959"
    assert end - start + 1 == 365 * DAY


def test_history_never_ends_after_now() -> None:
    settings = SimulatorServerSettings(simulator_end="20991231")
    unix_now = 1_800_000_000.0

    _, end = settings.history_window(unix_now)

    assert end == vn_seconds_from_unix(unix_now)
    assert end < parse_end("20991231")


@pytest.mark.parametrize("end", ["2025-06-30", "20251399", "yesterday"])
def test_an_unreadable_end_is_refused(end: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        SimulatorServerSettings(simulator_end=end)


@pytest.fixture
def server() -> Iterator[str]:
    """``python -m cchc_simulator`` on a free port, stopped by its PID afterwards."""
    env = {
        **os.environ,
        "CCHC_PORT": "0",
        "CCHC_SIMULATOR_DOSSIERS": "200",
        "CCHC_SIMULATOR_CLIENT_SECRET": "s3cret",
        "CCHC_SIMULATOR_LIVE_RATE": "5",
        "CCHC_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cchc_simulator"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())
        assert announced["event"] == "listening"
        yield str(announced["url"])
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_entrypoint_serves_the_contract(server: str) -> None:
    credentials = base64.b64encode(b"cchc:s3cret").decode()
    with httpx.Client(base_url=server, timeout=10) as client:
        assert client.get("/healthz").status_code == 200
        token = client.post(
            "/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {credentials}"},
        ).json()
        page = client.get(
            "/motcua/1.0/hoso/thaydoi",
            params={"soLuong": 5},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ).json()
    assert len(page["data"]) == 5 and page["conNua"] is True
