"""A test run killed before it stopped its embedded servers leaves nothing behind for long: the
next run stops them and removes their directory; a live run's servers are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

from cchc_shared.embedded import EmbeddedNats
from cchc_shared.testing import OWNER_FILE, TEST_ROOT_PREFIX, reap_orphaned_test_servers


def dead_pid() -> int:
    """The pid of a process that has exited (and been waited for)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def nats_processes(root: Path) -> list[psutil.Process]:
    return [
        p
        for p in psutil.process_iter(["name", "cmdline"])
        if p.info["name"] == "nats-server" and str(root) in " ".join(p.info["cmdline"] or [])
    ]


def test_servers_of_a_dead_run_are_stopped_and_a_live_run_is_left_alone(tmp_path: Path) -> None:
    orphaned = tmp_path / f"{TEST_ROOT_PREFIX}dead"
    alive = tmp_path / f"{TEST_ROOT_PREFIX}alive"
    servers = []
    for root, owner in ((orphaned, dead_pid()), (alive, os.getpid())):
        root.mkdir()
        (root / OWNER_FILE).write_text(str(owner))
        server = EmbeddedNats(root / "nats")
        server.start()
        servers.append(server)
    try:
        assert nats_processes(orphaned) and nats_processes(alive)

        assert reap_orphaned_test_servers(tmp_path) == [orphaned]

        assert nats_processes(orphaned) == []
        assert not orphaned.exists()
        assert nats_processes(alive), "a live run's server must keep running"
        assert alive.exists()
    finally:
        for server in servers:
            server.stop()
