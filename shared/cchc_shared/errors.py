"""RFC 9457 problem details for every error a CCHC service answers.

Validation errors name the field at fault as a path (``body.targets[2].value``) so a client can
point at it. No exception escapes as a bare 500 page: unknown errors become a problem document
too, logged with the request id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cchc_shared.responses import FastJSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = structlog.get_logger(__name__)


class FieldError(BaseModel):
    field: str = Field(description="Path of the field at fault, e.g. `body.targets[2].value`.")
    message: str = Field(description="What is wrong with it.")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Raise anywhere in a request to answer a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.problem = Problem(
            type=type_,
            title=title,
            status=status,
            detail=detail,
            errors=list(errors) if errors else None,
        )
        self.headers = headers


class NotFound(ProblemError):
    def __init__(self, what: str, key: object) -> None:
        super().__init__(404, "Not Found", f"{what} {key!s} does not exist.")


class Conflict(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(409, "Conflict", detail)


class ValidationFailed(ProblemError):
    """422 with every field at fault; domain validation raises this with all faults at once."""

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        n = len(errors)
        super().__init__(
            422,
            "Unprocessable Content",
            detail or f"{n} field{'s' if n != 1 else ''} failed validation.",
            errors=errors,
        )


def field_path(loc: Sequence[str | int]) -> str:
    """('body', 'targets', 2, 'value') -> 'body.targets[2].value'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> FastJSONResponse:
    return FastJSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    errors: list[FieldError] = []
    for err in exc.errors():
        loc: list[Any] = list(err.get("loc", ()))
        # pydantic appends the union member / validator name; it means nothing to a client.
        loc = [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
        errors.append(
            FieldError(field=field_path(loc) or "body", message=str(err.get("msg", "invalid")))
        )
    return errors


async def _on_problem(_: Request, exc: Exception) -> FastJSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.problem, exc.headers)


async def _on_validation(_: Request, exc: Exception) -> FastJSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    return problem_response(ValidationFailed(errors).problem)


async def _on_http(request: Request, exc: Exception) -> FastJSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    from http import HTTPStatus

    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        allowed = _documented_methods(request)
        if allowed:
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return problem_response(Problem(title=title, status=exc.status_code, detail=detail), headers)


def _documented_methods(request: Request) -> list[str]:
    """Every method the app documents for the request's path. Starlette's own `Allow` names only
    the first route matching the path, and FastAPI makes one route per method."""
    import re

    paths = request.app.openapi().get("paths", {}) if hasattr(request.app, "openapi") else {}
    path = request.url.path
    # A literal path wins over templates it also matches (`/frameworks/import` is not
    # `/frameworks/{framework_id}`), as in the routing itself.
    if path in paths:
        matching = [paths[path]]
    else:
        matching = [
            item
            for template, item in paths.items()
            if re.match("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$", path)
        ]
    methods = {m.upper() for item in matching for m in item if m in _HTTP_METHODS}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


async def _on_integrity(_: Request, exc: Exception) -> FastJSONResponse:
    # A constraint the database checked at write or commit time: a conflict with stored data
    # (often a concurrent write), never a server fault.
    _log.info("integrity error", error=str(exc.__cause__ or exc)[:500])
    return problem_response(
        Problem(title="Conflict", status=409, detail="The change conflicts with stored data.")
    )


async def _on_unexpected(request: Request, exc: Exception) -> FastJSONResponse:
    _log.exception("unhandled error", path=request.url.path, exc_info=exc)
    return problem_response(
        Problem(title="Internal Server Error", status=500, detail="An unexpected error occurred.")
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(IntegrityError, _on_integrity)
    app.add_exception_handler(Exception, _on_unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": desc}
    for status, desc in ((404, "Not found"), (409, "Conflict"), (422, "Validation failed"))
}
"""Pass as ``responses=`` to a router so the OpenAPI document shows the problem shape."""
