"""Value types shared by the services' APIs."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BeforeValidator

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def iso_date_only(raw: object) -> object:
    """A date as the schema says it (`YYYY-MM-DD`), not a number of seconds since 1970, which
    pydantic's lax date validator would take."""
    if isinstance(raw, date) or (isinstance(raw, str) and ISO_DATE.match(raw)):
        return raw
    raise ValueError("expected a date as YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(iso_date_only)]
"""A `date` that accepts only `YYYY-MM-DD` (or a date object), in bodies and query strings."""
