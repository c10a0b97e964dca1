"""Rules of tasks: overdue is derived, progress must agree with the status it reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cchc_plans.domain.catalogue import CLOSED_TASK_STATUSES


def is_overdue(
    *, due: date | None, status: str, withdrawn: bool, plan_status: str, today: date
) -> bool:
    """Past its due date (the due day itself is still in time) and neither done nor cancelled,
    in an issued plan."""
    return (
        due is not None
        and due < today
        and status not in CLOSED_TASK_STATUSES
        and not withdrawn
        and plan_status == "issued"
    )


@dataclass(frozen=True, slots=True)
class ProgressFault:
    field: str
    message: str


def progress_status(
    current: str, requested: str | None, percent: int
) -> tuple[str, list[ProgressFault]]:
    """The status a progress report leaves the task in, or the faults of the report."""
    status = requested or ("done" if percent == 100 else "in_progress" if percent > 0 else current)
    faults: list[ProgressFault] = []
    if status == "done" and percent != 100:
        faults.append(ProgressFault("percent_complete", "a done task is 100% complete"))
    if status == "not_started" and percent != 0:
        faults.append(ProgressFault("percent_complete", "a task not started is 0% complete"))
    return status, faults
