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
        parts: list[tuple[str, dict[str, Any]]] = [("gateway", self._own)]
        complete = True
        for name, base in self._upstreams.urls.items():
            try:
                async with self._upstreams.session.get(base + "/openapi.json") as resp:
                    resp.raise_for_status()
                    parts.append((name, await resp.json()))
            except Exception as exc:  # a service down still leaves a document for the rest
                complete = False
                _log.warning("openapi of a service unavailable", service=name, error=repr(exc))
        merged = with_gateway_responses(merge(parts))
        if complete:
            self._cached, self._cached_at = merged, time.monotonic()
        return merged


def merge(named_documents: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The first document gives the header; paths, schemas and tags are unioned. Two services
    may name different schemas alike (each has its own `Page`, `AuditOut`...): the later one is
    renamed `<service>_<name>` and its references follow, so no operation points at a stranger's
    schema."""
    head = named_documents[0][1]
    documents = [
        _rename_colliding_schemas(doc, name, named_documents[:i])
        for i, (name, doc) in enumerate(named_documents)
    ]
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


def _rename_colliding_schemas(
    document: dict[str, Any], service: str, earlier: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    taken: dict[str, Any] = {}
    for _, doc in earlier:
        for key, schema in doc.get("components", {}).get("schemas", {}).items():
            taken.setdefault(key, schema)
    schemas = document.get("components", {}).get("schemas", {})
    renames = {
        key: f"{service}_{key}"
        for key, schema in schemas.items()
        if key in taken and taken[key] != schema
    }
    if not renames:
        return document
    refs = {
        f"#/components/schemas/{old}": f"#/components/schemas/{new}" for old, new in renames.items()
    }
    renamed: dict[str, Any] = _rewrite_refs(document, refs)
    renamed["components"]["schemas"] = {
        renames.get(key, key): value for key, value in renamed["components"]["schemas"].items()
    }
    return renamed


def _rewrite_refs(node: Any, refs: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: refs.get(value, value)
            if key == "$ref" and isinstance(value, str)
            else _rewrite_refs(value, refs)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item, refs) for item in node]
    return node


GATEWAY_RESPONSES: dict[str, str] = {
    "429": "Too many requests from this client; see `Retry-After` (Quá nhiều yêu cầu)",
    "502": "The service behind cannot be reached (Dịch vụ không phản hồi)",
    "503": "Not ready; retry later (Chưa sẵn sàng)",
    "504": "The service behind did not answer in time (Quá thời gian chờ)",
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def with_gateway_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Add what the gateway itself may answer on every operation: rate limits, size limits,
    upstream failures, and 401 wherever a token is required."""
    from cchc_shared.errors import Problem

    document["components"]["schemas"].setdefault("Problem", Problem.model_json_schema())
    for item in document["paths"].values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            added = dict(GATEWAY_RESPONSES)
            if "requestBody" in operation:
                added["400"] = "The body cannot be parsed (Dữ liệu gửi không đọc được)"
                added["413"] = "The request body is too large (Dữ liệu gửi quá lớn)"
            if operation.get("security"):
                added["401"] = "No valid bearer token (Không có mã truy cập hợp lệ)"
            for status, description in added.items():
                responses.setdefault(status, _problem_response(description))
    return document


METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }
