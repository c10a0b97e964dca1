"""The events of index results (docs/events.md "From plans: indices"), on stream CCHC_INDICES.

Each carries the unit's whole result for the year (every component with its maximum, its parts
and the score the analysis uses), so the indicator service can show index figures beside its
live indicators without calling back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from cchc_plans.domain.index_analysis import Component, Effective, Total
from cchc_plans.store.models import IndexFramework, IndexScore, IndexUnitResult, OrgUnit
from cchc_shared.events.envelope import CloudEvent

SOURCE = "/cchc/plans"
RESULTS_LOADED = "vn.cchc.indices.results.loaded"
RESULTS_CHANGED = "vn.cchc.indices.results.changed"


def _num(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _score_data(
    components: Sequence[Component],
    scores: Sequence[IndexScore],
    effective: Mapping[str, Effective],
) -> list[dict[str, Any]]:
    by_code = {s.component: s for s in scores}
    items = []
    for c in components:
        stored, eff = by_code.get(c.code), effective.get(c.code)
        if stored is None and (eff is None or eff.value is None):
            continue  # neither loaded nor derivable: nothing to say
        items.append(
            {
                "component": c.code,
                "name": c.name,
                "parent": c.parent_code,
                "depth": c.depth,
                "max_score": _num(c.max_score),
                "self_assessed": _num(stored.self_assessed) if stored else None,
                "appraised": _num(stored.appraised) if stored else None,
                "survey": _num(stored.survey) if stored else None,
                "published_score": _num(stored.score) if stored else None,
                "score": _num(eff.value) if eff else None,
                "score_basis": eff.basis if eff else None,
                "provisional": eff.provisional if eff else False,
            }
        )
    return items


def results_event(
    *,
    framework: IndexFramework,
    result: IndexUnitResult,
    unit: OrgUnit,
    components: Sequence[Component],
    scores: Sequence[IndexScore],
    effective: Mapping[str, Effective],
    total: Total,
    previous_total: Decimal | None = None,
    changed: bool,
) -> CloudEvent:
    data: dict[str, Any] = {
        "id": str(result.id),
        "framework_code": framework.code,
        "framework_version": framework.version,
        "framework_id": str(framework.id),
        "year": result.year,
        "org_unit_id": str(unit.id),
        "org_unit_code": unit.code,
        "org_unit_name": unit.name,
        "level": result.level,
        "province": unit.province,
        "max_total": _num(framework.max_score),
        "total": _num(total.value),
        "total_basis": total.basis,
        "total_provisional": total.provisional,
        "published_total": _num(result.published_total),
        "published_rank": result.published_rank,
        "rank_of": result.rank_of,
        "scores": _score_data(components, scores, effective),
        "loaded_by": result.loaded_by,
        "version": result.revision,
    }
    if changed:
        data["previous_total"] = _num(previous_total)
    return CloudEvent(
        source=SOURCE,
        type=RESULTS_CHANGED if changed else RESULTS_LOADED,
        subject=str(result.id),
        data=data,
    )
