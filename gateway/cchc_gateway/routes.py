"""Which service answers which public path. Longest match wins; paths are forwarded unchanged."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    service: str


def _prefix(prefix: str, service: str) -> Route:
    return Route(re.compile(rf"^{re.escape(prefix)}(?:/|$)"), service)


ROUTES: tuple[Route, ...] = (
    # The IOC tile set lives with the indicators although it hangs under an org unit.
    Route(re.compile(r"^/api/v1/org-units/[^/]+/overview/?$"), "indicators"),
    _prefix("/api/v1/org-units", "plans"),
    _prefix("/api/v1/plans", "plans"),
    _prefix("/api/v1/tasks", "plans"),
    _prefix("/api/v1/targets", "plans"),
    _prefix("/api/v1/indices", "plans"),
    _prefix("/api/v1/indicators", "indicators"),
    _prefix("/api/v1/scorecards", "indicators"),
    _prefix("/api/v1/catalog", "indicators"),
    _prefix("/api/v1/scores", "indicators"),
    _prefix("/api/v1/dossiers", "indicators"),
    _prefix("/api/v1/ingest", "ingest"),
)


def service_for(path: str) -> str | None:
    for route in ROUTES:
        if route.pattern.match(path):
            return route.service
    return None
