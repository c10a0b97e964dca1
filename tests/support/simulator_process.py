"""The simulated one-stop system as its own process (``python -m cchc_simulator``), as the real
one would run: rendering its feed then takes the other core while the services work on this one.

A small cut of the ingest tests' helper (``tests/test_ingest_e2e_support.py``), kept apart so the
indicators tests do not depend on that module's changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def simulator_process(
    log_dir: Path, *, settings: dict[str, str], startup_timeout: float = 300.0
) -> Iterator[str]:
    """Start the simulator on a free port with ``settings`` (``CCHC_SIMULATOR_*`` and the like,
    added to this environment); yield its base URL once its history is built; stop it after."""
    env = {
        **os.environ,
        "CCHC_HOST": "127.0.0.1",
        "CCHC_PORT": "0",
        "CCHC_LOG_LEVEL": "WARNING",
        **settings,
    }
    log = log_dir / "simulator.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "cchc_simulator"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("ab"),
        text=True,
    )
    try:
        yield _announced_url(process, startup_timeout, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _announced_url(process: subprocess.Popen[str], timeout: float, log: Path) -> str:
    """The URL of the ``{"event": "listening", "url": ...}`` line the simulator prints."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator stopped during start-up:\n{log.read_text()[-3000:]}")
        try:
            announced = json.loads(line)
        except ValueError:
            continue
        if announced.get("event") == "listening":
            return str(announced["url"])
    raise TimeoutError("the simulator did not start in time")
