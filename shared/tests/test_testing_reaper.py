"""A test run killed before it stopped its embedded servers leaves nothing behind for long: the
next run stops them and removes their directory; a live run's servers are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cchc_shared.embedded import EmbeddedNats, servers_under
from cchc_shared.testing import OWNER_FILE, TEST_ROOT_PREFIX, reap_orphaned_test_servers


def dead_pid() -> int:
    """The pid of a process that has exited (and been waited for)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


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
        assert servers_under(orphaned) and servers_under(alive)

        assert reap_orphaned_test_servers(tmp_path) == [orphaned]

        assert servers_under(orphaned) == []
        assert not orphaned.exists()
        assert servers_under(alive), "a live run's server must keep running"
        assert alive.exists()
    finally:
        for server in servers:
            server.stop()
