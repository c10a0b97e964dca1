"""Write one benchmark's results into docs/benchmarks.md, beside the machine it ran on.

Each benchmark owns one section (``## <title>``) and replaces it on every run; the rest of the
file is kept. Every figure is written with its baseline beside it.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Written by the scripts in `bench/` (`./cchc bench` runs them all). Each section says the "
    "machine it ran on, and each figure its baseline.\n"
)


@dataclass(frozen=True)
class Figure:
    name: str
    value: str
    baseline: str
    target: str = ""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, commit {commit or '?'}"
    )


def write_section(title: str, figures: list[Figure], notes: str = "") -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = "\n".join(f"| {f.name} | {f.value} | {f.baseline} | {f.target} |" for f in figures)
    section = (
        f"## {title}\n\n"
        f"Ran {when} on {machine()}.\n\n"
        "| figure | measured | baseline | target |\n|---|---|---|---|\n"
        f"{rows}\n" + (f"\n{notes.strip()}\n" if notes else "") + "\n"
    )
    text = DOC.read_text() if DOC.exists() else HEADER
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section
    )
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text.rstrip() + "\n")
    print(section)
