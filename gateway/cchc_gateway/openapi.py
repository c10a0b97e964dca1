"""One OpenAPI document for the whole API, merged from the services' own documents."""

from __future__ import annotations

import time
from typing import Any

import structlog

from cchc_gateway.proxy import Upstreams

_log = structlog.get_logger(__name__)
CACHE_SECONDS = 30.0


class CombinedOpenAPI:
    def __init__(self, upstreams: Upstreams, own: dict[str, Any]) -> None:
        self._upstreams = upstreams
        self._own = own
        self._cached: dict[str, Any] | None = None
        self._cached_at = 0.0

    async def document(self) -> dict[str, Any]:
        if self._cached is not None and time.monotonic() - self._cached_at < CACHE_SECONDS:
            return self._cached
        parts = [self._own]
        complete = True
        for name, base in self._upstreams.urls.items():
            try:
                async with self._upstreams.session.get(base + "/openapi.json") as resp:
                    resp.raise_for_status()
                    parts.append(await resp.json())
            except Exception as exc:  # a service down still leaves a document for the rest
                complete = False
                _log.warning("openapi of a service unavailable", service=name, error=repr(exc))
        merged = merge(parts)
        if complete:
            self._cached, self._cached_at = merged, time.monotonic()
        return merged


def merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The first document gives the header; paths, schemas and tags are unioned."""
    head = documents[0]
    merged: dict[str, Any] = {
        "openapi": head.get("openapi", "3.1.0"),
        "info": head["info"],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
    seen_tags: set[str] = set()
    for doc in documents:
        for path, item in doc.get("paths", {}).items():
            if path.startswith("/api/"):
                merged["paths"].setdefault(path, {}).update(item)
        components = doc.get("components", {})
        for kind in ("schemas", "securitySchemes"):
            for name, schema in components.get(kind, {}).items():
                merged["components"][kind].setdefault(name, schema)
        for tag in doc.get("tags", []):
            if tag["name"] not in seen_tags:
                seen_tags.add(tag["name"])
                merged["tags"].append(tag)
    if "security" in head:
        merged["security"] = head["security"]
    return merged
