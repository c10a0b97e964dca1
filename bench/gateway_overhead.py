"""What the gateway adds to a request (acceptance 3 of issue 7: under 3 ms at the median).

    .venv/bin/python bench/gateway_overhead.py [--requests 3000] [--seconds 5]

Starts its own PostgreSQL and NATS (embedded, free ports), a service built with
``create_service_app`` (token verified, one small JSON read) and the gateway, each a separate
uvicorn process (uvloop + httptools, as ``cchc up`` runs them). Then the same authenticated GET,
alternately straight to the service and through the gateway, one at a time over keep-alive
connections: the difference of the medians is what the gateway adds (its token check, rate limit,
headers, routing and the forwarding hop). Then both under 32 concurrent connections for
throughput. Writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import Figure, write_section
from cchc_launcher.migrate import migrate_all
from cchc_shared.embedded import free_port, wait_for_port
from cchc_shared.testing import TestTokens, start_test_infra

PATH = "/api/v1/plans/bench"
CONCURRENCY = 32
TITLE = "Gateway overhead"


def serve_probe() -> None:
    """The service side: one authenticated read, through the shared app factory."""
    from fastapi import APIRouter

    from cchc_shared.app import ServiceDefinition, create_service_app
    from cchc_shared.server import serve
    from cchc_shared.settings import ServiceSettings

    router = APIRouter()

    @router.get(PATH)
    async def read() -> dict[str, Any]:
        return {"items": [{"code": "DOSSIER_ON_TIME_RATE", "value": 0.9731}], "next_cursor": None}

    settings = ServiceSettings(run_background_workers=False)
    definition = ServiceDefinition(name="bench", title="bench", description="", routers=[router])
    serve(lambda: create_service_app(definition, settings), settings)


def serve_gateway() -> None:
    from cchc_gateway.main import create_app
    from cchc_shared.server import serve
    from cchc_shared.settings import GatewaySettings

    settings = GatewaySettings()
    serve(lambda: create_app(settings), settings)


def sequential(port: int, headers: dict[str, str], n: int) -> list[float]:
    """Latency of ``n`` requests one after the other on one keep-alive connection (ms)."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        conn.request("GET", PATH, headers=headers)
        resp = conn.getresponse()
        resp.read()
        times.append((time.perf_counter() - started) * 1000)
        assert resp.status == 200, resp.status
    conn.close()
    return times


def interleaved(
    direct: int, gateway: int, headers: dict[str, str], n: int
) -> tuple[list[float], list[float]]:
    """Alternate blocks of 100 so drift (other load, CPU frequency) hits both sides alike."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(max(1, n // 100)):
        a += sequential(direct, headers, 100)
        b += sequential(gateway, headers, 100)
    return a, b


async def throughput(port: int, headers: dict[str, str], seconds: float) -> float:
    done = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                async with session.get(f"http://127.0.0.1:{port}{PATH}") as resp:
                    await resp.read()
                    assert resp.status == 200
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return done / (time.monotonic() - started)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", choices=["probe", "gateway"])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.serve == "probe":
        serve_probe()
        return
    if args.serve == "gateway":
        serve_gateway()
        return
    run(args.requests, args.seconds)


def run(requests: int, seconds: float) -> None:
    infra = start_test_infra()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        migrate_all(infra.database_url)
        tokens = TestTokens()
        direct, gateway = free_port(), free_port()
        env = {
            **os.environ,
            "CCHC_DATABASE_URL": infra.database_url,
            "CCHC_NATS_URL": infra.nats_url,
            "CCHC_LOG_LEVEL": "WARNING",
            # Both trust the benchmark's key: the gateway validates, as with an external issuer.
            "CCHC_AUTH_JWKS": json.dumps(tokens.jwks()),
            "CCHC_AUTH_ISSUE_TOKENS": "false",
        }
        procs.append(spawn("probe", {**env, "CCHC_PORT": str(direct)}))
        procs.append(
            spawn(
                "gateway",
                {
                    **env,
                    "CCHC_PORT": str(gateway),
                    "CCHC_PLANS_URL": f"http://127.0.0.1:{direct}",
                    "CCHC_RATE_LIMIT_PER_SECOND": "1000000",
                    "CCHC_RATE_LIMIT_BURST": "1000000",
                },
            )
        )
        for port in (direct, gateway):
            wait_for_port(port, timeout=60)
        headers = tokens.headers("viewer")
        interleaved(direct, gateway, headers, 500)  # warm up both
        a, b = interleaved(direct, gateway, headers, requests)
        rps_direct = asyncio.run(throughput(direct, headers, seconds))
        rps_gateway = asyncio.run(throughput(gateway, headers, seconds))
        report(a, b, rps_direct, rps_gateway, requests)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        infra.stop()


def spawn(what: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    profile = os.environ.get("CCHC_BENCH_PROFILE")  # a directory: cProfile each server there
    prefix = ["-m", "cProfile", "-o", f"{profile}/{what}.prof"] if profile else []
    return subprocess.Popen([sys.executable, *prefix, __file__, "--serve", what], env=env)


def report(
    direct: list[float], via: list[float], rps_direct: float, rps_gateway: float, n: int
) -> None:
    added = statistics.median(via) - statistics.median(direct)
    figures = [
        Figure(
            "gateway-added latency, median",
            f"{added:.2f} ms",
            f"direct {statistics.median(direct):.2f} ms, "
            f"via gateway {statistics.median(via):.2f} ms",
            "< 3 ms",
        ),
        Figure(
            "latency p90",
            f"via gateway {percentile(via, 0.9):.2f} ms",
            f"direct {percentile(direct, 0.9):.2f} ms",
        ),
        Figure(
            "latency p99",
            f"via gateway {percentile(via, 0.99):.2f} ms",
            f"direct {percentile(direct, 0.99):.2f} ms",
        ),
        Figure(
            f"throughput, {CONCURRENCY} connections",
            f"via gateway {rps_gateway:,.0f} req/s",
            f"direct {rps_direct:,.0f} req/s ({rps_gateway / rps_direct:.0%} kept)",
        ),
    ]
    notes = (
        f"`bench/gateway_overhead.py`: {n} authenticated GETs each way, one at a time on a "
        "keep-alive connection, in alternating blocks of 100; the service verifies the EdDSA "
        "token itself in both cases, the gateway once more (verified tokens are cached until "
        "expiry), then applies its rate limit and security headers and forwards with aiohttp. "
        "Both processes under uvicorn (uvloop, httptools); client, gateway and service share the "
        "machine's cores. Load average when it ran (1/5/15 min): "
        + "/".join(f"{x:.1f}" for x in os.getloadavg())
        + " — on a 2-core machine anything above 2 means the figures include waiting for a core."
    )
    write_section(TITLE, figures, notes)


if __name__ == "__main__":
    main()
