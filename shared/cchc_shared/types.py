"""Value types shared by the services' APIs."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
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


def utc_instant(moment: datetime) -> datetime:
    """An aware instant in UTC; ValueError when it lies outside years 1-9999 there.

    ``0001-01-01T00:00:00+01:00`` (a .NET "no date" with an offset) is in year 0 in UTC, which
    neither Python nor the database driver can hold: ``astimezone`` raises OverflowError, which
    no validator turns into a 422 and no quarantine into a reason."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant lies outside the years 1 to 9999 in UTC") from None
