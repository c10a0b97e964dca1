"""What a launcher killed outright (SIGKILL, a crash) leaves running, stopped by the next one.

A launcher stops everything it started when it gets SIGINT or SIGTERM. Killed with SIGKILL it
cannot, and its servers and services (each in its own session, so a terminal's Ctrl-C reaches the
launcher first) live on, holding the database directory. The next ``cchc up`` on the same state
directory takes the directory's lock; holding it proves no other launcher is running there, so
whatever still runs from that directory is left over, and is stopped before anything starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
from pathlib import Path
from typing import IO

import psutil

from cchc_shared.embedded import SERVER_NAMES, servers_under

SUPERVISED_BY = "CCHC_SUPERVISED_BY"
"""Set in every child's environment: the state directory of the launcher that started it."""
LOCK_FILE = "launcher.lock"


class StateDirBusy(RuntimeError):
    """Another launcher runs on this state directory."""


def claim(state_dir: Path) -> IO[str]:
    """Lock the state directory for this launcher's lifetime (released when it dies, however)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = (state_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise StateDirBusy(f"another `cchc up` is running on {state_dir}") from None
    return lock


def find(state_dir: Path) -> tuple[list[psutil.Process], list[psutil.Process]]:
    """(services, servers) still running from ``state_dir``: children marked with it, and
    PostgreSQL or NATS servers whose command line names it."""
    where = str(state_dir.resolve())
    services = []
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.info["pid"] == os.getpid() or proc.info["name"] in SERVER_NAMES:
            continue
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(SUPERVISED_BY) == where:
                services.append(proc)
    servers = servers_under(state_dir)
    # Only a postmaster (not its backends) is told to stop: it stops its backends itself.
    postmasters = [p for p in servers if not _parent_among(p, servers)]
    return services, postmasters


def stop(state_dir: Path, *, timeout: float = 15.0) -> int:
    """Stop what ``find`` finds: services first (they hold connections), then the servers, each
    asked politely (PostgreSQL's fast shutdown) and killed after ``timeout``. Answers how many."""
    services, servers = find(state_dir)
    for group, sig in ((services, signal.SIGTERM), (servers, signal.SIGINT)):
        for proc in group:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)
        _, alive = psutil.wait_procs(group, timeout=timeout)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=5)
    return len(services) + len(servers)


def _parent_among(proc: psutil.Process, candidates: list[psutil.Process]) -> bool:
    try:
        parent = proc.ppid()
    except psutil.Error:
        return False
    return any(c.pid == parent for c in candidates)
