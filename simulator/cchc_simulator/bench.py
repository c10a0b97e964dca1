"""``python -m cchc_simulator.bench``: how fast the change feed serves pages of 1,000 records.

Builds a history in-process, then reads pages in order from the start and from the middle of the
feed (render + JSON encoding, what a request costs minus HTTP), and prints one JSON line. A
calibration figure (microseconds for ``sum(range(1000))``, about 8 on an idle modern core) tells
how loaded the machine was, since timings on a shared machine move a lot.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import time
import timeit

import orjson

from cchc_shared.memory import paused_gc
from cchc_simulator.simulator import SimulationConfig, Simulator
from cchc_simulator.timeutil import DAY, parse_end


def _read_pages(simulator: Simulator, start: int, pages: int) -> dict[str, float]:
    """Wall and CPU milliseconds per page, over ``pages`` consecutive pages of 1,000."""
    timings: list[float] = []
    position = start
    cpu = time.process_time()
    for _ in range(pages):
        began = time.perf_counter()
        with paused_gc():  # as the API does
            page = simulator.read_page(position, None, 1000)
            orjson.dumps({"data": page.records, "conTroTiep": None, "conNua": page.more})
            position, more = page.next_position, page.more
            del page
        timings.append((time.perf_counter() - began) * 1000)
        if not more:
            break
    cpu_ms = (time.process_time() - cpu) * 1000 / len(timings)
    return {
        "pages": len(timings),
        "median_ms": round(statistics.median(timings), 1),
        "p95_ms": round(sorted(timings)[int(len(timings) * 0.95)], 1),
        "cpu_ms": round(cpu_ms, 1),
        "records_per_second": round(1000 * 1000 * len(timings) / sum(timings)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=300_000)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--seed", type=int, default=4212)
    arguments = parser.parse_args()
    end = parse_end("20251031")
    began, cpu = time.perf_counter(), time.process_time()
    simulator = Simulator(
        SimulationConfig(arguments.seed, arguments.dossiers, end - 365 * DAY + 1, end)
    )
    built, built_cpu = time.perf_counter() - began, time.process_time() - cpu
    gc.freeze()  # as the server does (see __main__)
    gc.set_threshold(50_000, 20, 100)
    result: dict[str, object] = {
        "dossiers": len(simulator.table),
        "versions": len(simulator.feed),
        "build_seconds": round(built, 1),
        "build_cpu_seconds": round(built_cpu, 1),
        "calibration_us": round(min(timeit.repeat("sum(range(1000))", number=2000)) * 500, 1),
    }
    for label, start in (("from_start", 0), ("from_middle", len(simulator.feed) // 2)):
        result[label] = _read_pages(simulator, start, arguments.pages)
    result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result))  # noqa: T201


if __name__ == "__main__":
    main()
