"""Org units over time: a unit is valid from ``valid_from`` to ``valid_to`` (inclusive, null =
open-ended); a tree "at" a day holds the units valid that day."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cchc_plans.domain.catalogue import Level

PROVINCE_ROOT_SLUG = "ubnd-tinh"


class UnitSpec(BaseModel):
    """One unit of a tree file (shared/cchc_shared/reference/kontum_org_units.yaml's form)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str = Field(min_length=1, max_length=64)
    slug: str | None = None
    name: str = Field(min_length=1)
    level: Level
    parent: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    successor: str | None = None
    province: str | None = None


def valid_on(valid_from: date | None, valid_to: date | None, day: date) -> bool:
    return (valid_from is None or valid_from <= day) and (valid_to is None or day <= valid_to)


def overlaps(valid_from: date | None, valid_to: date | None, start: date, end: date) -> bool:
    return (valid_from is None or valid_from <= end) and (valid_to is None or start <= valid_to)


def tree_units(tree: dict[str, Any]) -> list[UnitSpec]:
    """The units of a tree file, each with its province key.

    A file names one province (``province: kon-tum``); a unit belongs to the province of its
    root. A root other than the file's own ``ubnd-tinh`` is a successor province (Quảng Ngãi in
    the Kon Tum file, slug ``ubnd-tinh-quang-ngai``): its key is its slug without ``ubnd-tinh-``.
    """
    units = [UnitSpec.model_validate(u) for u in tree["units"]]
    by_code = {u.code: u for u in units}

    def root_province(unit: UnitSpec) -> str:
        seen: set[str] = set()
        while unit.parent and unit.parent in by_code and unit.code not in seen:
            seen.add(unit.code)
            unit = by_code[unit.parent]
        if unit.province:
            return unit.province
        slug = unit.slug or ""
        if slug.startswith(PROVINCE_ROOT_SLUG + "-"):
            return slug.removeprefix(PROVINCE_ROOT_SLUG + "-")
        return str(tree["province"])

    return [u.model_copy(update={"province": u.province or root_province(u)}) for u in units]
