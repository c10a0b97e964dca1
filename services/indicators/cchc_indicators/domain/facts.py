"""Dossier facts, and the per-dossier rules of ``shared/domain/indicators.md``.

``DossierFacts`` is the payload of ``vn.cchc.ingest.dossier.changed`` (``docs/events.md``): ingest
derives it from the one-stop record, so this service never sees raw dossiers. The functions below
are the definitions of indicators.md written as code, one dossier at a time. Both the brute-force
reference (``reference.py``) and the incremental aggregates (``aggregates.py``) rest on them.

Judging a dossier "at instant T"
    indicators.md says: open at T when received at or before T and not finished at or before T.
    We judge the state *as T arrives*: an event stamped strictly before T has happened, one
    stamped exactly at T has not yet (it belongs to what comes after T). Only an event falling
    exactly on T is judged differently from the literal text, and the reason is periods: they
    are half-open, so a dossier finished at 00:00:00 on 1 April is finished *in April*. Judged
    literally at March's end (T = 1 April 00:00) it would be neither finished in March nor open
    at March's end, and would drop out of March's on-time denominator altogether. With "strictly
    before T", every dossier in the scope of ``DOSSIER_ON_TIME_RATE`` is either finished in the
    period or open at its end, never both, never neither. The in-time test itself stays literal:
    a dossier is still in time at its due instant (``T ≤ due_at``).

Choices where indicators.md is silent (each one repeated where it is coded)
    - ``received`` needs ``received_at``: a dossier flagged received without a receipt instant
      cannot be placed in any period, so it counts nowhere.
    - A finished dossier without ``finished_at`` is taken as finished at ``updated_at`` (the
      version that recorded the finish); a finish stamped before the receipt is taken as finished
      at the receipt (processing time 0, never negative).
    - A dossier without ``due_at`` has no deadline: on time when finished, in time while open,
      unless it had two or more supplement rounds (late / overdue, the portal's rule).
    - A rating counts only with both ``rating`` and ``rated_at``.
    - Withdrawn dossiers still count as received (and in every "received in period" rate); they
      are left out of every timeliness figure (on time, late, overdue, processing time).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from cchc_shared.types import utc_instant

from .periods import local_date

Channel = Literal["in_person", "online", "postal"]


UtcInstant = Annotated[AwareDatetime, AfterValidator(utc_instant)]
"""An instant with a UTC offset (a naive time is rejected), normalised to UTC."""


class DossierFacts(BaseModel):
    """The facts of one dossier version, exactly as ``docs/events.md`` lists them."""

    model_config = ConfigDict(frozen=True)

    dossier_code: str
    version: int
    updated_at: UtcInstant
    agency_code: str
    procedure_code: str
    field_code: str | None = None
    status: int = Field(ge=1, le=10)
    received: bool
    received_at: UtcInstant | None = None
    withdrawn: bool
    finished: bool
    finished_at: UtcInstant | None = None
    due_at_original: UtcInstant | None = None
    due_at: UtcInstant | None = None
    supplement_rounds: int = Field(default=0, ge=0)
    supplement_requested_at: UtcInstant | None = None
    supplement_completed_at: UtcInstant | None = None
    channel: Channel
    applicant_type: int | None = None
    has_fee: bool
    paid_online: bool
    digitized: bool
    e_certified: bool
    synced: bool
    rating: int | None = Field(default=None, ge=1, le=5)
    rated_at: UtcInstant | None = None


class Timeliness(StrEnum):
    """How a finished dossier met its deadline."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class OpenStatus(StrEnum):
    """How an open dossier stands against its deadline at an instant."""

    IN_TIME = "in_time"
    OVERDUE = "overdue"


class Breakdown(StrEnum):
    """Dossier attributes a figure can be broken down by (one row per value)."""

    AGENCY = "agency"
    PROCEDURE = "procedure"
    FIELD = "field"
    CHANNEL = "channel"


def breakdown_value(facts: DossierFacts, by: Breakdown) -> str | None:
    """The group a dossier falls in; None only for a dossier without a field."""
    if by is Breakdown.AGENCY:
        return facts.agency_code
    if by is Breakdown.PROCEDURE:
        return facts.procedure_code
    if by is Breakdown.FIELD:
        return facts.field_code
    return facts.channel


def is_received(facts: DossierFacts) -> bool:
    """Received per indicators.md; only received dossiers count anywhere.

    The receipt instant is part of the definition (``NgayTiepNhan`` present), so a dossier flagged
    received without one is not received.
    """
    return facts.received and facts.received_at is not None


def in_timeliness_scope(facts: DossierFacts) -> bool:
    """Received and not withdrawn: withdrawn dossiers are left out of every timeliness figure."""
    return is_received(facts) and not facts.withdrawn


def received_instant(facts: DossierFacts) -> datetime | None:
    return facts.received_at if is_received(facts) else None


def finished_instant(facts: DossierFacts) -> datetime | None:
    """When a received dossier finished, or None while it is open.

    Without ``finished_at`` we take ``updated_at``, the version that recorded the finish, rather
    than lose the dossier. A finish stamped before the receipt (a source error) is moved to the
    receipt, so that a dossier is never finished before it exists and its processing time is
    never negative.
    """
    received = received_instant(facts)
    if not facts.finished or received is None:
        return None
    stamped = facts.finished_at if facts.finished_at is not None else facts.updated_at
    return max(stamped, received)


def processing_time(facts: DossierFacts) -> timedelta | None:
    """``finished_at − received_at`` of a finished dossier in the timeliness scope."""
    finished = finished_instant(facts)
    if finished is None or facts.received_at is None or not in_timeliness_scope(facts):
        return None
    return finished - facts.received_at


def timeliness(facts: DossierFacts) -> Timeliness | None:
    """Early / on time / late for a finished dossier in the timeliness scope, else None.

    Early compares *local* dates: finishing at 16:00 on the due date is on time, not early.
    """
    finished = finished_instant(facts)
    if finished is None or not in_timeliness_scope(facts):
        return None
    if facts.supplement_rounds >= 2:
        return Timeliness.LATE  # the portal's rule for two or more supplement rounds
    if facts.due_at is None:
        return Timeliness.ON_TIME  # no deadline: it cannot be late
    if local_date(finished) < local_date(facts.due_at):
        return Timeliness.EARLY
    return Timeliness.ON_TIME if finished <= facts.due_at else Timeliness.LATE


def is_open_at(facts: DossierFacts, instant: datetime) -> bool:
    """Received before ``instant`` and not finished before it (see "at instant T" above)."""
    received = received_instant(facts)
    if received is None or received >= instant:
        return False
    finished = finished_instant(facts)
    return finished is None or finished >= instant


def is_waiting_for_citizen_at(facts: DossierFacts, instant: datetime) -> bool:
    """The only supplement round was requested before ``instant`` and not yet answered.

    While waiting, the clock stops: the dossier stays in time whatever its due date.
    """
    requested = facts.supplement_requested_at
    if facts.supplement_rounds != 1 or requested is None or requested >= instant:
        return False
    completed = facts.supplement_completed_at
    return completed is None or completed >= instant


def open_status_at(facts: DossierFacts, instant: datetime) -> OpenStatus | None:
    """In time / overdue for a dossier open at ``instant`` and in the timeliness scope."""
    if not in_timeliness_scope(facts) or not is_open_at(facts, instant):
        return None
    if facts.supplement_rounds >= 2:
        return OpenStatus.OVERDUE  # the portal's rule, whatever the dates
    if facts.due_at is None or instant <= facts.due_at:
        return OpenStatus.IN_TIME
    if is_waiting_for_citizen_at(facts, instant):
        return OpenStatus.IN_TIME
    return OpenStatus.OVERDUE


def rating_instant(facts: DossierFacts) -> datetime | None:
    """When a received dossier was rated; None unless both the rating and its date are known."""
    if not is_received(facts) or facts.rating is None:
        return None
    return facts.rated_at


def is_satisfied(facts: DossierFacts) -> bool:
    """Rated 4 (hài lòng) or 5 (rất hài lòng)."""
    return facts.rating is not None and facts.rating >= 4


def is_rated_1_or_2(facts: DossierFacts) -> bool:
    """Rated 1 or 2 (không hài lòng): the QĐ 766 satisfaction score (5.4) subtracts their share."""
    return facts.rating is not None and facts.rating <= 2
