"""Index frameworks: the shipped files loaded at start, and versions loaded through the API.

A framework version is identified by its code and version. Loading the same document again
changes nothing; a changed document (a province filling in the official maximum scores) replaces
the version's nodes, with an audit entry. Results name components by code, so they stay attached.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import structlog
import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.domain.documents import Fault, Loc, normalize_text
from cchc_plans.domain.index_frameworks import (
    FrameworkDocument,
    covers_year,
    flatten,
    framework_faults,
)
from cchc_plans.store import audit
from cchc_plans.store import indices as store
from cchc_plans.store.models import IndexFramework
from cchc_shared.errors import FieldError, ValidationFailed, field_path

_log = structlog.get_logger(__name__)
FRAMEWORKS_PACKAGE = "cchc_plans.indices.frameworks"
Outcome = Literal["created", "updated", "unchanged"]


@dataclass
class FrameworkOutcome:
    framework: IndexFramework
    result: Outcome


def pydantic_faults(exc: ValidationError) -> list[Fault]:
    return [
        (
            tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))),
            e["msg"],
        )
        for e in exc.errors()
    ]


def failed(faults: list[Fault], prefix: Loc = ("body",)) -> ValidationFailed:
    return ValidationFailed(
        [FieldError(field=field_path((*prefix, *loc)), message=m) for loc, m in faults]
    )


def validate_framework(raw: object) -> FrameworkDocument:
    """The document, or ValidationFailed with every fault and its path."""
    raw = normalize_text(raw)
    if not isinstance(raw, dict):
        raise failed([((), "expected a framework document")])
    try:
        doc = FrameworkDocument.model_validate(raw)
    except ValidationError as exc:
        raise failed(pydantic_faults(exc)) from exc
    faults = framework_faults(doc)
    if faults:
        raise failed(faults)
    return doc


def _document(doc: FrameworkDocument) -> dict[str, Any]:
    return doc.model_dump(mode="json", exclude_none=True)


def _node_rows(doc: FrameworkDocument) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "code": n.code,
            "parent_code": n.parent_code,
            "position": n.position,
            "depth": n.depth,
            "name": n.name,
            "name_en": n.name_en,
            "max_score": n.max_score,
            "scoring": n.scoring,
            "note": n.note,
        }
        for n in flatten(doc)
    ]


def _header(doc: FrameworkDocument) -> dict[str, Any]:
    return {
        "name": doc.name,
        "valid_from_year": doc.valid_from_year,
        "valid_to_year": doc.valid_to_year,
        "unit_levels": list(dict.fromkeys(doc.unit_levels)),
        "max_score": doc.max_score,
        "document": _document(doc),
    }


async def load_framework(
    session: AsyncSession, doc: FrameworkDocument, *, actor: str, source: str = "api"
) -> FrameworkOutcome:
    await store.lock(session, f"framework:{doc.code}:{doc.version}")
    existing = await store.framework_version(session, doc.code, doc.version)
    if existing is None:
        row = IndexFramework(
            id=uuid.uuid4(), code=doc.code, version=doc.version, source=source, revision=1
        )
        for name, value in _header(doc).items():
            setattr(row, name, value)
        session.add(row)
        await session.flush()
        await store.replace_nodes(session, row.id, _node_rows(doc))
        _audit(session, row, "created", actor, None)
        return FrameworkOutcome(row, "created")
    if existing.document == _document(doc):
        return FrameworkOutcome(existing, "unchanged")
    before = existing.document
    for name, value in _header(doc).items():
        setattr(existing, name, value)
    existing.source, existing.revision = source, existing.revision + 1
    await store.replace_nodes(session, existing.id, _node_rows(doc))
    await session.flush()
    _audit(session, existing, "updated", actor, before)
    return FrameworkOutcome(existing, "updated")


def _audit(
    session: AsyncSession,
    row: IndexFramework,
    action: str,
    actor: str,
    before: dict[str, Any] | None,
) -> None:
    audit.record(
        session,
        entity_type="index_framework",
        entity_id=row.id,
        plan_id=None,
        action=action,
        actor=actor,
        before=before,
        after=row.document,
    )


def shipped_documents() -> list[dict[str, Any]]:
    """The framework files shipped in ``cchc_plans/indices/frameworks/``."""
    package = resources.files(FRAMEWORKS_PACKAGE)
    files = sorted((f for f in package.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    return [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]


async def seed_frameworks(session: AsyncSession) -> int:
    """Add the shipped framework versions we lack; never overwrite one we hold (a province may
    have loaded the official maximum scores into it). Answers how many were added."""
    await store.lock(session, "seed-frameworks")
    held = await store.shipped_keys(session)
    added = 0
    for raw in shipped_documents():
        doc = validate_framework(raw)
        if (doc.code, doc.version) not in held:
            await load_framework(session, doc, actor="system", source="shipped")
            added += 1
    if added:
        _log.info("index frameworks loaded", added=added)
    return added


def pick_version(versions: list[IndexFramework], year: int) -> list[IndexFramework]:
    """The versions valid in ``year``, the most specific first (latest first year; an open
    start counts as the earliest)."""
    covering = [v for v in versions if covers_year(v.valid_from_year, v.valid_to_year, year)]
    return sorted(covering, key=lambda v: -(v.valid_from_year or 0))


async def framework_for_year(
    session: AsyncSession, code: str, version: str | None, year: int
) -> tuple[IndexFramework | None, list[Fault]]:
    """The framework version results of ``year`` are scored on, or the faults why none."""
    versions = await store.versions_of(session, code)
    if not versions:
        return None, [(("framework",), f"no framework {code!r} is loaded")]
    if version is not None:
        match = next((v for v in versions if v.version == version), None)
        if match is None:
            known = ", ".join(v.version for v in versions)
            return None, [(("version",), f"{code} has no version {version!r} (it has: {known})")]
        if not covers_year(match.valid_from_year, match.valid_to_year, year):
            return None, [(("year",), f"{code} {version} does not apply to {year}")]
        return match, []
    candidates = pick_version(versions, year)
    if not candidates:
        return None, [(("year",), f"no version of {code} applies to {year}")]
    if len(candidates) > 1 and candidates[0].valid_from_year == candidates[1].valid_from_year:
        names = ", ".join(v.version for v in candidates)
        return None, [(("version",), f"several versions of {code} apply to {year}: {names}")]
    return candidates[0], []
