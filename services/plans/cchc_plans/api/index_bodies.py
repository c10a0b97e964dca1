"""Reading an index file from a request: CSV (results), YAML or JSON, bounded in size."""

from __future__ import annotations

import csv

from fastapi import Request

from cchc_plans.api.bodies import MAX_BYTES, read_document
from cchc_plans.domain.index_results import CsvFault, csv_document
from cchc_plans.service.index_results import Relocate, in_body
from cchc_shared.errors import FieldError, ProblemError, ValidationFailed, field_path

CSV_TYPES = frozenset({"text/csv", "application/csv"})


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


async def read_index_file(request: Request, *, csv_allowed: bool) -> tuple[object, Relocate]:
    """The parsed body and how its faults' paths map back to it; 413, 415 or 422 problems for
    what cannot be read."""
    if csv_allowed and media_type(request) in CSV_TYPES:
        return await _read_csv(request)
    try:
        return await read_document(request), in_body
    except ProblemError as exc:
        if exc.problem.status != 415:
            raise
        kinds = "text/csv, application/yaml or application/json"
        raise ProblemError(
            415,
            "Unsupported Media Type",
            f"send {kinds if csv_allowed else 'application/yaml or application/json'}",
        ) from exc


async def _read_csv(request: Request) -> tuple[object, Relocate]:
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > MAX_BYTES:
            raise ProblemError(413, "Content Too Large", f"a file is at most {MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")  # spreadsheets often start UTF-8 files with a BOM
    except UnicodeDecodeError as exc:
        raise _invalid("body", f"the file is not UTF-8: {exc}") from exc
    try:
        document = csv_document(text)
    except CsvFault as exc:
        raise ValidationFailed(
            [FieldError(field=field_path(("body", *loc)), message=m) for loc, m in exc.faults]
        ) from exc
    except csv.Error as exc:
        raise _invalid("body", f"not valid CSV: {exc}") from exc
    return document.raw, document.relocate


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field=field, message=message)])
