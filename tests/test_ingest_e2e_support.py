"""Helpers of the ingest acceptance tests (``test_ingest_e2e_*.py``); this module holds no test.

The simulator runs as its own process (``python -m cchc_simulator``), as the real one-stop system
would: its rendering of the feed then uses the second core while the ingest parses on the first.
Its ground truth (what ``GET /_sim/truth`` lists, taken from a copy of the same province) is
compared with what the ingest stored, dossier for dossier, and with what it quarantined, record
for record.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_ingest.domain.dossier import PiiHasher, parse_dossier
from cchc_ingest.domain.facts import derive_facts
from cchc_ingest.domain.instants import local_date, local_day_start, parse_instant
from cchc_shared.settings import IngestSettings
from cchc_simulator.app import build_simulator
from cchc_simulator.app import create_app as create_simulator_app
from cchc_simulator.faults import FaultSettings
from cchc_simulator.settings import SimulatorServerSettings
from cchc_simulator.simulator import Simulator
from cchc_simulator.timeutil import format_datetime
from cchc_simulator.truth import malformed_records, truth_lines
from cchc_simulator.truth import snapshot as truth_snapshot
from tests.support.simulator_process import SimulatorProcess

SEED = 4212
HISTORY_END = "20251031"  # a fixed window: the same province on every run
CLIENT_ID = "cchc"
CLIENT_SECRET = "s3cret"
PII_KEY = "e2e-pii-key"
HASHER = PiiHasher(PII_KEY)

# Every fault of the simulator, at rates that keep a run short: each still hits thousands of
# records (or hundreds of requests) in a year's backfill.
ALL_FAULTS: dict[str, Any] = {
    "duplicate_rate": 0.01,
    "out_of_order_rate": 0.01,
    "malformed_rate": 0.001,
    "nfd_rate": 0.05,
    "iso_dates_rate": 0.05,
    "numeric_flags_rate": 0.05,
    "empty_strings_rate": 0.05,
    "rate_limit_rate": 0.01,
    "unavailable_rate": 0.01,
    "retry_after_seconds": 0,
    "slow_rate": 0.002,
    "slow_seconds": 0.5,
    "token_lifetime_seconds": 20.0,
}


@contextmanager
def simulator_process(
    log_dir: Path,
    *,
    dossiers: int,
    faults: dict[str, Any] | None = None,
    live_rate: float = 0.0,
    end: str = HISTORY_END,
    startup_timeout: float = 600.0,
) -> Iterator[SimulatorProcess]:
    """``python -m cchc_simulator`` on a free port, building its history while the test goes on
    (``wait_ready()`` waits for it)."""
    settings = {
        "CCHC_SIMULATOR_SEED": str(SEED),
        "CCHC_SIMULATOR_DOSSIERS": str(dossiers),
        "CCHC_SIMULATOR_END": end,
        "CCHC_SIMULATOR_LIVE_RATE": str(live_rate),
        "CCHC_SIMULATOR_CLIENT_ID": CLIENT_ID,
        "CCHC_SIMULATOR_CLIENT_SECRET": CLIENT_SECRET,
        "CCHC_SIMULATOR_FAULTS": json.dumps(faults or {}),
    }
    sim = SimulatorProcess.start(log_dir, settings, startup_timeout)
    try:
        yield sim
    finally:
        sim.stop()


def ingest_settings(lgsp_url: str, **overrides: Any) -> IngestSettings:
    values: dict[str, Any] = {
        "lgsp_url": lgsp_url,
        "lgsp_client_id": CLIENT_ID,
        "lgsp_client_secret": CLIENT_SECRET,
        "pii_hash_key": PII_KEY,
        "poll_from": "now",
        "reconcile_interval": 0,
    }
    return IngestSettings(**(values | overrides))


def ingest_env(service_env: dict[str, str], lgsp_url: str, **extra: str) -> dict[str, str]:
    """Environment of an ingest process (``python -m cchc_ingest``) reading the simulator."""
    return {
        **os.environ,
        **service_env,
        "CCHC_LGSP_URL": lgsp_url,
        "CCHC_LGSP_CLIENT_ID": CLIENT_ID,
        "CCHC_LGSP_CLIENT_SECRET": CLIENT_SECRET,
        "CCHC_PII_HASH_KEY": PII_KEY,
        "CCHC_POLL_FROM": "now",
        "CCHC_RECONCILE_INTERVAL": "0",
        "CCHC_HOST": "127.0.0.1",
        **extra,
    }


def history_range(sim_status: dict[str, Any]) -> tuple[datetime, datetime]:
    """The local days covering the simulator's history, as [from, to) instants."""
    first = parse_instant(sim_status["historyStart"])
    last = parse_instant(sim_status["historyEnd"])
    assert first is not None and last is not None
    return local_day_start(local_date(first)), local_day_start(local_date(last) + timedelta(days=1))


async def sim_status(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        resp = await client.get("/_sim/status")
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        return body


# -- ground truth ----------------------------------------------------------------------------

Digest = bytes


def facts_digest(facts: Any) -> Digest:
    """A short fingerprint of a dossier's facts, whatever the key order (300,000 dossiers'
    facts would take a gigabyte of dictionaries)."""
    return hashlib.blake2b(
        orjson.dumps(facts, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).digest()


@dataclass
class Truth:
    latest: dict[str, tuple[int, Digest | None]] = field(default_factory=dict)
    """code -> (latest valid version, digest of the facts that version gives, if known)."""
    malformed: list[dict[str, Any]] = field(default_factory=list)
    versions: int = 0

    def take(self, line: str | bytes) -> None:
        """Read one line of ``GET /_sim/truth``."""
        if not line:
            return
        item = orjson.loads(line)
        kind = item["kind"]
        if kind == "dossier":
            record = item["record"]
            facts = derive_facts(parse_dossier(record, HASHER))
            self.latest[record["MaHoSo"]] = (record["PhienBan"], facts_digest(facts))
        elif kind == "malformed":
            self.malformed.append(item)
        else:
            self.versions = item["versions"]


def truth_of(simulator: Simulator) -> Truth:
    """The ground truth of a simulator running in this process."""
    truth = Truth()
    for chunk in truth_lines(simulator):
        for line in chunk.splitlines():
            truth.take(line)
    return truth


def local_truth(simulator: Simulator, facts_every: int = 1) -> Truth:
    """The ground truth of a simulator in this process, straight from its tables: every
    dossier's latest valid version, and every malformed version with the reason. The facts of
    the latest version are rendered and derived for one dossier in ``facts_every`` (all by
    default; rendering 300,000 records costs more than the rest of the comparison together).

    Same seed, window and faults give the same province, so a copy built here has the truth
    of the simulator serving the feed from another process."""
    truth = Truth(versions=len(simulator.feed))
    table, faults = simulator.table, simulator.faults
    for dossier in range(len(table)):
        version = faults.latest_valid_version(dossier, table.released[dossier])
        if not version:
            continue
        digest = None
        if dossier % facts_every == 0:
            record = simulator.renderer.render(dossier, version)
            digest = facts_digest(derive_facts(parse_dossier(record, HASHER)))
        truth.latest[table.codes[dossier]] = (version, digest)
    truth.malformed = [
        {"kind": "malformed", **bad}
        for bad in malformed_records(simulator, truth_snapshot(simulator))
    ]
    return truth


Fingerprint = tuple[int, int, int, datetime | None, datetime | None]


def fingerprint(simulator: Simulator) -> Fingerprint:
    """What tells one simulated history from another: seed, size and window."""
    config = simulator.config
    return (
        config.seed,
        len(simulator.table),
        len(simulator.feed),
        parse_instant(format_datetime(config.start)),
        parse_instant(format_datetime(config.end)),
    )


def served_fingerprint(served: dict[str, Any]) -> Fingerprint:
    """The same, of a served simulator (``GET /_sim/status``)."""
    return (
        served["seed"],
        served["dossiers"],
        served["versions"],
        parse_instant(served["historyStart"]),
        parse_instant(served["historyEnd"]),
    )


def local_simulator(dossiers: int, faults: dict[str, Any] | None = None) -> Simulator:
    """The same simulated province that ``simulator_process`` serves, built in this process."""
    settings = SimulatorServerSettings(
        simulator_seed=SEED,
        simulator_dossiers=dossiers,
        simulator_end=HISTORY_END,
        simulator_faults=FaultSettings(**(faults or {})),
    )
    return build_simulator(settings)


def copy_truth(
    dossiers: int, faults: dict[str, Any] | None, facts_every: int
) -> tuple[Truth, Fingerprint]:
    """Build a copy of the province and take its truth (run in a helper process: see Province)."""
    copy = local_simulator(dossiers, faults)
    return local_truth(copy, facts_every), fingerprint(copy)


@dataclass
class Province:
    """A simulated province served by its own process, its ground truth taken meanwhile from a
    copy built in a helper process (same seed, window and faults: the same province).

    Rendering and deriving the truth costs some tens of seconds for a year; done beside the
    history's build and the ingest's reading, it uses the core they leave idle."""

    sim: SimulatorProcess
    pending_truth: concurrent.futures.Future[tuple[Truth, Fingerprint]]

    async def url(self) -> str:
        return await asyncio.to_thread(self.sim.wait_ready)

    async def truth(self) -> Truth:
        truth, copied = await asyncio.wrap_future(self.pending_truth)
        served = served_fingerprint(await sim_status(await self.url()))
        assert copied == served, f"the copy is another province: {copied} != {served}"
        return truth


@contextmanager
def provinces(log_dir: Path) -> Iterator[Callable[[int], Province]]:
    """``province(dossiers)``: the province of that size with every fault on, started on first
    use and shared by whoever asks again (a backfill only reads it) until the block ends."""
    spawn = multiprocessing.get_context("spawn")  # no fork of a process holding an event loop
    with (
        concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as helper,
        ExitStack() as stack,
    ):
        opened: dict[int, Province] = {}

        def province(dossiers: int) -> Province:
            if dossiers not in opened:
                # Facts of every dossier up to a small year; of one in seven beyond, where
                # rendering them all would cost more than the rest of the comparison together.
                facts_every = 1 if dossiers <= 50_000 else 7
                logs = log_dir / f"province-{dossiers}"
                logs.mkdir(exist_ok=True)
                sim = stack.enter_context(
                    simulator_process(logs, dossiers=dossiers, faults=ALL_FAULTS)
                )
                pending = helper.submit(copy_truth, dossiers, ALL_FAULTS, facts_every)
                opened[dossiers] = Province(sim, pending)
            return opened[dossiers]

        try:
            yield province
        finally:
            for opened_province in opened.values():
                opened_province.pending_truth.cancel()


def in_process_simulator(
    dossiers: int, faults: dict[str, Any] | None = None
) -> tuple[Simulator, FastAPI]:
    """A small simulated province and its app (no live producer: tests write live changes)."""
    settings = SimulatorServerSettings(
        simulator_seed=SEED,
        simulator_dossiers=dossiers,
        simulator_end=HISTORY_END,
        simulator_live_rate=0,
        simulator_client_id=CLIENT_ID,
        simulator_client_secret=CLIENT_SECRET,
        simulator_faults=FaultSettings(**(faults or {})),
    )
    simulator = build_simulator(settings)
    return simulator, create_simulator_app(settings, simulator=simulator)


async def stored_dossiers(engine: AsyncEngine) -> dict[str, tuple[int, Digest]]:
    """code -> (version, digest of the facts) of every stored dossier."""
    found: dict[str, tuple[int, Digest]] = {}
    async with engine.connect() as conn:
        result = await conn.stream(
            text("SELECT code, version, facts::text FROM ingest.dossiers"),
            execution_options={"yield_per": 5000},
        )
        async for code, version, facts in result:
            found[code] = (version, facts_digest(orjson.loads(facts)))
    return found


async def assert_store_matches_truth(engine: AsyncEngine, truth: Truth) -> None:
    """Same dossiers, each at its latest valid version, with the facts that version gives."""
    stored = await stored_dossiers(engine)
    missing = truth.latest.keys() - stored.keys()
    extra = stored.keys() - truth.latest.keys()
    assert not missing and not extra, (
        f"{len(missing)} missing (e.g. {sorted(missing)[:3]}), "
        f"{len(extra)} unexpected (e.g. {sorted(extra)[:3]})"
    )
    stale = [
        (code, stored[code][0], version)
        for code, (version, _) in truth.latest.items()
        if stored[code][0] != version
    ]
    assert not stale, f"{len(stale)} at another version (code, ours, truth): {stale[:5]}"
    wrong = [c for c, (_, facts) in truth.latest.items() if facts and stored[c][1] != facts]
    assert not wrong, f"{len(wrong)} dossiers with other facts than the truth's: {wrong[:5]}"


def _quarantine_key(
    code: str | None, version: int | None, changed: object, reason: str
) -> tuple[str | None, int | None, datetime | None, str]:
    try:
        instant = parse_instant(changed)
    except ValueError:
        instant = None
    return code, version, instant, reason


def _truth_reason(reason: str) -> str:
    """The simulator's wording of a malformation, as the field our reason names."""
    if reason == "missing MaHoSo":
        return "MaHoSo"
    if reason.startswith("bad date NgayNopHoSo"):
        return "NgayNopHoSo"
    assert reason.startswith("unknown status TrangThaiHoSo"), reason
    return "TrangThaiHoSo"


async def assert_quarantine_matches_truth(engine: AsyncEngine, truth: Truth) -> int:
    """The quarantine holds exactly the malformed versions, each once, with its reason."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT kind, record_code, record_version, reason, payload "
                    "FROM ingest.quarantine"
                )
            )
        ).all()
    ours: Counter[tuple[Any, ...]] = Counter()
    for kind, code, version, reason, payload in rows:
        assert kind == "dossier", (kind, reason)
        raw = orjson.loads(payload)
        assert raw.get("ChuHoSo") is None or str(raw["ChuHoSo"]).startswith("hmac-sha256:")
        # Codes are kept only when the record had one; the truth names every one.
        ours[_quarantine_key(code, version, raw.get("NgayCapNhat"), reason.split(":", 1)[0])] += 1
    expected: Counter[tuple[Any, ...]] = Counter()
    for bad in truth.malformed:
        reason = _truth_reason(bad["reason"])
        code = None if reason == "MaHoSo" else bad["MaHoSo"]
        expected[_quarantine_key(code, bad["PhienBan"], bad["NgayCapNhat"], reason)] += 1
    assert ours == expected, (
        f"quarantine differs: {len(ours - expected)} unexpected {list(ours - expected)[:3]}, "
        f"{len(expected - ours)} missing {list(expected - ours)[:3]}"
    )
    return len(rows)


async def wait_for(
    predicate: Callable[[], Awaitable[bool]], seconds: float, *, every: float = 0.2
) -> None:
    async with asyncio.timeout(seconds):
        while not await predicate():  # noqa: ASYNC110 - polling the store, not an event
            await asyncio.sleep(every)


class IngestProcess:
    """``python -m cchc_ingest``, as deployed: started, SIGKILLed and restarted by a test."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = int(env["CCHC_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, ready_within: float = 60.0) -> None:
        self.process = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited
            [sys.executable, "-m", "cchc_ingest"],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as client:

            async def ready() -> bool:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"ingest exited:\n{self.log.read_text()[-3000:]}")
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_for(ready, ready_within)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, transactions in flight are cut. The processes the
        ingest started (its parsing workers) must end with it, within a few seconds."""
        if self.process is not None and self.process.poll() is None:
            started = psutil.Process(self.process.pid).children(recursive=True)
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            _, alive = psutil.wait_procs(started, timeout=10)
            for orphan in alive:
                orphan.kill()
            assert not alive, f"left running by the killed ingest: {alive}"
        self.process = None
