"""Results of an index for one year: per unit, per component, the self-assessed, appraised and
survey scores with evidence, and the published total and rank.

One document is one framework and one year. Loading it states each listed unit's result in full
(what it leaves out, it does not hold): loading the same document again changes nothing.
A CSV file is the same content as rows (see :func:`csv_document`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cchc_plans.domain.documents import CLEAN_TEXT, SOME_TEXT, Fault, Loc, Province, UnitRef
from cchc_plans.domain.index_frameworks import (
    FrameworkCode,
    NodeCode,
    Note,
    Points,
    VersionLabel,
    Year,
)

Evidence = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1000, pattern=SOME_TEXT),
    CLEAN_TEXT,
]
PARTS = ("self_assessed", "appraised", "survey", "score")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreDoc(_Strict):
    component: NodeCode = Field(description="Node code of the framework, e.g. `3` or `3.2`.")
    self_assessed: Points | None = Field(None, description="Điểm tự đánh giá.")
    appraised: Points | None = Field(None, description="Điểm thẩm định.")
    survey: Points | None = Field(None, description="Điểm điều tra xã hội học.")
    score: Points | None = Field(
        None, description="The component's official score when published (điểm đạt được)."
    )
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)
    note: Note | None = None


class UnitResultDoc(_Strict):
    unit: UnitRef = Field(description="Org unit: id, code (MaDinhDanh) or slug in `province`.")
    total: Points | None = Field(None, description="Published total (tổng điểm công bố).")
    rank: int | None = Field(None, ge=1, le=10_000, description="Published rank (xếp hạng).")
    rank_of: int | None = Field(None, ge=1, le=10_000, description="Units ranked with it.")
    note: Note | None = None
    scores: list[ScoreDoc] = Field(default_factory=list, max_length=2000)


class ResultsDocument(_Strict):
    framework: FrameworkCode
    version: VersionLabel | None = Field(
        None, description="Framework version; default: the one valid in `year`."
    )
    year: Year
    province: Province | None = Field(None, description="Where unit slugs are looked up.")
    units: list[UnitResultDoc] = Field(min_length=1, max_length=1000)


@dataclass(frozen=True, slots=True)
class NodeLimits:
    """What the results are checked against: the framework version's nodes and maxima."""

    max_by_code: Mapping[str, Decimal | None]
    max_total: Decimal | None


def results_faults(doc: ResultsDocument, limits: NodeLimits) -> list[Fault]:
    faults: list[Fault] = []
    seen_units: set[str] = set()
    for i, unit in enumerate(doc.units):
        if unit.unit in seen_units:
            faults.append((("units", i, "unit"), f"unit {unit.unit!r} appears twice"))
        seen_units.add(unit.unit)
        faults.extend(_unit_faults(("units", i), unit, limits))
    return faults


def _unit_faults(loc: Loc, unit: UnitResultDoc, limits: NodeLimits) -> Iterator[Fault]:
    if unit.rank is not None and unit.rank_of is not None and unit.rank > unit.rank_of:
        yield (*loc, "rank"), f"rank {unit.rank} is beyond the {unit.rank_of} units ranked"
    if unit.total is not None and limits.max_total is not None and unit.total > limits.max_total:
        yield (*loc, "total"), f"above the framework's maximum {limits.max_total}"
    seen: set[str] = set()
    for j, score in enumerate(unit.scores):
        where = (*loc, "scores", j)
        if score.component in seen:
            yield (*where, "component"), f"component {score.component!r} appears twice"
        seen.add(score.component)
        if score.component not in limits.max_by_code:
            yield (*where, "component"), f"the framework has no component {score.component!r}"
            continue
        yield from _score_faults(where, score, limits.max_by_code[score.component])


def _score_faults(loc: Loc, score: ScoreDoc, maximum: Decimal | None) -> Iterator[Fault]:
    if all(getattr(score, part) is None for part in PARTS):
        yield loc, "give at least one of self_assessed, appraised, survey, score"
    if maximum is None:
        return
    for part in PARTS:
        value: Decimal | None = getattr(score, part)
        if value is not None and value > maximum:
            yield (*loc, part), f"{value} is above the component's maximum {maximum}"
    if (
        score.appraised is not None
        and score.survey is not None
        and score.appraised + score.survey > maximum
    ):
        yield loc, f"appraised and survey add up to more than the maximum {maximum}"


# CSV -------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "framework", "version", "year", "province", "unit", "component", "self_assessed",
    "appraised", "survey", "score", "evidence", "note", "total", "rank", "rank_of",
)  # fmt: skip
UNIT_COLUMNS = ("total", "rank", "rank_of")
DOCUMENT_COLUMNS = ("framework", "version", "year", "province")
SCORE_COLUMNS = ("component", "self_assessed", "appraised", "survey", "score", "evidence", "note")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
EVIDENCE_SEPARATOR = "|"


class CsvFault(ValueError):
    def __init__(self, faults: list[Fault]) -> None:
        super().__init__("; ".join(message for _, message in faults))
        self.faults = faults


@dataclass
class CsvDocument:
    """A CSV file as a results document, and where each part of it came from."""

    raw: dict[str, Any]
    unit_rows: dict[int, int]
    score_rows: dict[tuple[int, int], int]

    def relocate(self, loc: Loc) -> tuple[Loc, str | None]:
        """A fault's path in the document → its row and column in the file."""
        if len(loc) >= 4 and loc[0] == "units" and loc[2] == "scores":
            row = self.score_rows.get((int(loc[1]), int(loc[3])), 0)
            return ("body", "rows", row, *loc[4:5]), f"line {row + 2}"
        if len(loc) >= 2 and loc[0] == "units":
            row = self.unit_rows.get(int(loc[1]), 0)
            column = loc[2:3] if loc[2:3] != ("scores",) else ()
            return ("body", "rows", row, *column), f"line {row + 2}"
        return ("body", "rows", 0, *loc[:1]), "line 2"


def csv_document(text: str) -> CsvDocument:
    """Rows (one per unit and component; a row without `component` carries only the unit's total
    and rank) → the results document. The delimiter is `,` `;` or tab; with `;` or tab a decimal
    comma (`82,5`) is read as a decimal point. `evidence` separates items with `|`."""
    delimiter = _delimiter(text)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = [c.strip() for c in reader.fieldnames or []]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    missing = [c for c in ("framework", "year", "unit") if c not in columns]
    if unknown or missing:
        raise CsvFault(_header_faults(unknown, missing))
    rows = [_clean_row(row, delimiter) for row in reader]
    if not rows:
        raise CsvFault([(("rows",), "the file has a header and no rows")])
    return _assemble(rows)


def _header_faults(unknown: list[str], missing: list[str]) -> list[Fault]:
    faults: list[Fault] = [(("columns",), f"unknown column {c!r}") for c in unknown]
    faults += [(("columns",), f"missing column {c!r}") for c in missing]
    return faults


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=header.count)


def _clean_row(row: dict[str | None, Any], delimiter: str) -> dict[str, str]:
    if None in row:  # more cells than columns
        raise CsvFault([(("rows",), f"a row has more cells than the header: {row[None]!r}")])
    clean = {str(k).strip(): (v or "").strip() for k, v in row.items()}
    if delimiter != ",":
        clean = {k: v.replace(",", ".") if _DECIMAL_COMMA.match(v) else v for k, v in clean.items()}
    return clean


def _assemble(rows: list[dict[str, str]]) -> CsvDocument:
    raw: dict[str, Any] = {c: rows[0][c] for c in DOCUMENT_COLUMNS if rows[0].get(c)}
    faults: list[Fault] = []
    units: dict[str, dict[str, Any]] = {}
    index_of: dict[str, int] = {}
    unit_rows: dict[int, int] = {}
    score_rows: dict[tuple[int, int], int] = {}
    for r, row in enumerate(rows):
        for column in DOCUMENT_COLUMNS:
            if row.get(column, "") != rows[0].get(column, ""):
                faults.append((("rows", r, column), "one file holds one framework, year, province"))
        unit = units.get(row["unit"])
        if unit is None:
            index_of[row["unit"]] = unit_rows_index = len(units)
            unit_rows[unit_rows_index] = r
            unit = units[row["unit"]] = {"unit": row["unit"], "scores": []}
        index = index_of[row["unit"]]
        for column in UNIT_COLUMNS:
            faults.extend(_unit_cell(unit, row, column, r))
        if row.get("component"):
            score_rows[(index, len(unit["scores"]))] = r
            unit["scores"].append(_score_cells(row))
    if faults:
        raise CsvFault(faults)
    raw["units"] = list(units.values())
    return CsvDocument(raw=raw, unit_rows=unit_rows, score_rows=score_rows)


def _unit_cell(unit: dict[str, Any], row: dict[str, str], column: str, r: int) -> Iterator[Fault]:
    value = row.get(column, "")
    if not value:
        return
    if unit.setdefault(column, value) != value:
        yield ("rows", r, column), f"the unit's {column} differs from an earlier row's"


def _score_cells(row: dict[str, str]) -> dict[str, Any]:
    cells: dict[str, Any] = {c: row[c] for c in SCORE_COLUMNS if row.get(c)}
    if "evidence" in cells:
        cells["evidence"] = [e.strip() for e in cells["evidence"].split(EVIDENCE_SEPARATOR)]
        cells["evidence"] = [e for e in cells["evidence"] if e]
    return cells
