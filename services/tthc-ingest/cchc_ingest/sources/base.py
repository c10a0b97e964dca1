"""What the ingest needs from a one-stop system, whoever built it.

A vendor is supported by an adapter implementing :class:`DossierSource`: it fetches pages of raw
records and maps each onto the canonical :class:`~cchc_ingest.domain.dossier.Dossier` (and the
catalogue records onto :mod:`cchc_ingest.domain.catalogue`). Everything after that is shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from cchc_ingest.domain.catalogue import Agency, Procedure
from cchc_ingest.domain.dossier import Dossier, PiiHasher


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of the dossier change feed, raw records as the source sent them."""

    records: Sequence[object]
    next_cursor: str | None
    more: bool


@dataclass(frozen=True, slots=True)
class DailyCount:
    """The source's own count for one local day and agency (for reconciliation)."""

    day: date
    agency_code: str
    received: int
    updated: int


class DossierSource(Protocol):
    name: str

    async def changes(self, since: datetime, cursor: str | None, limit: int) -> FeedPage:
        """Records changed at or after ``since`` (continuing ``cursor`` if given), oldest first."""
        ...

    async def dossier(self, code: str) -> object | None:
        """The latest raw record of one dossier; None if the source does not know it."""
        ...

    async def daily_counts(self, first: date, last: date) -> Sequence[DailyCount]: ...

    async def procedures(self) -> Sequence[object]:
        """Every raw record of the procedure catalogue."""
        ...

    async def agencies(self) -> Sequence[object]:
        """Every raw agency record."""
        ...

    def parse_dossier(self, raw: object, hasher: PiiHasher) -> Dossier: ...

    def parse_procedure(self, raw: object) -> Procedure: ...

    def parse_agency(self, raw: object) -> Agency: ...

    async def aclose(self) -> None: ...
