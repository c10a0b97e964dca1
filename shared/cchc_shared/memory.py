"""Garbage collection on hot paths that allocate many short-lived containers."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside.

    Decoding, parsing or rendering a page of records allocates a few hundred thousand containers,
    none in a cycle, and each collection they trigger rescans every long-lived object of the
    process (a fifth of the ingest's time; 60% of a simulator page's, with its cache of live
    dossiers). Reference counting still frees them all; free a page's records inside too, so
    that the count of new objects falls back and no collection follows on the way out.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Once a process has started: collect, then move every object alive now out of the
    collector's sight (``gc.freeze``).

    What a service builds at start (its app, routes, schemas, OpenAPI document, caches) lives as
    long as the process, yet every full collection walks all of it again: tens of milliseconds
    on a small core, paid by whichever requests are in flight then (the slow tail of a read
    benchmark). Frozen, a full collection walks only what requests left behind.

    The youngest generation is collected every ``YOUNG_THRESHOLD`` net new containers rather
    than 700: the ingest's writer holds pages of thousands of rows in flight, and at 700 each
    page was promoted through every generation while still alive (a fifth of the writer's CPU,
    9 µs a record; 1 µs at 10,000).
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
