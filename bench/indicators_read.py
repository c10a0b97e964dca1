"""Read speed of the indicators service over 1,000,000 dossiers (acceptance 5 of issue 6).

    .venv/bin/python bench/indicators_read.py [--dossiers 1000000] [--requests 4000]

Starts its own PostgreSQL and NATS (embedded, free ports), loads a year of synthetic dossiers
(a province of 130 receiving agencies, 1,900 procedures) straight into ``dossier_state`` by COPY,
builds the aggregates with the service's own rebuild, starts the indicators service and the
gateway under uvicorn, and measures ``/values`` and ``/series`` through the gateway with 32
concurrent clients: every question distinct (no answer cache hit) and then repeated (cache hits).
Beside them, the same questions answered by ``GROUP BY`` over the raw dossiers in the same
database, and the ratio. With 1,000,000 dossiers or more it writes its section of
docs/benchmarks.md (``bench/report.py``); smaller runs (development) print it only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import http_load
from bench.report import Figure, machine, write_section
from cchc_indicators.cli import run_rebuild
from cchc_indicators.domain.facts import Channel, DossierFacts
from cchc_indicators.domain.periods import local_midnight
from cchc_indicators.store.dossiers import state_columns
from cchc_indicators.testing import agency_event, apply, procedure_event
from cchc_launcher.services import INDICATORS
from cchc_shared.db import create_engine
from cchc_shared.embedded import EmbeddedNats, EmbeddedPostgres, free_port, wait_for_port
from cchc_shared.migrations import upgrade
from cchc_shared.testing import TestTokens

CONCURRENCY = 32
TITLE = "Indicators: reads over 1,000,000 dossiers"
FULL_SIZE = 1_000_000
PROVINCE = "000.00.00.H99"
CODES = [
    "DOSSIER_RECEIVED",
    "DOSSIER_ONLINE_RATE",
    "DOSSIER_ON_TIME_RATE",
    "DOSSIER_OVERDUE_OPEN",
    "DOSSIER_SATISFACTION_RATE",
    "DOSSIER_ONLINE_PAYMENT_RATE",
]
PERIODS = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2024-Q{q}" for q in range(1, 5)] + ["2024"]
FIELDS = [f"F{i:02d}" for i in range(25)]
CHANNELS: tuple[Channel, ...] = ("in_person", "online", "postal")
TOKENS = TestTokens()
HEADERS = TOKENS.headers("viewer")


def tree() -> tuple[list[tuple[str, str, str, str | None]], list[str], list[str]]:
    units: list[tuple[str, str, str, str | None]] = [
        (PROVINCE, "UBND tỉnh Thử nghiệm", "province", None)
    ]
    districts, agencies = [], []
    for d in range(20):
        code = f"000.00.{d + 1:02d}.H99"
        units.append((code, f"Sở {d + 1}", "department", PROVINCE))
        agencies.append(code)
    for d in range(10):
        district = f"000.{d + 20:02d}.00.H99"
        units.append((district, f"UBND huyện {d + 1}", "district", PROVINCE))
        districts.append(district)
        agencies.append(district)
        for c in range(10):
            commune = f"{d + 20:02d}{c:01d}.{d + 20:02d}.00.H99"
            units.append((commune, f"UBND xã {d + 1}.{c + 1}", "commune", district))
            agencies.append(commune)
    return units, districts, agencies


def synthetic_facts(n: int, agencies: list[str], seed: int = 766) -> list[dict[str, Any]]:
    """A year (2024) of dossiers: rows of ``dossier_state``, facts included."""
    rng = random.Random(seed)
    start = local_midnight(date(2024, 1, 1))
    year_seconds = 366 * 86_400
    rows = []
    for i in range(n):
        received = start + timedelta(seconds=rng.randrange(year_seconds))
        due = received + timedelta(days=rng.randint(3, 30))
        done = rng.random() < 0.9
        finish = received + timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 8))
        status = 10 if done else rng.choice((2, 4, 5, 6))
        rating = rng.randint(1, 5) if done and rng.random() < 0.2 else None
        channel: Channel = rng.choices(CHANNELS, (60, 35, 5))[0]
        has_fee = rng.random() < 0.4
        facts = DossierFacts.model_construct(
            dossier_code=f"B-{i:08d}",
            version=rng.randint(1, 9),
            updated_at=finish if done else received,
            agency_code=rng.choice(agencies),
            procedure_code=f"1.{rng.randrange(1900):06d}",
            field_code=rng.choice(FIELDS),
            status=status,
            received=True,
            received_at=received,
            withdrawn=False,
            finished=done,
            finished_at=finish if done else None,
            due_at_original=due,
            due_at=due,
            supplement_rounds=0,
            supplement_requested_at=None,
            supplement_completed_at=None,
            channel=channel,
            applicant_type=None,
            has_fee=has_fee,
            paid_online=has_fee and rng.random() < 0.5,
            digitized=rng.random() < 0.6,
            e_certified=rng.random() < 0.1,
            synced=rng.random() < 0.8,
            rating=rating,
            rated_at=finish + timedelta(days=1) if rating else None,
        )
        row = state_columns(facts)
        row["facts"] = orjson.dumps(row["facts"]).decode()
        rows.append(row)
    return rows


async def load(dsn: str, url: str, n: int) -> dict[str, float]:
    units, _, agencies = tree()
    engine = create_engine(url, pool_size=2)
    await apply(engine, [agency_event(c, name, level, parent) for c, name, level, parent in units])
    await apply(
        engine,
        [
            procedure_event(
                f"1.{i:06d}", field_code=FIELDS[i % 25], field_name=f"Lĩnh vực {i % 25}"
            )
            for i in range(1900)
        ],
    )
    await engine.dispose()
    timings: dict[str, float] = {}
    started = time.monotonic()
    rows = synthetic_facts(n, agencies)
    timings["generate_s"] = time.monotonic() - started
    columns = list(rows[0])
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "dossier_state",
            schema_name="indicators",
            records=[tuple(r[c] for c in columns) for r in rows],
            columns=columns,
        )
    finally:
        await conn.close()
    timings["copy_s"] = time.monotonic() - started
    del rows
    started = time.monotonic()
    await run_rebuild(url)
    timings["rebuild_s"] = time.monotonic() - started
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
        counts = {
            t: await conn.fetchval(f"SELECT count(*) FROM indicators.{t}")
            for t in ("agg_detail_day", "agg_detail_month", "agg_agency_day", "agg_agency_month")
        }
    finally:
        await conn.close()
    timings.update({f"rows_{k}": float(v) for k, v in counts.items()})
    return timings


def start(module: str, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        env={**os.environ, **env, "CCHC_PORT": str(port)},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, timeout=60, proc=proc)
    return proc


def questions(kind: str, rng: random.Random, units: list[str], n: int) -> list[str]:
    out = []
    for i in range(n):
        code = rng.choice(CODES)
        unit = rng.choice(units)
        if kind == "values":
            by = rng.choice(("", "&by=org_unit"))
            path = f"/api/v1/indicators/{code}/values?period={rng.choice(PERIODS)}&org_unit={unit}"
            out.append(path + by + f"&_q={i}")  # _q: every question distinct, no cache hit
        else:
            path = f"/api/v1/indicators/{code}/series?from=2024-01&to=2024-12&grain=month"
            out.append(f"{path}&org_unit={unit}&_q={i}")
    return out


async def drive(base: str, paths: list[str]) -> list[float]:
    return await http_load.drive(base, paths, HEADERS, CONCURRENCY)


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "n": len(ordered),
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
        "mean_ms": statistics.fmean(ordered) * 1000,
    }


RAW_VALUES = """
SELECT count(*) FILTER (WHERE channel = 'online'), count(*)
FROM indicators.dossier_state
WHERE agency_code = ANY($1) AND received_at >= $2 AND received_at < $3
"""
RAW_SERIES = """
SELECT date_trunc('month', received_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS month,
       count(*) FILTER (WHERE channel = 'online'), count(*)
FROM indicators.dossier_state
WHERE agency_code = ANY($1) AND received_at >= $2 AND received_at < $3
GROUP BY 1 ORDER BY 1
"""


async def raw_baseline(dsn: str, subtrees: list[list[str]], n: int) -> dict[str, dict[str, float]]:
    """The same questions (online rate of a subtree for 2024; by month) by GROUP BY over the
    raw dossiers, one client: what a dashboard would cost without aggregates."""
    conn = await asyncpg.connect(dsn)
    start, end = local_midnight(date(2024, 1, 1)), local_midnight(date(2025, 1, 1))
    results: dict[str, dict[str, float]] = {}
    try:
        for name, sql in (("values", RAW_VALUES), ("series", RAW_SERIES)):
            await conn.fetch(sql, subtrees[0], start, end)  # warm
            latencies = []
            for i in range(n):
                started = time.perf_counter()
                await conn.fetch(sql, subtrees[i % len(subtrees)], start, end)
                latencies.append(time.perf_counter() - started)
            results[name] = summary(latencies)
    finally:
        await conn.close()
    return results


async def api_single(base: str, paths: list[str]) -> dict[str, float]:
    return summary(await http_load.drive(base, paths, HEADERS, concurrency=1))


async def measure(args: argparse.Namespace, root: Path) -> None:
    pg = EmbeddedPostgres(root / "pg")
    pg.start()
    nats = EmbeddedNats(root / "nats", sync_interval="always")
    nats.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        pg.create_database("bench")
        url = pg.url("bench")
        dsn = url.replace("postgresql+asyncpg", "postgresql")
        await asyncio.to_thread(upgrade, INDICATORS.migrations_dir, url)
        timings = await load(dsn, url, args.dossiers)
        env = {
            "CCHC_DATABASE_URL": url,
            "CCHC_NATS_URL": nats.url,
            "CCHC_LOG_LEVEL": "WARNING",
            "CCHC_AUTH_REQUIRED": "true",
            "CCHC_AUTH_JWKS": orjson.dumps(TOKENS.jwks()).decode(),
            "CCHC_RUN_BACKGROUND_WORKERS": "false",
            "CCHC_AUTH_ISSUE_TOKENS": "false",
            "CCHC_DB_POOL_SIZE": "10",
        }
        service_port, gateway_port = free_port(), free_port()
        procs.append(start("cchc_indicators", env, service_port, root / "indicators.log"))
        gateway_env = {
            **env,
            "CCHC_INDICATORS_URL": f"http://127.0.0.1:{service_port}",
            "CCHC_RATE_LIMIT_PER_SECOND": "100000",
            "CCHC_RATE_LIMIT_BURST": "100000",
        }
        procs.append(start("cchc_gateway", gateway_env, gateway_port, root / "gateway.log"))
        units, districts, _ = tree()
        unit_codes = [u[0] for u in units]
        rng = random.Random(42)
        results: dict[str, dict[str, float]] = {}
        loads = [os.getloadavg()]
        for target, port in (("gateway", gateway_port), ("direct", service_port)):
            base = f"http://127.0.0.1:{port}"
            await drive(base, questions("values", rng, unit_codes, 200))  # warm up
            for kind in ("values", "series"):
                distinct = questions(kind, rng, unit_codes, args.requests)
                results[f"{target} {kind} distinct"] = summary(await drive(base, distinct))
                repeated = [p.split("&_q=")[0] for p in distinct[:64]] * (args.requests // 64)
                results[f"{target} {kind} repeated"] = summary(await drive(base, repeated))
        base = f"http://127.0.0.1:{gateway_port}"
        single_values = [
            f"/api/v1/indicators/DOSSIER_ONLINE_RATE/values?period=2024&org_unit={d}&_q={i}"
            for i, d in enumerate(districts * 10)
        ]
        single_series = [
            f"/api/v1/indicators/DOSSIER_ONLINE_RATE/series?from=2024-01&to=2024-12&org_unit={d}"
            f"&_q={i}"
            for i, d in enumerate(districts * 10)
        ]
        api_one = {
            "values": await api_single(base, single_values),
            "series": await api_single(base, single_series),
        }
        loads.append(os.getloadavg())
        subtrees = [[d] + [u[0] for u in units if u[3] == d] for d in districts]
        raw = await raw_baseline(dsn, [*subtrees, [u[0] for u in units]], 20)
        report(args, timings, results, api_one, raw, loads)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        nats.stop()
        pg.stop()


def report(
    args: argparse.Namespace,
    timings: dict[str, float],
    results: dict[str, dict[str, float]],
    api_one: dict[str, dict[str, float]],
    raw: dict[str, dict[str, float]],
    loads: list[tuple[float, float, float]],
) -> None:
    figures: list[Figure] = []
    for kind in ("values", "series"):
        via, direct = results[f"gateway {kind} distinct"], results[f"direct {kind} distinct"]
        repeated = results[f"gateway {kind} repeated"]
        figures.append(
            Figure(
                f"`/{kind}` through the gateway, {CONCURRENCY} clients, distinct questions, p99",
                f"{via['p99_ms']:.1f} ms (p50 {via['p50_ms']:.1f})",
                f"direct to the service {direct['p99_ms']:.1f} ms (p50 {direct['p50_ms']:.1f}); "
                f"repeated questions (answer cache) via gateway {repeated['p99_ms']:.1f} ms "
                f"(p50 {repeated['p50_ms']:.1f})",
                "< 50 ms",
            )
        )
    for kind in ("values", "series"):
        a, r = api_one[kind], raw[kind]
        figures.append(
            Figure(
                f"`/{kind}` online rate, one client, through the gateway, p50",
                f"{a['p50_ms']:.1f} ms (p99 {a['p99_ms']:.1f})",
                f"raw `GROUP BY` over `dossier_state` {r['p50_ms']:.1f} ms (p99 "
                f"{r['p99_ms']:.1f}): {r['p50_ms'] / a['p50_ms']:.0f}× slower at p50, "
                f"{r['p99_ms'] / a['p99_ms']:.0f}× at p99",
            )
        )
    figures.append(
        Figure(
            "`cchc indicators rebuild` (set-wise SQL)",
            f"{timings['rebuild_s']:.0f} s for {args.dossiers:,} dossiers",
            f"COPY of the dossiers {timings['copy_s']:.0f} s",
        )
    )
    lines = [
        f"`bench/indicators_read.py --dossiers {args.dossiers} --requests {args.requests}`: "
        f"{args.dossiers:,} synthetic dossiers of 2024 (130 receiving agencies under a province, "
        "20 departments, 10 districts of 10 communes; 1,900 procedures) COPYed into "
        "`dossier_state`, aggregates built by the service's own rebuild; indicators service and "
        "gateway each a uvicorn process (uvloop, httptools), embedded PostgreSQL (stock "
        "settings), all on this machine with the client.",
        "",
        f"{CONCURRENCY} concurrent closed-loop clients (`bench/http_load.py`: one keep-alive "
        "connection each, requests prepared in advance, answers parsed by httptools; a quarter "
        "of the CPU aiohttp took per request, which the servers sharing these two cores would "
        f"otherwise lose), {args.requests} requests per line. "
        "*distinct*: every question different (random indicator of "
        f"{', '.join(CODES)}; random unit of the 151; random month, quarter or the year of "
        "2024; `by` none or `org_unit`; series: the 12 months of 2024), so the answer cache never "
        "hits; *repeated*: 64 questions asked over and over, answered from the per-process "
        "answer cache. Distinct questions are answered from the service's in-memory read model "
        "(`service/read_model.py`: per agency and day, caught up from `agg_agency_day` by "
        "version).",
        "",
        "| path | questions | n | p50 ms | p99 ms | mean ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in results.items():
        target, kind, mode = name.split()
        lines.append(
            f"| {target} | `/{kind}` {mode} | {s['n']:.0f} | {s['p50_ms']:.1f} | "
            f"{s['p99_ms']:.1f} | {s['mean_ms']:.1f} |"
        )
    lines += [
        "",
        "Baseline: the online rate of each district and of the province for 2024 (`/values`) and "
        "month by month (`/series`), one client, through the gateway, against the same question "
        "by `GROUP BY` over the raw `dossier_state` in the same database (index on "
        "`(agency_code, received_at)`), 20 each.",
        "",
        f"Aggregate rows: detail/day {timings['rows_agg_detail_day']:,.0f}, detail/month "
        f"{timings['rows_agg_detail_month']:,.0f}, agency/day "
        f"{timings['rows_agg_agency_day']:,.0f}, agency/month "
        f"{timings['rows_agg_agency_month']:,.0f}. Generating the dossiers took "
        f"{timings['generate_s']:.0f} s.",
        "",
        "Load average (1/5/15 min) when the requests started: "
        + "/".join(f"{x:.1f}" for x in loads[0])
        + "; when they ended: "
        + "/".join(f"{x:.1f}" for x in loads[-1])
        + " (on 2 cores, the client, gateway, service and PostgreSQL share them; above 2 means "
        "other work was waiting too).",
    ]
    notes = "\n".join(lines)
    if args.dossiers >= FULL_SIZE:
        write_section(TITLE, figures, notes)
    else:  # a development run: not the figure acceptance 5 asks for
        rows = "\n".join(f"| {f.name} | {f.value} | {f.baseline} | {f.target} |" for f in figures)
        print(f"## {TITLE} (development run, not written)\n\n{machine()}\n\n{rows}\n\n{notes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=3200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cchc-bench-"))
    os.chmod(root, 0o755)  # the embedded PostgreSQL may run as another user
    try:
        uvloop.run(measure(args, root))  # the clients on the loop the servers use
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
