"""Deterministic randomness that needs no state: hashes of (seed, salt, numbers).

Faults and per-record details must be the same whenever a record is rendered, in whatever order
pages are read, so they are decided by hashing the record's coordinates instead of drawing from a
shared random stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_MASK64 = (1 << 64) - 1
_TWO_POW_64 = float(1 << 64)
_TWO_POW_MINUS_53 = 1.0 / (1 << 53)


def mix64(value: int) -> int:
    """SplitMix64's finaliser: a well-spread 64-bit hash of an integer."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def hash64(seed: int, salt: int, first: int, second: int = 0) -> int:
    """A 64-bit hash of (seed, salt, first, second); ``second`` must be below 2**8."""
    return mix64(mix64((seed << 8) ^ salt) ^ ((first << 8) | second))


def unit(seed: int, salt: int, first: int, second: int = 0) -> float:
    """A number in [0, 1) fixed by its arguments."""
    return hash64(seed, salt, first, second) / _TWO_POW_64


def largest_remainder(weights: Sequence[float], total: int) -> list[int]:
    """Integer shares of ``total`` proportional to ``weights`` that add up to it exactly."""
    whole = sum(weights)
    exact = [w * total / whole for w in weights]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


class Stream:
    """A small, fast pseudo-random stream for the details of one record.

    A 64-bit linear congruential generator read from its high bits: plenty for invented names
    and flags, and, unlike ``random.Random``, free to seed, which matters when every dossier
    seeds its own stream the first time the feed serves it.
    """

    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = seed & _MASK64

    def random(self) -> float:
        """A float in [0, 1)."""
        self._state = (self._state * 6364136223846793005 + 1442695040888963407) & _MASK64
        return (self._state >> 11) * _TWO_POW_MINUS_53

    def below(self, bound: int) -> int:
        """A whole number in [0, bound)."""
        return int(self.random() * bound)

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.random() * len(items))]

    def digits(self, count: int) -> str:
        """``count`` random decimal digits (at most 15)."""
        return f"{int(self.random() * 10**count):0{count}d}"
