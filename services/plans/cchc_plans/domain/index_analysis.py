"""What a unit's results say: each component's score, the total, the rank among peers, the
components that lost most points, and the change from the year before.

A component's score is, in this order: its official `score` when published; else its appraised
score (or, before appraisal, its self-assessed one, marked provisional) plus its survey score;
else, when every child has a score, the sum of its children's. A total is the published one, or
the sum of the top-level components when each has a score. Ranks are competition ranks (1, 2, 2,
4) among the units of the same level with a total, unless a published rank is given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeVar

K = TypeVar("K", bound=Hashable)
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Component:
    code: str
    parent_code: str | None
    depth: int
    position: int
    name: str
    max_score: Decimal | None


@dataclass(frozen=True, slots=True)
class Parts:
    self_assessed: Decimal | None = None
    appraised: Decimal | None = None
    survey: Decimal | None = None
    score: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Effective:
    value: Decimal | None
    basis: str | None = None
    """`score`, `appraised`, `self_assessed`, `survey`, `appraised+survey`... or `children`."""
    provisional: bool = False
    """Rests on a self-assessed score not yet appraised."""


NONE = Effective(None)


@dataclass(frozen=True, slots=True)
class Total:
    value: Decimal | None
    basis: Literal["published", "computed"] | None
    provisional: bool = False


@dataclass(frozen=True, slots=True)
class Rank:
    rank: int
    of: int | None
    basis: Literal["published", "computed"]


@dataclass(frozen=True, slots=True)
class Loss:
    component: Component
    score: Decimal
    lost: Decimal
    lost_share: Decimal


@dataclass(frozen=True, slots=True)
class Change:
    component: Component
    score: Decimal
    previous: Decimal
    change: Decimal


def _from_parts(parts: Parts) -> Effective | None:
    if parts.score is not None:
        return Effective(parts.score, "score")
    provisional = parts.appraised is None and parts.self_assessed is not None
    assessed = parts.appraised if parts.appraised is not None else parts.self_assessed
    named = [
        (name, value)
        for name, value in (
            ("self_assessed" if provisional else "appraised", assessed),
            ("survey", parts.survey),
        )
        if value is not None
    ]
    if not named:
        return None
    return Effective(sum((v for _, v in named), ZERO), "+".join(n for n, _ in named), provisional)


def effective_scores(
    components: Sequence[Component], parts: Mapping[str, Parts]
) -> dict[str, Effective]:
    """Every component's score, deepest first so a parent can add up its children."""
    children: dict[str | None, list[str]] = defaultdict(list)
    for c in components:
        children[c.parent_code].append(c.code)
    result: dict[str, Effective] = {}
    for c in sorted(components, key=lambda c: -c.depth):
        own = _from_parts(parts[c.code]) if c.code in parts else None
        result[c.code] = own or _from_children([result[k] for k in children[c.code]])
    return result


def _from_children(kids: list[Effective]) -> Effective:
    if not kids or any(k.value is None for k in kids):
        return NONE
    total = sum((k.value for k in kids if k.value is not None), ZERO)
    return Effective(total, "children", any(k.provisional for k in kids))


def total_of(
    components: Sequence[Component], effective: Mapping[str, Effective], published: Decimal | None
) -> Total:
    if published is not None:
        return Total(published, "published")
    top = [effective.get(c.code, NONE) for c in components if c.depth == 1]
    if not top or any(e.value is None for e in top):
        return Total(None, None)
    value = sum((e.value for e in top if e.value is not None), ZERO)
    return Total(value, "computed", any(e.provisional for e in top))


def competition_ranks(totals: Mapping[K, Decimal | None]) -> dict[K, int]:
    """1 + the number of units with a higher total; units without a total are not ranked."""
    ordered = sorted((v for v in totals.values() if v is not None), reverse=True)
    first: dict[Decimal, int] = {}
    for index, value in enumerate(ordered):
        first.setdefault(value, index + 1)
    return {key: first[value] for key, value in totals.items() if value is not None}


def _at_depth(components: Iterable[Component], depth: int | None) -> list[Component]:
    return [c for c in components if depth is None or c.depth == depth]


def weakest(
    components: Sequence[Component], effective: Mapping[str, Effective], depth: int | None
) -> list[Loss]:
    """Components by points lost against their maximum (only where the maximum is known),
    most first; equal losses by the larger share of the maximum, then in framework order."""
    losses: list[Loss] = []
    for c in _at_depth(components, depth):
        score = effective.get(c.code, NONE).value
        if c.max_score is None or score is None:
            continue
        lost = c.max_score - score
        share = lost / c.max_score if c.max_score else ZERO
        losses.append(Loss(c, score, lost, share))
    return sorted(losses, key=lambda x: (-x.lost, -x.lost_share, x.component.position))


def changes(
    components: Sequence[Component],
    now: Mapping[str, Effective],
    before: Mapping[str, Effective],
    depth: int | None,
) -> list[Change]:
    """Components scored both years (matched by code), the largest drop first."""
    found: list[Change] = []
    for c in _at_depth(components, depth):
        score, previous = now.get(c.code, NONE).value, before.get(c.code, NONE).value
        if score is not None and previous is not None:
            found.append(Change(c, score, previous, score - previous))
    return sorted(found, key=lambda x: (x.change, x.component.position))
