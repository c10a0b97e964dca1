"""Ground truth: what a correct reader of the feed must end up holding.

For every dossier, its latest *valid* released version (a malformed version must be quarantined,
so the reader keeps the one before it), rendered clean: NFC text, ``yyyyMMddHHmmss`` dates,
string flags. Then every malformed version released so far, with the reason. /hoso/thongke
counts from the same latest valid versions (daily_counts.py).

A snapshot is taken when a listing starts, so live changes written while it streams do not
tear it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cchc_simulator.simulator import Simulator
from cchc_simulator.timeutil import format_datetime

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Snapshot:
    dossiers: int
    released: array[int]
    versions: int  # feed length when taken


def snapshot(simulator: Simulator) -> Snapshot:
    table = simulator.table
    return Snapshot(len(table), array("b", table.released), len(simulator.feed))


def latest_records(simulator: Simulator, taken: Snapshot) -> Iterator[dict[str, Any]]:
    """The clean latest valid version of every dossier that has one."""
    for dossier in range(taken.dossiers):
        version = simulator.faults.latest_valid_version(dossier, taken.released[dossier])
        if version:
            yield simulator.renderer.render(dossier, version)


def malformed_records(simulator: Simulator, taken: Snapshot) -> Iterator[dict[str, Any]]:
    """Every malformed version released so far, identified even when its MaHoSo is missing."""
    if simulator.faults.settings.malformed_rate <= 0:
        return
    table = simulator.table
    for dossier in range(taken.dossiers):
        for version in range(1, taken.released[dossier] + 1):
            reason = simulator.faults.malformation(dossier, version)
            if reason is not None:
                yield {
                    "MaHoSo": table.codes[dossier],
                    "PhienBan": version,
                    "NgayCapNhat": format_datetime(table.version_time(dossier, version)),
                    "reason": reason,
                }


def truth_lines(simulator: Simulator) -> Iterator[bytes]:
    """JSON lines, in chunks: a ``meta`` line, ``dossier`` lines, then ``malformed`` lines."""
    taken = snapshot(simulator)
    meta = {
        "kind": "meta",
        "dossiers": taken.dossiers,
        "versions": taken.versions,
        "malformedRate": simulator.faults.settings.malformed_rate,
    }
    yield orjson.dumps(meta) + b"\n"
    lines: list[bytes] = []
    for record in latest_records(simulator, taken):
        lines.append(orjson.dumps({"kind": "dossier", "record": record}))
        if len(lines) >= _CHUNK:
            yield b"\n".join(lines) + b"\n"
            lines.clear()
    for bad in malformed_records(simulator, taken):
        lines.append(orjson.dumps({"kind": "malformed", **bad}))
        if len(lines) >= _CHUNK:
            yield b"\n".join(lines) + b"\n"
            lines.clear()
    if lines:
        yield b"\n".join(lines) + b"\n"


def write_truth(simulator: Simulator, path: Path) -> Path:
    """Write the ground truth as JSON lines (see ``truth_lines``) to ``path``."""
    with path.open("wb") as out:
        for chunk in truth_lines(simulator):
            out.write(chunk)
    return path
