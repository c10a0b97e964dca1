"""`cchc up`: the whole system on one machine.

Starts PostgreSQL and NATS JetStream from their wheels (unless external URLs are set), applies the
migrations, runs the simulator (unless a real LGSP is set), the three services and the gateway as
separate processes, waits until each is ready, loads the demo plans, and then supervises: a crashed
service is restarted; SIGINT or SIGTERM stops everything it started, servers included.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from cchc_launcher import leftovers
from cchc_launcher.migrate import migrate_all
from cchc_launcher.secrets import SECRETS_FILE, load_or_create_names
from cchc_launcher.services import GATEWAY, INDICATORS, INGEST, PLANS, SIMULATOR, ServiceEntry
from cchc_shared.embedded import EmbeddedNats, EmbeddedPostgres, free_port, port_is_free, terminate
from cchc_shared.settings import LauncherSettings

READY_TIMEOUT = 90.0
MAX_RESTARTS = 5
DEMO_PLANS_DIR = Path(__file__).parent / "demo" / "plans"


@dataclass
class Child:
    entry: ServiceEntry
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.entry.module],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # we stop children in order; a terminal Ctrl-C reaches us only
        )

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc, timeout=15.0)
            self.proc = None


@dataclass
class System:
    settings: LauncherSettings
    state_dir: Path
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    children: list[Child] = field(default_factory=list)
    stopping: bool = False
    admin_password: str = field(default="", repr=False)

    def up(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        started = time.monotonic()
        try:
            lock = leftovers.claim(self.state_dir)
        except leftovers.StateDirBusy as exc:
            _say(f"error: {exc}")
            return 1
        try:
            if stopped := leftovers.stop(self.state_dir):
                _say(f"stopped {stopped} processes left by an earlier `cchc up` that was killed")
            database_url, nats_url = self._start_servers()
            _say("applying migrations")
            migrate_all(database_url)
            self._start_children(database_url, nats_url)
            self._wait_ready()
            if self.settings.demo_data:
                self._load_demo_plans()
            self._write_run_file()
            self._print_urls(time.monotonic() - started)
            self._supervise()
            return 0
        except _Stop:
            return 0
        except Exception as exc:
            _say(f"error: {exc}")
            return 1
        finally:
            self.down()
            lock.close()

    def down(self) -> None:
        self.stopping = True
        for child in reversed(self.children):
            child.stop()
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()
        (self.state_dir / "run.json").unlink(missing_ok=True)
        _say("stopped")

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            self.stopping = True
            _say(f"received {signal.Signals(signum).name}, stopping")
            raise _Stop

    def _start_servers(self) -> tuple[str, str]:
        if self.settings.database_url:
            database_url = self.settings.database_url
        else:
            _say("starting PostgreSQL (embedded)")
            self.postgres = EmbeddedPostgres(self.state_dir / "postgres" / "data")
            self.postgres.start()
            self.postgres.create_database("cchc")
            database_url = self.postgres.url("cchc")
        if self.settings.nats_url:
            nats_url = self.settings.nats_url
        else:
            _say("starting NATS JetStream (embedded)")
            self.nats = EmbeddedNats(
                self.state_dir / "nats" / "jetstream",
                sync_interval=self.settings.nats_sync_interval,
            )
            self.nats.start()
            nats_url = self.nats.url
        return database_url, nats_url

    def _start_children(self, database_url: str, nats_url: str) -> None:
        secrets, created = load_or_create_names(self.state_dir)
        self.admin_password = secrets["admin_password"]
        if created:
            _announce_secrets(self.state_dir / SECRETS_FILE, secrets, created)
        gateway_port = self.settings.gateway_port
        if gateway_port == 0:
            gateway_port = free_port()
        elif not port_is_free(gateway_port):
            _say(f"port {gateway_port} is taken; the gateway takes a free one")
            gateway_port = free_port()
        base = {
            **os.environ,
            "CCHC_DATABASE_URL": database_url,
            "CCHC_NATS_URL": nats_url,
            "CCHC_STATE_DIR": str(self.state_dir),
            leftovers.SUPERVISED_BY: str(self.state_dir.resolve()),
            "CCHC_HOST": "127.0.0.1",
            "CCHC_PII_HASH_KEY": secrets["pii_hash_key"],
            # Every service verifies tokens itself, with the keys the gateway publishes.
            # (or an OpenID Connect provider's, when the operator points there)
            "CCHC_AUTH_JWKS_URL": os.environ.get("CCHC_AUTH_JWKS_URL")
            or f"http://127.0.0.1:{gateway_port}/.well-known/jwks.json",
            "PYTHONUNBUFFERED": "1",
        }
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)

        def add(entry: ServiceEntry, port: int, extra: dict[str, str]) -> Child:
            env = {**base, **extra, "CCHC_PORT": str(port)}
            child = Child(entry, port, env, logs / f"{entry.name}.log")
            self.children.append(child)
            return child

        lgsp_url = self.settings.lgsp_url
        lgsp = {
            "CCHC_LGSP_CLIENT_ID": "cchc",
            "CCHC_LGSP_CLIENT_SECRET": secrets["lgsp_client_secret"],
        }
        if not lgsp_url:
            sim = add(
                SIMULATOR,
                free_port(),
                {
                    # A demo year of 100k dossiers is ready in seconds; set it higher for more.
                    "CCHC_SIMULATOR_DOSSIERS": os.environ.get("CCHC_SIMULATOR_DOSSIERS", "100000"),
                    "CCHC_SIMULATOR_CLIENT_ID": "cchc",
                    "CCHC_SIMULATOR_CLIENT_SECRET": secrets["lgsp_client_secret"],
                },
            )
            lgsp_url = sim.url
        plans = add(PLANS, free_port(), {})
        ingest = add(INGEST, free_port(), {"CCHC_LGSP_URL": lgsp_url, **lgsp})
        indicators = add(INDICATORS, free_port(), {})
        add(
            GATEWAY,
            gateway_port,
            {
                "CCHC_PLANS_URL": plans.url,
                "CCHC_INGEST_URL": ingest.url,
                "CCHC_INDICATORS_URL": indicators.url,
                **gateway_secrets_env(secrets),
            },
        )
        for child in self.children:
            _say(f"starting {child.entry.name} on {child.url}")
            child.start()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        pending = list(self.children)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for child in list(pending):
                    assert child.proc is not None
                    if child.proc.poll() is not None:
                        raise RuntimeError(
                            f"{child.entry.name} exited during start-up; see {child.log_path}:\n"
                            + _tail(child.log_path)
                        )
                    try:
                        if client.get(child.url + "/readyz").status_code == 200:
                            pending.remove(child)
                    except httpx.HTTPError:
                        pass
                if time.monotonic() > deadline:
                    names = ", ".join(c.entry.name for c in pending)
                    raise TimeoutError(f"not ready after {READY_TIMEOUT:.0f}s: {names}")
                time.sleep(0.2)

    def _load_demo_plans(self) -> None:
        gateway = self.children[-1]
        with httpx.Client(timeout=60.0) as client:
            auth = _admin_authorization(client, gateway.url, self.admin_password)
            if auth is None:
                _say("cannot sign in as the administrator; demo plans not loaded")
                return
            for path in sorted(DEMO_PLANS_DIR.glob("*.yaml")):
                resp = client.post(
                    gateway.url + "/api/v1/plans/import",
                    content=path.read_bytes(),
                    headers={"content-type": "application/yaml", **auth},
                )
                if resp.status_code == 404:
                    _say("plans import not available; demo plans not loaded")
                    return
                if resp.status_code >= 400:
                    _say(f"demo plan {path.name} refused: {resp.text[:500]}")

    def _write_run_file(self) -> None:
        run = {
            "pid": os.getpid(),
            "gateway": self.children[-1].url,
            "services": {
                c.entry.name: {"url": c.url, "pid": c.proc.pid if c.proc else None}
                for c in self.children
            },
            "postgres_pid": self.postgres.proc.pid
            if self.postgres and self.postgres.proc
            else None,
            "nats_pid": self.nats.proc.pid if self.nats and self.nats.proc else None,
        }
        (self.state_dir / "run.json").write_text(json.dumps(run, indent=2))

    def _print_urls(self, seconds: float) -> None:
        gateway = self.children[-1].url
        _say(f"CCHC is up in {seconds:.1f}s")
        print(f"  API:      {gateway}/api/v1", flush=True)
        print(f"  Docs:     {gateway}/docs", flush=True)
        print(f"  OpenAPI:  {gateway}/api/v1/openapi.json", flush=True)
        print(f"  Ready:    {gateway}/readyz", flush=True)
        for child in self.children[:-1]:
            print(f"  {child.entry.name + ':':<10}{child.url}", flush=True)
        print("  Press Ctrl-C to stop.", flush=True)

    def _supervise(self) -> None:
        while True:
            time.sleep(1.0)
            for child in self.children:
                if child.proc is not None and child.proc.poll() is not None:
                    if child.restarts >= MAX_RESTARTS:
                        raise RuntimeError(
                            f"{child.entry.name} keeps crashing; see {child.log_path}"
                        )
                    child.restarts += 1
                    _say(f"{child.entry.name} exited ({child.proc.returncode}); restarting")
                    child.start()


def gateway_secrets_env(secrets: dict[str, str]) -> dict[str, str]:
    """What the gateway needs to bootstrap its accounts and protect its signing keys."""
    return {
        "CCHC_ADMIN_PASSWORD": secrets["admin_password"],
        "CCHC_IOC_DASHBOARD_SECRET": secrets["ioc_dashboard_secret"],
        "CCHC_AUTH_KEY_SECRET": secrets["auth_key_secret"],
    }


def _announce_secrets(path: Path, secrets: dict[str, str], created: list[str]) -> None:
    """Print the new sign-in secrets once; afterwards they are only in the 0600 file."""
    _say(f"generated secrets in {path} (mode 0600); shown this once:")
    if "admin_password" in created:
        user = os.environ.get("CCHC_ADMIN_USERNAME", "admin")
        print(
            f"  administrator   user {user!r}, password {secrets['admin_password']!r}", flush=True
        )
    if "ioc_dashboard_secret" in created:
        print(
            f"  IOC dashboard   client 'ioc-dashboard', secret {secrets['ioc_dashboard_secret']!r}",
            flush=True,
        )


def _admin_authorization(
    client: httpx.Client, gateway: str, password: str
) -> dict[str, str] | None:
    resp = client.post(
        gateway + "/api/v1/auth/token",
        data={
            "grant_type": "password",
            "username": os.environ.get("CCHC_ADMIN_USERNAME", "admin"),
            "password": password,
        },
    )
    if resp.status_code != 200:
        return None
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


class _Stop(Exception):
    """Raised from the signal handler to unwind into the shutdown path."""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _say(message: str) -> None:
    print(f"[cchc] {message}", flush=True)


def run_up() -> int:
    settings = LauncherSettings()
    state_dir = settings.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o755)  # noqa: S103  # the embedded PostgreSQL's user must traverse it when we are root
    return System(settings, state_dir).up()
