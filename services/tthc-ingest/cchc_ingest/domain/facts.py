"""The derived facts of ``shared/domain/indicators.md``, computed once here, at ingest.

They travel in ``dossier.changed`` events (``docs/events.md``) as JSON-ready dictionaries, which
is also how they are stored beside each dossier, so the "before" of the next event is read back
as is.
"""

from __future__ import annotations

from typing import TypedDict

from cchc_ingest.domain.dossier import Dossier
from cchc_ingest.domain.instants import iso_utc

NOT_RECEIVED_STATUSES = frozenset({1, 3})  # mới đăng ký, không được tiếp nhận
WITHDRAWN_STATUS = 7  # công dân rút
FINISHED_STATUSES = frozenset({8, 9, 10})  # dừng xử lý, đã xử lý xong, đã trả kết quả
PAID_ONLINE = frozenset({1, 2})  # national portal, the province's gateway


class DossierFacts(TypedDict):
    dossier_code: str
    version: int
    updated_at: str
    agency_code: str
    procedure_code: str
    field_code: str | None
    status: int
    received: bool
    received_at: str | None
    withdrawn: bool
    finished: bool
    finished_at: str | None
    due_at_original: str | None
    due_at: str | None
    supplement_rounds: int
    supplement_requested_at: str | None
    supplement_completed_at: str | None
    channel: str
    applicant_type: int | None
    has_fee: bool
    paid_online: bool
    digitized: bool
    e_certified: bool
    synced: bool
    rating: int | None
    rated_at: str | None


def derive_facts(d: Dossier) -> DossierFacts:
    """The facts of one dossier version."""
    single = d.supplements[0] if len(d.supplements) == 1 else None
    due_at = d.due_at
    if (
        due_at is not None
        and single is not None
        and single.requested_at is not None
        and single.completed_at is not None
    ):
        # One completed round: the clock stopped while the citizen completed the dossier.
        due_at = due_at + (single.completed_at - single.requested_at)
    return {
        "dossier_code": d.code,
        "version": d.version,
        "updated_at": iso_utc(d.updated_at) or "",
        "agency_code": d.agency_code,
        "procedure_code": d.procedure_code,
        "field_code": d.field_code,
        "status": d.status,
        "received": d.received_at is not None and d.status not in NOT_RECEIVED_STATUSES,
        "received_at": iso_utc(d.received_at),
        "withdrawn": d.status == WITHDRAWN_STATUS,
        "finished": d.status in FINISHED_STATUSES,
        "finished_at": iso_utc(d.finished_at),
        "due_at_original": iso_utc(d.due_at),
        "due_at": iso_utc(due_at),
        "supplement_rounds": len(d.supplements),
        "supplement_requested_at": iso_utc(single.requested_at) if single else None,
        "supplement_completed_at": iso_utc(single.completed_at) if single else None,
        "channel": d.channel.value,
        "applicant_type": d.applicant_type,
        "has_fee": any(fee.amount > 0 for fee in d.fees),
        "paid_online": d.online_payment in PAID_ONLINE,
        "digitized": d.has_digitized_components or any(doc.digitized for doc in d.documents),
        "e_certified": d.e_certified,
        "synced": d.synced,
        "rating": d.rating.level if d.rating else None,
        "rated_at": iso_utc(d.rating.rated_at) if d.rating else None,
    }
