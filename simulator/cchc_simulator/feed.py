"""The change feed's order: every released version, sorted by (NgayCapNhat, MaHoSo, PhienBan).

Built once over the history by sorting packed integer keys, then only appended to: the live
producer writes versions stamped with the current second, later than anything already there.
A feed position is therefore stable for the simulator's life, and a cursor is just a position
(plus where the previous page started, which the duplicate fault needs).
"""

from __future__ import annotations

import base64
import binascii
from array import array
from bisect import bisect_left

from cchc_simulator.dossiers import MAX_EVENTS, DossierTable

_VERSION_BITS = 6
_RANK_BITS = 22  # up to 4 million dossiers in the history
_TIME_SHIFT = _VERSION_BITS + _RANK_BITS


class FeedIndex:
    def __init__(self) -> None:
        self.time = array("q")
        self.dossier = array("i")
        self.version = array("b")

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def of_history(cls, table: DossierTable) -> FeedIndex:
        """Sort all released versions. One integer per version sorts far faster than tuples."""
        if len(table) >= 1 << _RANK_BITS:
            raise ValueError(f"at most {1 << _RANK_BITS} dossiers in the history")
        assert MAX_EVENTS < 1 << _VERSION_BITS
        index = cls()
        if not len(table):
            return index
        rank_of = _code_ranks(table.codes)
        by_rank = array("i", bytes(4 * len(rank_of)))
        for dossier, rank in enumerate(rank_of):
            by_rank[rank] = dossier
        base = min(table.event_time[table.first_event[d]] for d in range(len(table)))
        keys = _packed_keys(table, rank_of, base)
        keys.sort()
        rank_mask = (1 << _RANK_BITS) - 1
        version_mask = (1 << _VERSION_BITS) - 1
        for key in keys:
            index.time.append((key >> _TIME_SHIFT) + base)
            index.dossier.append(by_rank[(key >> _VERSION_BITS) & rank_mask])
            index.version.append(key & version_mask)
        return index

    def append(self, at: int, dossier: int, version: int) -> None:
        if self.time and at < self.time[-1]:
            raise ValueError("the feed only grows forward in time")
        self.time.append(at)
        self.dossier.append(dossier)
        self.version.append(version)

    def position_at(self, instant: int) -> int:
        """First position whose NgayCapNhat is at or after ``instant`` (inclusive boundary)."""
        return bisect_left(self.time, instant)

    @property
    def last_time(self) -> int | None:
        return self.time[-1] if self.time else None


def _code_ranks(codes: list[str]) -> list[int]:
    ordered = sorted(range(len(codes)), key=codes.__getitem__)
    ranks = [0] * len(codes)
    for rank, dossier in enumerate(ordered):
        ranks[dossier] = rank
    return ranks


def _packed_keys(table: DossierTable, rank_of: list[int], base: int) -> list[int]:
    keys: list[int] = []
    times = table.event_time
    for dossier, rank in enumerate(rank_of):
        start = table.first_event[dossier]
        rank_bits = rank << _VERSION_BITS
        keys.extend(
            ((times[start + v] - base) << _TIME_SHIFT) | rank_bits | (v + 1)
            for v in range(table.released[dossier])
        )
    return keys


class Cursor:
    """Opaque to clients: base64 of where the next page starts and where this one started."""

    @staticmethod
    def encode(next_position: int, page_start: int) -> str:
        raw = f"v1:{next_position}:{page_start}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(text: str) -> tuple[int, int]:
        """(next position, start of the previous page); ValueError if it is not our cursor."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError("not a cursor") from error
        tag, _, rest = raw.partition(":")
        next_text, _, start_text = rest.partition(":")
        if tag != "v1" or not next_text.isdigit() or not start_text.isdigit():
            raise ValueError("not a cursor")
        next_position, page_start = int(next_text), int(start_text)
        if page_start > next_position:
            raise ValueError("not a cursor")
        return next_position, page_start
