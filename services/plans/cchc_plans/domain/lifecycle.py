"""A plan's lifecycle: draft → issued → closed.

A draft changes freely; an issued plan changes only by an amendment, which must give a reason;
a closed plan never changes again.
"""

from __future__ import annotations

from typing import Final

from cchc_plans.domain.catalogue import PlanStatus

_NEXT: Final[dict[str, frozenset[str]]] = {
    "draft": frozenset({"issued"}),
    "issued": frozenset({"closed"}),
    "closed": frozenset(),
}


class LifecycleError(Exception):
    """A change the plan's status does not allow (answered as 409 Conflict)."""


def check_transition(current: PlanStatus | str, requested: PlanStatus | str) -> None:
    if requested != current and requested not in _NEXT[current]:
        allowed = ", ".join(sorted(_NEXT[current])) or "nothing"
        raise LifecycleError(f"a {current} plan cannot become {requested} (allowed: {allowed})")


def check_content_change(status: PlanStatus | str, amendment_reason: str | None) -> None:
    """Raise unless the plan's content may change in its status."""
    if status == "closed":
        raise LifecycleError("the plan is closed; it cannot change")
    if status == "issued" and not (amendment_reason and amendment_reason.strip()):
        raise LifecycleError(
            "the plan is issued; it changes only by an amendment with a reason (`amendment_reason`)"
        )
