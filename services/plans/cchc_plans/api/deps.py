"""What every endpoint may ask for: who acts, with which rights, and list paging."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from cchc_plans.domain.documents import NO_NUL, SLUG
from cchc_shared.auth import Principal, Role, require_roles, require_unscoped_roles


def actor_of(principal: Principal) -> str:
    """Who makes a change, for the audit trail and `reported_by`: the one place that knows.

    The verified principal's subject (a person's login or a system's client id)."""
    return principal.subject[:200]


Planner = Annotated[Principal, Depends(require_roles(Role.PLANNER))]
"""Writes org units (Sở Nội vụ); one limited to an org unit, within its subtree only."""
PlanWriter = Annotated[Principal, Depends(require_unscoped_roles(Role.PLANNER))]
"""Writes the province's documents: plans, targets, tasks, index frameworks, results and links.
A planner limited to an org unit does not: a plan document spans the province."""
Reporter = Annotated[Principal, Depends(require_roles(Role.PLANNER, Role.AGENCY_OFFICER))]
"""Reports progress and figures (an agency officer, within its org unit's subtree)."""

Limit = Annotated[int, Query(ge=1, le=500, description="Items per page (default 50, max 500).")]
Cursor = Annotated[
    str | None,
    Query(max_length=1000, description="Opaque cursor of the next page, from `next_cursor`."),
]
Reason = Annotated[
    str | None,
    Query(
        max_length=2000,
        pattern=NO_NUL,
        description="Why: required to amend an issued plan "
        "(lý do điều chỉnh kế hoạch đã ban hành).",
    ),
]
ProvinceFilter = Annotated[
    str | None,
    Query(max_length=64, pattern=SLUG, description="Province, by its slug (`kon-tum`)."),
]
"""A province as documents name it. Free text reached the database, which cannot hold a NUL
(a 500 where the client needs a 422 naming the parameter)."""
