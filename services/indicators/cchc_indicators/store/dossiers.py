"""Queries on ``dossier_state``: the version guard's memory, the rebuild's input, overdue lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, String, any_, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_indicators.domain.facts import (
    DossierFacts,
    finished_instant,
    in_timeliness_scope,
    received_instant,
)
from cchc_indicators.store.models import DossierState


@dataclass(frozen=True, slots=True)
class HeldDossier:
    version: int
    facts: DossierFacts | None


async def lock_dossiers(session: AsyncSession, codes: Sequence[str]) -> dict[str, HeldDossier]:
    """Lock the rows of these dossiers (creating empty ones first) and answer what we hold.

    A placeholder row (version 0, no facts) makes a dossier seen for the first time lockable
    too, so two transactions applying versions of one new dossier cannot both take it as new.
    """
    ordered = sorted(set(codes))
    await session.execute(
        pg_insert(DossierState)
        .values([{"dossier_code": c, "version": 0} for c in ordered])
        .on_conflict_do_nothing()
    )
    rows = await session.execute(
        select(DossierState.dossier_code, DossierState.version, DossierState.facts)
        .where(DossierState.dossier_code == any_(literal(ordered, type_=ARRAY(String))))
        .order_by(DossierState.dossier_code)
        .with_for_update()
    )
    return {
        code: HeldDossier(version, DossierFacts.model_validate(facts) if facts else None)
        for code, version, facts in rows
    }


def state_columns(facts: DossierFacts) -> dict[str, Any]:
    """The row of ``dossier_state`` for a version's facts."""
    finished = finished_instant(facts)
    received = received_instant(facts)
    return {
        "dossier_code": facts.dossier_code,
        "version": facts.version,
        "facts": facts.model_dump(mode="json"),
        "agency_code": facts.agency_code,
        "procedure_code": facts.procedure_code,
        "field_code": facts.field_code,
        "channel": facts.channel,
        "received_at": received,
        "finished_at": finished,
        "due_at": facts.due_at,
        "withdrawn": facts.withdrawn,
        "is_open": received is not None and in_timeliness_scope(facts) and finished is None,
    }


async def save_dossiers(session: AsyncSession, latest: Sequence[DossierFacts]) -> None:
    """Store the new latest versions (rows exist: ``lock_dossiers`` created them)."""
    for facts in sorted(latest, key=lambda f: f.dossier_code):
        values = state_columns(facts)
        code = values.pop("dossier_code")
        await session.execute(
            update(DossierState).where(DossierState.dossier_code == code).values(**values)
        )


@dataclass(frozen=True, slots=True)
class OpenDossierRow:
    dossier_code: str
    agency_code: str
    procedure_code: str
    received_at: datetime
    due_at: datetime | None
    facts: DossierFacts


async def open_dossiers_due_before(
    session: AsyncSession,
    *,
    before: datetime,
    agencies: Sequence[str] | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[OpenDossierRow]:
    """Open dossiers due before an instant, oldest due first, after a (due_at, code) cursor."""
    stmt = select(DossierState).where(DossierState.is_open, DossierState.due_at < before)
    if agencies is not None:
        stmt = stmt.where(DossierState.agency_code == any_(literal(list(agencies), ARRAY(String))))
    if after is not None:
        stmt = stmt.where(tuple_(DossierState.due_at, DossierState.dossier_code) > after)
    stmt = stmt.order_by(DossierState.due_at, DossierState.dossier_code).limit(limit)
    rows = (await session.execute(stmt)).scalars()
    return [
        OpenDossierRow(
            r.dossier_code,
            r.agency_code or "",
            r.procedure_code or "",
            r.received_at,  # type: ignore[arg-type]  # open rows are received
            r.due_at,
            DossierFacts.model_validate(r.facts),
        )
        for r in rows
    ]
