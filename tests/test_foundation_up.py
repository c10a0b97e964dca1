"""`cchc up` brings the whole system up, ready through the gateway, and SIGTERM leaves nothing;
two fresh installations each get their own secrets (issue 7, acceptance 4)."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from cchc_launcher import leftovers
from cchc_shared.embedded import servers_under

pytestmark = pytest.mark.slow
UP_BUDGET_SECONDS = 90
# Two installations starting side by side share the two cores: each may take twice as long.
SIDE_BY_SIDE_BUDGET_SECONDS = 2 * UP_BUDGET_SECONDS


def fresh_environment(state_dir: Path) -> dict[str, str]:
    """A fresh installation: nothing of the test session's servers, keys or secrets leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    env.update(CCHC_STATE_DIR=str(state_dir), CCHC_GATEWAY_PORT="0", CCHC_LOG_JSON="true")
    return env


@dataclass
class Installation:
    state_dir: Path
    process: subprocess.Popen[str]
    output: list[str]
    seconds_to_up: float = 0.0
    base_url: str = ""
    killed: bool = False

    def kill(self) -> None:
        """SIGKILL the launcher: nothing of what it started gets stopped."""
        self.killed = True
        self.process.kill()
        self.process.wait()

    @property
    def secrets(self) -> dict[str, str]:
        stored: dict[str, str] = json.loads((self.state_dir / "secrets.json").read_text())
        return stored

    def wait_up(self, budget: float) -> None:
        """Read the launcher's output until it says it is up; then its gateway's address."""
        started = time.monotonic()
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if "CCHC is up" in line or time.monotonic() - started > budget:
                break
        self.seconds_to_up = time.monotonic() - started
        text = "".join(self.output)
        assert "CCHC is up" in text, text
        assert self.seconds_to_up < budget, text
        for line in self.process.stdout:
            self.output.append(line)
            if "Ready:" in line:
                ready = line.split()[-1]
                assert re.match(r"http://127\.0\.0\.1:\d+/readyz$", ready)
                self.base_url = ready.removesuffix("/readyz")
                return
        raise AssertionError("".join(self.output))

    def admin_token(self, password: str) -> httpx.Response:
        return httpx.post(
            self.base_url + "/api/v1/auth/token",
            data={"grant_type": "password", "username": "admin", "password": password},
            timeout=30,
        )


@contextmanager
def cchc_up(*state_dirs: Path) -> Iterator[list[Installation]]:
    """Start ``cchc up`` once per state directory, side by side; SIGTERM them all at the end
    and check each stopped cleanly, leaving no embedded server behind."""
    cchc = Path(sys.executable).parent / "cchc"
    installations = [
        Installation(
            state_dir,
            subprocess.Popen(
                [str(cchc), "up"],
                env=fresh_environment(state_dir),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
            [],
        )
        for state_dir in state_dirs
    ]
    try:
        yield installations
    finally:
        for installation in installations:
            installation.process.send_signal(signal.SIGTERM)
        for installation in installations:
            installation.process.wait(timeout=60)
    for installation in (i for i in installations if not i.killed):
        assert installation.process.returncode == 0
        deadline = time.monotonic() + 10
        while servers_under(installation.state_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert servers_under(installation.state_dir) == []


def test_up_is_ready_through_the_gateway_and_sigterm_leaves_nothing(tmp_path: Path) -> None:
    with cchc_up(tmp_path / "state") as (up,):
        up.wait_up(UP_BUDGET_SECONDS)
        ready = httpx.get(up.base_url + "/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"plans": True, "ingest": True, "indicators": True}
        assert httpx.get(up.base_url + "/api/v1/plans", timeout=10).status_code == 401
        token = up.admin_token(up.secrets["admin_password"]).json()["access_token"]
        plans = httpx.get(
            up.base_url + "/api/v1/plans",
            params={"limit": 50},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert plans.status_code == 200, plans.text
        codes = {plan["code"] for plan in plans.json()["items"]}
        assert {"4212/KH-UBND", "KH-CHISO-2024-KON-TUM"} <= codes, codes
        assert len(codes) == 4
        assert servers_under(up.state_dir), "the embedded servers should run under the state dir"


def test_two_fresh_installations_have_their_own_secrets_in_owner_only_files(
    tmp_path: Path,
) -> None:
    with cchc_up(tmp_path / "one", tmp_path / "two") as (one, two):
        one.wait_up(SIDE_BY_SIDE_BUDGET_SECONDS)
        two.wait_up(SIDE_BY_SIDE_BUDGET_SECONDS)
        for up in (one, two):
            mode = stat.S_IMODE((up.state_dir / "secrets.json").stat().st_mode)
            assert mode == 0o600, oct(mode)
            # Printed once, at first start, for the operator to note.
            assert up.secrets["admin_password"] in "".join(up.output)
        for name, value in one.secrets.items():
            assert value != two.secrets[name], name
            assert len(value) >= 32, name
        assert one.admin_token(one.secrets["admin_password"]).status_code == 200
        assert two.admin_token(two.secrets["admin_password"]).status_code == 200
        # One installation's administrator password opens nothing in the other.
        assert two.admin_token(one.secrets["admin_password"]).status_code in (400, 401)


def leftover_pids(state_dir: Path) -> set[int]:
    """Services and servers still running from ``state_dir``."""
    services, servers = leftovers.find(state_dir)
    return {p.pid for p in services + servers}


def test_an_up_after_a_killed_one_stops_its_leftovers_and_one_directory_has_one_launcher(
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "state"
    with cchc_up(state_dir) as (first,):
        first.wait_up(UP_BUDGET_SECONDS)
        first.kill()
        orphans = leftover_pids(state_dir)
        # Simulator, 3 services, gateway, PostgreSQL and NATS live on without their launcher.
        assert len(orphans) >= 7, orphans

    with cchc_up(state_dir) as (second,):
        second.wait_up(UP_BUDGET_SECONDS)
        assert "left by an earlier `cchc up` that was killed" in "".join(second.output)
        assert not orphans & {p.pid for p in psutil.process_iter() if p.is_running()}
        assert leftover_pids(state_dir), "the second run's own processes are running"

        busy = subprocess.run(
            [str(Path(sys.executable).parent / "cchc"), "up"],
            env=fresh_environment(state_dir),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert busy.returncode == 1
        assert "another `cchc up` is running" in busy.stdout
        assert second.process.poll() is None  # the refused one touched nothing of the running
    assert leftover_pids(state_dir) == set()
