"""Reading a plan document from a request: YAML or JSON, bounded in size and depth."""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from fastapi import Request

from cchc_shared.errors import FieldError, ProblemError, ValidationFailed

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases (a few aliases can expand into billions of nodes), and
    with dates left as text: the document's validation parses them and names a bad one's path
    (`2023-02-30` would otherwise fail the whole parse)."""

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML reads it per class
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases are not accepted in plan documents", event.start_mark
            )
        return super().compose_node(parent, index)


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field="body", message=message)])


async def read_document(request: Request) -> Any:
    """The parsed body; 413, 415 or 422 problems for what cannot be a plan document."""
    media_type = (
        request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    )
    is_yaml = media_type in YAML_TYPES
    if not is_yaml and media_type != "application/json" and not media_type.endswith("+json"):
        raise ProblemError(
            415,
            "Unsupported Media Type",
            "send the plan as application/yaml or application/json",
        )
    raw = await _bounded_body(request)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(f"the body is not UTF-8: {exc}") from exc
    document = _parse_yaml(text) if is_yaml else _parse_json(raw)
    if _depth(document) > MAX_DEPTH:
        raise _invalid(f"the document nests deeper than {MAX_DEPTH} levels")
    return document


async def _bounded_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            raise ProblemError(
                413, "Content Too Large", f"a plan document is at most {MAX_BYTES} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _invalid(f"not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise _invalid("the document nests too deeply") from exc
    except (ValueError, TypeError) as exc:  # a constructor's complaint, e.g. a bad !!binary
        raise _invalid(f"not valid YAML: {exc}") from exc


def _parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _invalid(f"not valid JSON: {exc}") from exc


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk could itself overflow)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest
