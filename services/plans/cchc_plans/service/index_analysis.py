"""A unit's standing in an index for a year: its scores, total and rank among its peers (the
units of the same level with results in the same index and year)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.domain.index_analysis import (
    Component,
    Effective,
    Parts,
    Rank,
    Total,
    competition_ranks,
    effective_scores,
    total_of,
)
from cchc_plans.store import indices as store
from cchc_plans.store.models import IndexNode, IndexScore, IndexUnitResult


def components_of(nodes: Sequence[IndexNode]) -> list[Component]:
    return [
        Component(
            code=n.code,
            parent_code=n.parent_code,
            depth=n.depth,
            position=n.position,
            name=n.name,
            max_score=n.max_score,
        )
        for n in nodes
    ]


def parts_of(scores: Sequence[IndexScore]) -> dict[str, Parts]:
    return {
        s.component: Parts(
            self_assessed=s.self_assessed, appraised=s.appraised, survey=s.survey, score=s.score
        )
        for s in scores
    }


@dataclass
class Standing:
    result: IndexUnitResult
    components: list[Component]
    scores: list[IndexScore]
    effective: dict[str, Effective]
    total: Total
    rank: Rank | None = None


async def evaluate(session: AsyncSession, results: Sequence[IndexUnitResult]) -> list[Standing]:
    """Each result's component scores and total (not yet its rank)."""
    nodes = await store.nodes_of_many(session, {r.framework_id for r in results})
    scores = await store.scores_of(session, [r.id for r in results])
    found: list[Standing] = []
    for result in results:
        components = components_of(nodes[result.framework_id])
        effective = effective_scores(components, parts_of(scores[result.id]))
        total = total_of(components, effective, result.published_total)
        found.append(Standing(result, components, scores[result.id], effective, total))
    return found


async def standings(
    session: AsyncSession, framework_code: str, year: int, level: str
) -> list[Standing]:
    """Every unit of the level with its total and rank, best first."""
    found = await evaluate(session, await store.peers(session, framework_code, year, level))
    computed = competition_ranks({s.result.id: s.total.value for s in found})
    for s in found:
        if s.result.published_rank is not None:
            s.rank = Rank(s.result.published_rank, s.result.rank_of, "published")
        elif s.result.id in computed:
            s.rank = Rank(computed[s.result.id], len(computed), "computed")
    return sorted(found, key=_standing_order)


def _standing_order(s: Standing) -> tuple[int, int, str]:
    rank = s.rank.rank if s.rank else 1_000_000
    return (rank, 0 if s.rank and s.rank.basis == "published" else 1, str(s.result.id))


async def standing_of(
    session: AsyncSession, framework_code: str, year: int, org_unit_id: uuid.UUID
) -> Standing | None:
    result = await store.result_of_unit(session, framework_code, year, org_unit_id)
    if result is None:
        return None
    found = await standings(session, framework_code, year, result.level)
    return next(s for s in found if s.result.id == result.id)
