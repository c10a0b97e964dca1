"""`cchc up` brings the whole system up, ready through the gateway, and SIGTERM leaves nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.slow
UP_BUDGET_SECONDS = 90


def our_servers(state_dir: Path) -> list[psutil.Process]:
    """postgres and nats-server processes whose command line names our state directory."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] in {"postgres", "nats-server"} and str(state_dir) in cmdline:
            found.append(proc)
    return found


def test_up_is_ready_through_the_gateway_and_sigterm_leaves_nothing(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    env = {
        **os.environ,
        "CCHC_STATE_DIR": str(state_dir),
        "CCHC_GATEWAY_PORT": "0",
        "CCHC_LOG_JSON": "true",
    }
    # A fresh installation: nothing of the test session's servers or signing keys leaks in.
    for var in [
        v
        for v in env
        if v.startswith("CCHC_")
        and v not in {"CCHC_STATE_DIR", "CCHC_GATEWAY_PORT", "CCHC_LOG_JSON"}
    ]:
        env.pop(var)
    cchc = Path(sys.executable).parent / "cchc"
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(cchc), "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    try:
        assert proc.stdout is not None
        gateway = None
        for line in proc.stdout:
            output.append(line)
            if "CCHC is up" in line:
                break
            if time.monotonic() - started > UP_BUDGET_SECONDS:
                break
        elapsed = time.monotonic() - started
        text = "".join(output)
        assert "CCHC is up" in text, text
        assert elapsed < UP_BUDGET_SECONDS, text
        gateway = next(line for line in proc.stdout if "Ready:" in line).split()[-1]
        assert re.match(r"http://127\.0\.0\.1:\d+/readyz$", gateway)

        ready = httpx.get(gateway, timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"plans": True, "ingest": True, "indicators": True}
        base = gateway.removesuffix("/readyz")
        assert httpx.get(base + "/api/v1/plans", timeout=10).status_code == 401
        secrets = json.loads((state_dir / "secrets.json").read_text())
        token = httpx.post(
            base + "/api/v1/auth/token",
            data={
                "grant_type": "password",
                "username": "admin",
                "password": secrets["admin_password"],
            },
            timeout=30,
        ).json()["access_token"]
        plans = httpx.get(
            base + "/api/v1/plans",
            params={"limit": 50},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert plans.status_code == 200, plans.text
        codes = {plan["code"] for plan in plans.json()["items"]}
        assert {"4212/KH-UBND", "KH-CHISO-2024-KON-TUM"} <= codes, codes
        assert len(codes) == 4
        assert our_servers(state_dir), "the embedded servers should be running under the state dir"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while our_servers(state_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert our_servers(state_dir) == []
