"""The simulated one-stop system as its own process (``python -m cchc_simulator``), as the real
one would run: rendering its feed then takes the other core while the services work on this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SimulatorProcess:
    process: subprocess.Popen[str]
    log: Path
    startup_timeout: float
    url: str = ""

    @classmethod
    def start(
        cls, log_dir: Path, settings: dict[str, str], startup_timeout: float
    ) -> SimulatorProcess:
        """Start it on a free port with ``settings`` (``CCHC_SIMULATOR_*`` and the like, added
        to this environment); it builds its history while the caller goes on."""
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
        return cls(process, log, startup_timeout)

    def wait_ready(self) -> str:
        """Wait for the history to be built and the port announced; answers the base URL."""
        if not self.url:
            self.url = self._announced_url()
        return self.url

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _announced_url(self) -> str:
        """The URL of the ``{"event": "listening", "url": ...}`` line the simulator prints."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                tail = self.log.read_text()[-3000:]
                raise RuntimeError(f"the simulator stopped during start-up:\n{tail}")
            try:
                announced = json.loads(line)
            except ValueError:
                continue
            if announced.get("event") == "listening":
                return str(announced["url"])
        raise TimeoutError("the simulator did not start in time")


@contextmanager
def simulator_process(
    log_dir: Path, *, settings: dict[str, str], startup_timeout: float = 300.0
) -> Iterator[str]:
    """Start the simulator with ``settings``; yield its base URL once its history is built;
    stop it after."""
    sim = SimulatorProcess.start(log_dir, settings, startup_timeout)
    try:
        yield sim.wait_ready()
    finally:
        sim.stop()
