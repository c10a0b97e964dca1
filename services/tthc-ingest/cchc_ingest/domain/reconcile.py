"""Comparing the source's daily counts with ours (pure: the counts come in, findings go out)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

Counts = Mapping[tuple[date, str], int]


@dataclass(frozen=True, slots=True)
class SourceCount:
    day: date
    agency_code: str
    received: int
    updated: int


@dataclass(frozen=True, slots=True)
class Difference:
    day: date
    agency_code: str
    source_received: int
    ours_received: int
    source_updated: int
    ours_updated: int


def differences(
    source: Iterable[SourceCount], ours_received: Counts, ours_updated: Counts
) -> list[Difference]:
    """Every (day, agency) where either count differs, in day then agency order."""
    theirs = {(c.day, c.agency_code): c for c in source}
    keys = set(theirs) | set(ours_received) | set(ours_updated)
    found = []
    for key in sorted(keys):
        count = theirs.get(key)
        src_received = count.received if count else 0
        src_updated = count.updated if count else 0
        mine_received = ours_received.get(key, 0)
        mine_updated = ours_updated.get(key, 0)
        if (src_received, src_updated) != (mine_received, mine_updated):
            found.append(
                Difference(key[0], key[1], src_received, mine_received, src_updated, mine_updated)
            )
    return found


def days_to_reread(found: Iterable[Difference]) -> list[date]:
    """The days to read again: where a count differs.

    A dossier we lack (or hold at a stale version) shows up in the updated count of the day of its
    latest version at the source, and that day's feed holds that version; reading the day again
    brings it. Days whose received count differs are read too (their dossiers' versions of that
    day).
    """
    return sorted({d.day for d in found})
