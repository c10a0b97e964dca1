"""Loading index results: validate the whole document (every fault with its path), then bring
each listed unit's result for the year to what the document says, each change audited and
announced (`results.loaded` the first time, `results.changed` after)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.domain.documents import Fault, Loc, normalize_text
from cchc_plans.domain.index_analysis import effective_scores, total_of
from cchc_plans.domain.index_results import (
    NodeLimits,
    ResultsDocument,
    UnitResultDoc,
    results_faults,
)
from cchc_plans.domain.org_units import overlaps
from cchc_plans.events import publish as plan_events
from cchc_plans.events.indices import results_event
from cchc_plans.service.index_analysis import components_of, parts_of
from cchc_plans.service.index_frameworks import framework_for_year, pydantic_faults
from cchc_plans.store import audit, org_units
from cchc_plans.store import indices as store
from cchc_plans.store.models import IndexFramework, IndexNode, IndexScore, IndexUnitResult, OrgUnit
from cchc_shared.errors import FieldError, ValidationFailed, field_path

Relocate = Callable[[Loc], tuple[Loc, str | None]]
UnitOutcome = Literal["created", "changed", "unchanged"]


def in_body(loc: Loc) -> tuple[Loc, str | None]:
    return ("body", *loc), None


@dataclass
class LoadedUnit:
    result: IndexUnitResult
    unit: OrgUnit
    outcome: UnitOutcome


@dataclass
class LoadOutcome:
    framework: IndexFramework
    year: int
    units: list[LoadedUnit]


def _failed(faults: list[Fault], relocate: Relocate) -> ValidationFailed:
    errors = []
    for loc, message in faults:
        where, note = relocate(loc)
        errors.append(
            FieldError(field=field_path(where), message=f"{note}: {message}" if note else message)
        )
    return ValidationFailed(errors)


async def load_results(
    session: AsyncSession, raw: object, *, actor: str, relocate: Relocate = in_body
) -> LoadOutcome:
    raw = normalize_text(raw)
    if not isinstance(raw, dict):
        raise _failed([((), "expected a results document")], relocate)
    try:
        doc = ResultsDocument.model_validate(raw)
    except ValidationError as exc:
        raise _failed(pydantic_faults(exc), relocate) from exc
    framework, faults = await framework_for_year(session, doc.framework, doc.version, doc.year)
    if framework is None:
        raise _failed(faults, relocate)
    nodes = await store.nodes_of(session, framework.id)
    limits = NodeLimits({n.code: n.max_score for n in nodes}, framework.max_score)
    faults = results_faults(doc, limits)
    units, unit_faults = await _resolve_units(session, doc, framework)
    faults.extend(unit_faults)
    if faults:
        raise _failed(faults, relocate)
    await store.lock(session, f"results:{framework.code}:{doc.year}")
    loaded = [
        await _apply_unit(session, framework, nodes, doc.year, unit_doc, unit, actor)
        for unit_doc, unit in zip(doc.units, units, strict=True)
    ]
    return LoadOutcome(framework, doc.year, loaded)


async def find_unit(session: AsyncSession, ref: str, province: str | None) -> OrgUnit | None:
    """An org unit by id, code (MaDinhDanh), or slug in ``province``."""
    unit = await org_units.by_id_or_code(session, ref)
    if unit is None and province is not None:
        unit = await store.unit_by_slug(session, province, ref)
    return unit


async def _resolve_units(
    session: AsyncSession, doc: ResultsDocument, framework: IndexFramework
) -> tuple[list[OrgUnit], list[Fault]]:
    units: list[OrgUnit] = []
    faults: list[Fault] = []
    seen: set[uuid.UUID] = set()
    first, last = date(doc.year, 1, 1), date(doc.year, 12, 31)
    for i, item in enumerate(doc.units):
        loc = ("units", i, "unit")
        unit = await find_unit(session, item.unit, doc.province)
        if unit is None:
            faults.append((loc, f"unknown org unit {item.unit!r}"))
            continue
        if unit.level not in framework.unit_levels:
            levels = ", ".join(framework.unit_levels)
            faults.append((loc, f"{framework.code} assesses {levels} units, not a {unit.level}"))
        if not overlaps(unit.valid_from, unit.valid_to, first, last):
            faults.append((loc, f"org unit {unit.code} did not exist in {doc.year}"))
        if unit.id in seen:
            faults.append((loc, f"org unit {unit.code} appears twice"))
        seen.add(unit.id)
        units.append(unit)
    return units, faults


def _num(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _score_rows(item: UnitResultDoc) -> list[dict[str, Any]]:
    return [
        {
            "position": j,
            "component": s.component,
            "self_assessed": s.self_assessed,
            "appraised": s.appraised,
            "survey": s.survey,
            "score": s.score,
            "evidence": list(s.evidence),
            "note": s.note,
        }
        for j, s in enumerate(item.scores)
    ]


def _content(
    framework_id: uuid.UUID,
    total: Decimal | None,
    rank: int | None,
    rank_of: int | None,
    note: str | None,
    scores: list[dict[str, Any]],
) -> dict[str, Any]:
    """What a unit's result states, as compared between loads and kept in the audit trail."""
    return {
        "framework_id": str(framework_id),
        "published_total": _num(total),
        "published_rank": rank,
        "rank_of": rank_of,
        "note": note,
        "scores": [
            {
                "component": s["component"],
                **{p: _num(s[p]) for p in ("self_assessed", "appraised", "survey", "score")},
                "evidence": list(s["evidence"]),
                "note": s["note"],
            }
            for s in scores
        ],
    }


def stored_content(result: IndexUnitResult, scores: list[IndexScore]) -> dict[str, Any]:
    rows = [
        {
            c: getattr(s, c)
            for c in (
                "component",
                "self_assessed",
                "appraised",
                "survey",
                "score",
                "evidence",
                "note",
            )
        }
        for s in scores
    ]
    return _content(
        result.framework_id,
        result.published_total,
        result.published_rank,
        result.rank_of,
        result.note,
        rows,
    )


def _total(
    nodes: list[IndexNode], scores: list[IndexScore], published: Decimal | None
) -> Decimal | None:
    components = components_of(nodes)
    return total_of(components, effective_scores(components, parts_of(scores)), published).value


async def _apply_unit(
    session: AsyncSession,
    framework: IndexFramework,
    nodes: list[IndexNode],
    year: int,
    item: UnitResultDoc,
    unit: OrgUnit,
    actor: str,
) -> LoadedUnit:
    """Bring one unit's result to what the document states; unchanged, nothing is written."""
    rows = _score_rows(item)
    content = _content(framework.id, item.total, item.rank, item.rank_of, item.note, rows)
    existing = await store.result_of_unit(session, framework.code, year, unit.id)
    before: dict[str, Any] | None = None
    previous_total: Decimal | None = None
    if existing is not None:
        old_scores = (await store.scores_of(session, [existing.id]))[existing.id]
        before = stored_content(existing, old_scores)
        if before == content:
            return LoadedUnit(existing, unit, "unchanged")
        old_nodes = await store.nodes_of(session, existing.framework_id)
        previous_total = _total(old_nodes, old_scores, existing.published_total)
    result = existing or IndexUnitResult(
        id=uuid.uuid4(), framework_code=framework.code, year=year, org_unit_id=unit.id, revision=0
    )
    _set_fields(result, framework, unit, item, actor)
    if existing is None:
        session.add(result)
    await session.flush()
    await store.replace_scores(session, result.id, rows)
    changed = existing is not None
    audit.record(
        session,
        entity_type="index_result",
        entity_id=result.id,
        plan_id=None,
        action="changed" if changed else "loaded",
        actor=actor,
        before=before,
        after=content,
    )
    await _announce(session, framework, nodes, result, unit, previous_total, changed=changed)
    return LoadedUnit(result, unit, "changed" if changed else "created")


def _set_fields(
    result: IndexUnitResult,
    framework: IndexFramework,
    unit: OrgUnit,
    item: UnitResultDoc,
    actor: str,
) -> None:
    result.framework_id, result.level = framework.id, unit.level
    result.published_total, result.published_rank = item.total, item.rank
    result.rank_of, result.note, result.loaded_by = item.rank_of, item.note, actor
    result.revision += 1


async def _announce(
    session: AsyncSession,
    framework: IndexFramework,
    nodes: list[IndexNode],
    result: IndexUnitResult,
    unit: OrgUnit,
    previous_total: Decimal | None,
    *,
    changed: bool,
) -> None:
    scores = (await store.scores_of(session, [result.id]))[result.id]
    components = components_of(nodes)
    effective = effective_scores(components, parts_of(scores))
    event = results_event(
        framework=framework,
        result=result,
        unit=unit,
        components=components,
        scores=scores,
        effective=effective,
        total=total_of(components, effective, result.published_total),
        previous_total=previous_total,
        changed=changed,
    )
    await plan_events.publish(session, event)
