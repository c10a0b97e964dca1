"""The collector settings a service takes once started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from cchc_shared.memory import YOUNG_THRESHOLD, paused_gc, settle_heap


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_settled_heap_is_frozen_and_young_objects_are_collected_less_often() -> None:
    _, older, oldest = gc.get_threshold()
    kept = [[i] for i in range(1000)]  # alive across the settling: frozen with the rest
    settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == (YOUNG_THRESHOLD, older, oldest)


def test_paused_gc_restores_the_collector_only_if_it_was_on() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
