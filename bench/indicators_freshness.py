"""Freshness of the indicators (acceptance 4 of issue 6): a dossier change at the source is
visible in ``/api/v1/indicators/.../values`` within 2 seconds at the 99th percentile during a
live simulator run.

    .venv/bin/python bench/indicators_freshness.py [--dossiers 20000] [--live-rate 5]
        [--seconds 120] [--poll-interval 0.5]

Starts its own PostgreSQL and NATS JetStream (embedded, ``sync_interval: always``), then, each as
its own process as ``cchc up`` runs them: the simulator with a year of history and its live
producer writing ``--live-rate`` changes a second, the plans service (the four shared plans
imported, so the indicators service judges their 47 targets as data arrives), the ingest (the
poller every ``--poll-interval`` seconds; the year's history backfilled first, as on a first
start) and the indicators service. Once the history is in, it measures for ``--seconds``:

- the source side: it reads the change feed itself, as a second LGSP client, and keeps the
  changes ``/values`` can show: a receipt (``NgayTiepNhan`` = the version's ``NgayCapNhat``) and
  a finish (``NgayKetThucXuLy`` = ``NgayCapNhat``), each with its procedure and its instant;
- the service side: it asks ``DOSSIER_RECEIVED`` and ``DOSSIER_AVG_PROCESSING_DAYS`` (whose
  denominator counts finishes) for today, ``by=procedure``, every ``--read-every`` seconds.

A change is visible at the first answer, to a request sent after the change, whose count for the
change's procedure is above the count answered just before the change. A change is left out when
the previous change of its kind and procedure was not yet visible when it happened (the count
just before it would miss that one's rise). Beside each figure, the ingest's share of it: from
the change at the source to its ``dossier.changed`` event acknowledged by JetStream (the outbox
row's ``published_at``), and when the indicators service's transaction applying it began.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from bench.report import Figure, write_section
from cchc_launcher.migrate import migrate_all
from cchc_launcher.services import INDICATORS, INGEST, PLANS, SIMULATOR, ServiceEntry
from cchc_shared.embedded import EmbeddedNats, EmbeddedPostgres, free_port, terminate
from cchc_shared.events.streams import connect
from cchc_shared.testing import TestTokens

VN = timezone(timedelta(hours=7))
CLIENT_ID, CLIENT_SECRET = "cchc", "bench-freshness"
PLANS_DIR = Path(__file__).resolve().parent.parent / "cchc_launcher" / "demo" / "plans"
TOKENS = TestTokens()
ADMIN = {"Authorization": f"Bearer {TOKENS.mint('admin', ttl_seconds=4 * 3600)}"}
# The indicator whose count per procedure each kind of change raises.
COUNTED = {
    "receipt": ("DOSSIER_RECEIVED", "numerator"),
    "finish": ("DOSSIER_AVG_PROCESSING_DAYS", "denominator"),
}
SEEN_WITHIN = 60.0  # a change not visible by then counts as never seen


# -- processes -----------------------------------------------------------------------------------


@dataclass
class Stack:
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, entry: ServiceEntry, extra: dict[str, str], port: int) -> str:
        log = (self.root / f"{entry.name}.log").open("ab")
        env = {**os.environ, **self.env, **extra, "CCHC_PORT": str(port)}
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", entry.module], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        )
        return f"http://127.0.0.1:{port}"

    async def ready(self, url: str, within: float) -> None:
        """Until ``/readyz`` answers 200 (the simulator builds its history first)."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                for proc in self.procs:
                    if proc.poll() is not None:
                        raise RuntimeError(f"{proc.args!r} exited:\n{self.log_tails()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url + "/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{url} not ready after {within:.0f} s")

    def log_tails(self, lines: int = 15) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in sorted(self.root.glob("*.log"))
        )

    def stop(self) -> None:
        for proc in reversed(self.procs):
            terminate(proc, timeout=15.0)


# -- the source side -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # receipt or finish
    procedure: str
    code: str
    version: int
    at: float  # unix seconds: the version's NgayCapNhat


def local_instant(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=VN)


def changes_in(record: dict[str, Any]) -> Iterator[Change]:
    """The counted changes a version makes: its receipt or its finish, when it records one at
    its own instant (the simulator stamps an event with the version that writes it)."""
    written = record["NgayCapNhat"]
    status = str(record["TrangThaiHoSo"])
    at = local_instant(written)
    assert at is not None
    key = (str(record["MaTTHC"]), str(record["MaHoSo"]), int(record["PhienBan"]), at.timestamp())
    if record.get("NgayTiepNhan") == written and status not in {"1", "3"}:
        yield Change("receipt", *key)
    if record.get("NgayKetThucXuLy") == written and status in {"8", "9", "10"}:
        yield Change("finish", *key)


class FeedReader:
    """A second LGSP client: reads the change feed from ``since`` on, as the ingest does
    (each version once: after the feed's end it asks again from the last instant it saw)."""

    def __init__(self, url: str, since: datetime) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=30)
        self.since = since.astimezone(VN).strftime("%Y%m%d%H%M%S")
        self.cursor: str | None = None
        self.read: set[tuple[str, int]] = set()
        self.changes: list[Change] = []

    async def run(self, every: float = 0.5) -> None:
        token = await self.client.post(
            "/token", data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET)
        )
        self.client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        while True:
            if not await self.read_page():
                await asyncio.sleep(every)

    async def read_page(self) -> bool:
        params: dict[str, Any] = {"soLuong": 1000}
        if self.cursor:
            params["conTro"] = self.cursor
        else:
            params["tuThoiDiem"] = self.since
        resp = await self.client.get("/motcua/1.0/hoso/thaydoi", params=params)
        resp.raise_for_status()
        page = resp.json()
        for record in page["data"]:
            key = (str(record["MaHoSo"]), int(record["PhienBan"]))
            if key not in self.read:
                self.read.add(key)
                self.changes.extend(changes_in(record))
            self.since = max(self.since, str(record["NgayCapNhat"]))
        self.cursor = page["conTroTiep"]
        return bool(page["conNua"])


# -- the service side ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    sent: float
    received: float
    counts: dict[str, int]  # procedure -> count


class Reader:
    """Asks the two counting indicators for today, by procedure, over and over."""

    def __init__(self, url: str, day: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=30, headers=TOKENS.headers("viewer"))
        self.day = day
        self.answers: dict[str, list[Answer]] = {kind: [] for kind in COUNTED}

    async def run(self, every: float) -> None:
        while True:
            began = time.monotonic()
            await asyncio.gather(*(self.ask(kind) for kind in COUNTED))
            await asyncio.sleep(max(0.0, every - (time.monotonic() - began)))

    async def ask(self, kind: str) -> None:
        code, part = COUNTED[kind]
        sent = time.time()
        resp = await self.client.get(
            f"/api/v1/indicators/{code}/values", params={"period": self.day, "by": "procedure"}
        )
        received = time.time()
        resp.raise_for_status()
        counts = {row["key"]: int(row[part] or 0) for row in resp.json()["rows"] or []}
        self.answers[kind].append(Answer(sent, received, counts))


# -- attribution ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    change: Change
    visible: float  # seconds after the change


def attribute(
    changes: list[Change], answers: dict[str, list[Answer]]
) -> tuple[list[Seen], list[Change], list[Change]]:
    """(changes seen with their delay, changes left out as ambiguous, changes never seen).

    Changes of one kind and procedure are taken in order; those of the same second together
    (the count must rise by all of them). One is ambiguous while the one before it is not yet
    visible when it happens: the count just before it would then miss the other's rise.
    """
    groups: dict[tuple[str, str, float], list[Change]] = defaultdict(list)
    for c in sorted(changes, key=lambda c: c.at):
        groups[c.kind, c.procedure, c.at].append(c)
    seen: list[Seen] = []
    ambiguous: list[Change] = []
    unseen: list[Change] = []
    shown_at: dict[tuple[str, str], float | None] = {}  # when the previous one became visible
    for (kind, procedure, at), group in groups.items():
        previous = shown_at.get((kind, procedure), float("-inf"))
        if previous is None or previous > at:
            ambiguous += group
            shown_at[kind, procedure] = None if previous is None else max(previous, at)
            continue
        delay = _delay(procedure, at, len(group), answers[kind])
        shown_at[kind, procedure] = None if delay is None else at + delay
        if delay is None:
            unseen += group
        else:
            seen += [Seen(c, delay) for c in group]
    return seen, ambiguous, unseen


def _delay(procedure: str, at: float, rise: int, answers: list[Answer]) -> float | None:
    """Seconds from ``at`` to the first answer, asked after it, whose count has risen by
    ``rise`` over the last answer that arrived before it."""
    before = bisect.bisect_right([a.received for a in answers], at) - 1
    if before < 0:
        return None
    baseline = answers[before].counts.get(procedure, 0)
    for answer in answers[before + 1 :]:
        if answer.sent <= at:
            continue
        if answer.sent > at + SEEN_WITHIN:
            return None
        if answer.counts.get(procedure, 0) >= baseline + rise:
            return answer.received - at
    return None


# -- the ingest's share --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventTimes:
    published: float  # seconds from the change to its event acknowledged by JetStream
    applied: float | None  # ... to the indicators service's transaction applying it


async def event_paths(dsn: str, seen: list[Seen]) -> dict[Change, EventTimes]:
    """Per change, the times of its ``dossier.changed`` event: the first event of the dossier
    at that version or a later one (a poll may take two versions of a dossier at once)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """
            SELECT e.envelope->'data'->>'dossier_code' AS code,
                   (e.envelope->'data'->>'version')::int AS version,
                   e.published_at, p.processed_at
            FROM ingest.outbox_event_list e
            LEFT JOIN indicators.processed_messages p
              ON p.consumer = 'indicators-ingest' AND p.event_id = e.envelope->>'id'
            WHERE e.envelope->>'type' = 'vn.cchc.ingest.dossier.changed'
              AND e.envelope->'data'->>'dossier_code' = ANY($1::text[])
              AND e.published_at IS NOT NULL
            """,
            list({s.change.code for s in seen}),
        )
    finally:
        await conn.close()
    events: dict[str, list[tuple[int, datetime, datetime | None]]] = defaultdict(list)
    for row in rows:
        events[row["code"]].append((row["version"], row["published_at"], row["processed_at"]))
    paths = {}
    for s in seen:
        c = s.change
        later = sorted(e for e in events[c.code] if e[0] >= c.version)
        if later:
            _, published, applied = later[0]
            paths[c] = EventTimes(
                published.timestamp() - c.at, applied.timestamp() - c.at if applied else None
            )
    return paths


# -- the run -------------------------------------------------------------------------------------


@dataclass
class Run:
    seen: list[Seen]
    paths: dict[Change, EventTimes]
    ambiguous: int
    unseen: int
    written: int
    versions: int
    backfill_s: float
    load: tuple[tuple[float, ...], tuple[float, ...]]


@contextlib.asynccontextmanager
async def system(
    args: argparse.Namespace, root: Path
) -> AsyncIterator[tuple[Stack, dict[str, str]]]:
    pg = EmbeddedPostgres(root / "pg")
    nats = EmbeddedNats(root / "nats", sync_interval="always")
    pg.start()
    nats.start()
    stack = Stack(root)
    try:
        pg.create_database("bench")
        url = pg.url("bench")
        await asyncio.to_thread(migrate_all, url)
        stack.env = {
            "CCHC_DATABASE_URL": url,
            "CCHC_NATS_URL": nats.url,
            "CCHC_LOG_LEVEL": "WARNING",
            "CCHC_LOG_JSON": "false",
            "CCHC_HOST": "127.0.0.1",
            "CCHC_AUTH_REQUIRED": "true",
            "CCHC_AUTH_JWKS": orjson.dumps(TOKENS.jwks()).decode(),
            "PYTHONUNBUFFERED": "1",
        }
        urls = start_services(stack, args)
        urls["dsn"] = url.replace("postgresql+asyncpg", "postgresql")
        urls["nats"] = nats.url
        yield stack, urls
    finally:
        stack.stop()
        nats.stop()
        pg.stop()


def start_services(stack: Stack, args: argparse.Namespace) -> dict[str, str]:
    simulator = stack.start(
        SIMULATOR,
        {
            "CCHC_SIMULATOR_SEED": "4212",
            "CCHC_SIMULATOR_DOSSIERS": str(args.dossiers),
            "CCHC_SIMULATOR_LIVE_RATE": str(args.live_rate),
            "CCHC_SIMULATOR_CLIENT_ID": CLIENT_ID,
            "CCHC_SIMULATOR_CLIENT_SECRET": CLIENT_SECRET,
        },
        free_port(),
    )
    return {
        "simulator": simulator,
        "indicators": stack.start(INDICATORS, {}, free_port()),
        "plans": stack.start(PLANS, {}, free_port()),
        "ingest": stack.start(
            INGEST,
            {
                "CCHC_LGSP_URL": simulator,
                "CCHC_LGSP_CLIENT_ID": CLIENT_ID,
                "CCHC_LGSP_CLIENT_SECRET": CLIENT_SECRET,
                "CCHC_PII_HASH_KEY": "bench",
                "CCHC_POLL_INTERVAL": str(args.poll_interval),
                "CCHC_POLL_FROM": "",  # now, after queueing a backfill of the last 366 days
                "CCHC_RECONCILE_INTERVAL": "0",
            },
            free_port(),
        ),
    }


async def import_plans(plans: str) -> None:
    async with httpx.AsyncClient(base_url=plans, timeout=60, headers=ADMIN) as client:
        for path in sorted(PLANS_DIR.glob("*.yaml")):
            resp = await client.post(
                "/api/v1/plans/import",
                content=path.read_bytes(),
                headers={"content-type": "application/yaml"},
            )
            resp.raise_for_status()


async def history_in(ingest: str, nats_url: str, within: float = 1800.0) -> None:
    """Until the backfill of the history is done and the indicators service has caught up: no
    message waiting for it twice in a row a second apart (a message carries up to 100 events,
    so "a few messages" can still be thousands of dossiers)."""
    nc = await connect(nats_url, name="bench-freshness")
    js = nc.jetstream()
    deadline = time.monotonic() + within
    quiet = 0
    try:
        async with httpx.AsyncClient(base_url=ingest, timeout=30, headers=ADMIN) as client:
            while time.monotonic() < deadline and quiet < 2:
                await asyncio.sleep(1.0)
                jobs = (await client.get("/api/v1/ingest/backfill")).json()["items"]
                info = await js.consumer_info("CCHC_INGEST", "indicators-ingest")
                done = bool(jobs) and all(j["status"] == "done" for j in jobs)
                quiet = quiet + 1 if done and info.num_pending == 0 else 0
    finally:
        await nc.close()
    if quiet < 2:
        raise TimeoutError("the history did not come in")


async def measure(args: argparse.Namespace, root: Path) -> Run:
    load_before = os.getloadavg()
    async with system(args, root) as (stack, urls):
        for name in ("simulator", "indicators", "plans", "ingest"):
            await stack.ready(urls[name], within=600)
        await import_plans(urls["plans"])
        began = time.monotonic()
        await history_in(urls["ingest"], urls["nats"])
        backfill_s = time.monotonic() - began
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        day = start.astimezone(VN).date()
        feed = FeedReader(urls["simulator"], start)
        reader = Reader(urls["indicators"], day.isoformat())
        tasks = [
            asyncio.create_task(feed.run()),
            asyncio.create_task(reader.run(args.read_every)),
        ]
        await asyncio.sleep(args.settle)  # the first answers warm the service's caches
        window = (time.time(), time.time() + args.seconds)
        await asyncio.sleep(args.seconds + SEEN_WITHIN / 2)  # the last ones have time to show
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await feed.client.aclose()
        await reader.client.aclose()
        seen, ambiguous, unseen = attribute(feed.changes, reader.answers)

        def inside(c: Change) -> bool:
            return window[0] <= c.at <= window[1] and datetime.fromtimestamp(c.at, VN).date() == day

        seen = [s for s in seen if inside(s.change)]
        paths = await event_paths(urls["dsn"], seen)
    return Run(
        seen,
        paths,
        sum(map(inside, ambiguous)),
        sum(map(inside, unseen)),
        sum(map(inside, feed.changes)),
        len(feed.read),
        backfill_s,
        (load_before, os.getloadavg()),
    )


# -- the report ----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(args: argparse.Namespace, run: Run) -> None:
    delays = [s.visible for s in run.seen]
    published = [p.published for p in run.paths.values()]
    applied = [p.applied for p in run.paths.values() if p.applied is not None]
    kinds = {k: sum(1 for s in run.seen if s.change.kind == k) for k in COUNTED}
    figures = [
        Figure(
            f"change at the source → visible in `/values`, {name}",
            f"{percentile(delays, q):.2f} s",
            f"on JetStream after {percentile(published, q):.2f} s (ingest alone); "
            f"applied by the indicators service after {percentile(applied, q):.2f} s",
            "≤ 2 s" if name == "p99" else "",
        )
        for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("slowest", 1.0))
    ]
    figures.append(
        Figure(
            "changes measured",
            f"{len(delays)} ({kinds['receipt']} receipts, {kinds['finish']} finishes)",
            f"of {run.written} receipts and finishes written in {args.seconds:.0f} s: "
            f"{run.ambiguous} left out (one of the same procedure not yet visible), "
            f"{run.unseen} never seen",
        )
    )
    write_section("Indicators freshness", figures, notes=notes(args, run))


def notes(args: argparse.Namespace, run: Run) -> str:
    before, after = run.load
    command = (
        f"`bench/indicators_freshness.py --dossiers {args.dossiers} --live-rate "
        f"{args.live_rate:g} --seconds {args.seconds:g} --poll-interval {args.poll_interval:g}`"
    )
    return " ".join(
        [
            f"{command}: PostgreSQL and NATS JetStream (embedded, `sync_interval: always`), the",
            f"simulator (a year of {args.dossiers:,} dossiers, then {args.live_rate:g} live",
            "changes a second), the plans service with the four shared plans (47 targets",
            "re-judged as data arrives), the ingest (poller every",
            f"{args.poll_interval:g} s, the default `CCHC_POLL_INTERVAL`: the wait for the next",
            "poll is most of the delay) and the indicators service, each its own",
            "process, as",
            f"`cchc up` runs them. The history came in first ({run.backfill_s:.0f} s: backfill",
            "and consumption, until no message waited for the indicators service); then the",
            f"bench read the change feed itself ({run.versions:,} versions in all), asked",
            "`DOSSIER_RECEIVED` and `DOSSIER_AVG_PROCESSING_DAYS` for today by procedure every",
            f"{args.read_every:g} s, and measured the changes of {args.seconds:g} s starting",
            f"{args.settle:g} s later. A change's instant is its `NgayCapNhat` (whole seconds;",
            "the simulator writes a second's changes just after it starts, so the figures",
            "include that wait); it is visible when the first answer to a request sent after it",
            "shows its procedure's count risen (the answer's arrival time, so the figures also",
            f"include up to {args.read_every:g} s of asking interval and the request itself).",
            "Only receipts and finishes change a count `/values` shows; other steps",
            "(processing, supplement requests) travel the same path. Baseline: the ingest's",
            "share, from the change to its `dossier.changed` event acknowledged by JetStream",
            "(`published_at` of the outbox row), and when the indicators service's transaction",
            "applying it began (`processed_at`); the rest is committing and answering (answers",
            "may reuse what the service read of its state for 0.25 s). Load average",
            f"(1/5/15 min) {before[0]:.1f}/{before[1]:.1f}/{before[2]:.1f} at the start,",
            f"{after[0]:.1f}/{after[1]:.1f}/{after[2]:.1f} at the end — on a 2-core machine",
            "anything above 2 means the figures include waiting for a core.",
        ]
    )


def dump(seen: Seen, times: EventTimes | None) -> dict[str, Any]:
    return {
        "kind": seen.change.kind,
        "code": seen.change.code,
        "version": seen.change.version,
        "at": seen.change.at,
        "visible": seen.visible,
        "published": times.published if times else None,
        "applied": times.applied if times else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=20_000)
    parser.add_argument("--live-rate", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--poll-interval", type=float, default=0.5)
    parser.add_argument("--read-every", type=float, default=0.1)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--dump", type=Path, help="Write every measured change here (JSON).")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cchc-bench-freshness-"))
    os.chmod(root, 0o755)  # the embedded PostgreSQL may run as another user
    try:
        run = asyncio.run(measure(args, root))
        if not run.seen:
            raise SystemExit(f"no change was measured; see the logs in {root}")
        report(args, run)
        if args.dump:
            args.dump.write_bytes(
                orjson.dumps([dump(s, run.paths.get(s.change)) for s in run.seen])
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
