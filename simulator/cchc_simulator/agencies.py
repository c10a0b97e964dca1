"""The agency tree the one-stop system serves (LayDanhMucCoQuan).

The shared Kon Tum reference tree (province, departments, districts, and Quảng Ngãi's units after
the 2025-07-01 merger) plus the generated communes. Dossiers are received by the unit in force on
the day, so this module also answers "who handles this on that day": it follows successors
(``MaCoQuanKeThua``) past mergers, and sends a district's work after the district level ended to
the merged communes that took over its ground.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from cchc_shared.reference import kontum_org_units
from cchc_simulator.communes import DISTRICT_WEIGHT, MERGED_COMMUNES, OLD_COMMUNES
from cchc_simulator.timeutil import day_number

LEVEL_TO_CAP = {"province": "TINH", "department": "SO", "district": "HUYEN", "commune": "XA"}
NEW_PROVINCE = "000.00.00.H45"
MERGER_DAY = date(2025, 7, 1)


@dataclass(frozen=True, slots=True)
class Agency:
    code: str
    name: str
    cap: str  # TINH, SO, HUYEN or XA
    parent: str | None
    valid_from: date
    valid_to: date | None
    successor: str | None

    def in_force_on(self, day: int) -> bool:
        return day_number(self.valid_from) <= day and (
            self.valid_to is None or day <= day_number(self.valid_to)
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "MaDinhDanh": self.code,
            "TenCoQuan": self.name,
            "Cap": self.cap,
            "MaCoQuanCha": self.parent,
            "HieuLucTu": self.valid_from.strftime("%Y%m%d"),
            "HieuLucDen": self.valid_to.strftime("%Y%m%d") if self.valid_to else None,
            "MaCoQuanKeThua": self.successor,
        }


class AgencyTree:
    """All agencies, in a stable order, with the lookups the dossier generator needs."""

    def __init__(self, agencies: Sequence[Agency]) -> None:
        self.agencies: tuple[Agency, ...] = tuple(agencies)
        self.index_by_code = {a.code: i for i, a in enumerate(self.agencies)}
        self.districts = tuple(a.code for a in self.agencies if a.cap == "HUYEN")
        self.district_weights = tuple(DISTRICT_WEIGHT[district_digit(c)] for c in self.districts)
        self.communes_of_district = {
            d: tuple(a.code for a in self.agencies if a.cap == "XA" and a.parent == d)
            for d in self.districts
        }
        self.merged_communes_of_district = {
            d: tuple(
                a.code
                for a in self.agencies
                if a.cap == "XA" and a.code.startswith(f"000.5{district_digit(d)}.")
            )
            for d in self.districts
        }
        self._candidates: dict[tuple[str, int], tuple[int, ...]] = {}

    def get(self, code: str) -> Agency:
        return self.agencies[self.index_by_code[code]]

    def receiving_unit(self, code: str, day: int, pick: int) -> int:
        """Index of the unit that does ``code``'s work on ``day``.

        Follows successors while ``code`` is not in force; a district past the end of the
        district level hands over to one of its merged communes, chosen by ``pick``.
        """
        key = (code, day)
        candidates = self._candidates.get(key)
        if candidates is None:
            candidates = tuple(self.index_by_code[c] for c in self._follow(code, day))
            self._candidates[key] = candidates
        return candidates[pick % len(candidates)]

    def _follow(self, code: str, day: int) -> tuple[str, ...]:
        for _ in range(10):  # successor chains are short; the bound guards against a cycle
            agency = self.get(code)
            if agency.in_force_on(day):
                return (code,)
            if agency.successor:
                code = agency.successor
            elif agency.cap == "HUYEN":
                return self.merged_communes_of_district[code]
            else:
                return (code,)  # nothing took over: keep the last unit rather than invent one
        raise ValueError(f"successor chain of {code} does not end")


def district_digit(code: str) -> int:
    """D of a district code ``000.2D.00.H34``."""
    return int(code[5])


def _reference_agencies() -> list[Agency]:
    units: list[dict[str, Any]] = kontum_org_units()["units"]
    return [
        Agency(
            code=u["code"],
            name=u["name"],
            cap=LEVEL_TO_CAP[u["level"]],
            parent=u["parent"],
            valid_from=u["valid_from"],
            valid_to=u["valid_to"],
            successor=u["successor"],
        )
        for u in units
    ]


def _commune_agencies(districts: Sequence[Agency]) -> list[Agency]:
    """Each district's communes (to 2025-06-30), then the merged communes that succeed them."""
    old: list[Agency] = []
    merged: list[Agency] = []
    for district in districts:
        new_units = _merged_communes(district_digit(district.code))
        merged.extend(new_units)
        old.extend(_old_communes(district, new_units))
    return old + merged


def _merged_communes(digit: int) -> list[Agency]:
    return [
        Agency(
            code=f"000.5{digit}.{n:02d}.H45",
            name=f"UBND {commune.kind} {commune.name}",
            cap="XA",
            parent=NEW_PROVINCE,
            valid_from=MERGER_DAY,
            valid_to=None,
            successor=None,
        )
        for n, commune in enumerate(MERGED_COMMUNES[digit], start=1)
    ]


def _old_communes(district: Agency, merged: Sequence[Agency]) -> list[Agency]:
    digit = district_digit(district.code)
    successor_of = {
        member: unit.code
        for unit, commune in zip(merged, MERGED_COMMUNES[digit], strict=True)
        for member in commune.members
    }
    return [
        Agency(
            code=f"000.2{digit}.{n:02d}.H34",
            name=f"UBND {commune.kind} {commune.name}",
            cap="XA",
            parent=district.code,
            valid_from=district.valid_from,
            valid_to=district.valid_to,
            successor=successor_of[n],
        )
        for n, commune in enumerate(OLD_COMMUNES[digit], start=1)
    ]


@cache
def build_agency_tree() -> AgencyTree:
    """The tree (built once: it only memoises lookups)."""
    reference = _reference_agencies()
    districts = [a for a in reference if a.cap == "HUYEN"]
    return AgencyTree(reference + _commune_agencies(districts))
