"""Index frameworks: PAR INDEX, SIPAS, PAPI... as versioned trees of components, read from data.

A framework version (``code`` + ``version``, valid for a range of years) has nodes (area →
criterion → sub-criterion) with a code, a Vietnamese name, a maximum score when it is known, and
how the score is obtained. A maximum may be left empty: the shipped files leave every figure
empty that no source we hold states, and a province loads the official ones.

The rule that spans nodes: the children's maximum scores of a node may not add up to more than
its own (nor the top-level nodes to more than the framework's total). A fault names the node by
its path in the document (``nodes[2].children[1]``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from cchc_plans.domain.catalogue import Level
from cchc_plans.domain.documents import (
    CLEAN_TEXT,
    NO_NUL,
    SOME_TEXT,
    Fault,
    Loc,
    ShortText,
    Text,
    decimal_number,
    drop_final_newline,
    number_schema,
)

Scoring = Literal["self_assessed_appraised", "survey", "computed"]
"""How a node's score is obtained: self-assessed by the unit then appraised (tự đánh giá,
thẩm định), from a sociological survey (điều tra xã hội học), or computed from its parts."""

MAX_DEPTH = 6
MAX_NODES = 2000

FrameworkCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=40),
    BeforeValidator(drop_final_newline),
]
NodeCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=40),
    BeforeValidator(drop_final_newline),
]
VersionLabel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=SOME_TEXT),
    CLEAN_TEXT,
]
Name = ShortText
Note = Text
Points = Annotated[Decimal, decimal_number(6, minimum=0), number_schema(6, minimum=0)]
Year = Annotated[int, Field(ge=1990, le=2100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeDoc(_Strict):
    code: NodeCode = Field(description="Unique in the framework, e.g. `3` or `3.2.1`.")
    name: Name = Field(description="Vietnamese name (tên lĩnh vực / tiêu chí).")
    name_en: Name | None = None
    max_score: Points | None = Field(None, description="Maximum score; null when not known.")
    scoring: Scoring
    note: Note | None = None
    children: list[NodeDoc] = Field(default_factory=list, max_length=200)


class FrameworkDocument(_Strict):
    code: FrameworkCode = Field(description="`PAR_INDEX`, `SIPAS`, `PAPI`, or a province's own.")
    version: VersionLabel = Field(description="Which edition, e.g. the deciding document.")
    name: Name
    name_en: Name | None = None
    issuer: Name | None = None
    basis: Note | None = Field(None, description="Legal basis or methodology it follows.")
    source_url: (
        Annotated[str, StringConstraints(max_length=1000, pattern=NO_NUL), CLEAN_TEXT] | None
    ) = None
    valid_from_year: Year | None = Field(None, description="First year assessed (null: open).")
    valid_to_year: Year | None = Field(None, description="Last year assessed (null: open).")
    unit_levels: list[Level] = Field(
        min_length=1, description="Levels of the units it assesses (xếp hạng theo cấp)."
    )
    max_score: Points | None = Field(None, description="Maximum total; null when not known.")
    note: Note | None = None
    nodes: list[NodeDoc] = Field(min_length=1, max_length=200)


@dataclass(frozen=True, slots=True)
class FlatNode:
    """A node as stored: its place in the tree by parent code, position and depth."""

    code: str
    parent_code: str | None
    position: int
    depth: int
    name: str
    name_en: str | None
    max_score: Decimal | None
    scoring: str
    note: str | None


def walk(nodes: Sequence[NodeDoc], loc: Loc = ("nodes",)) -> Iterator[tuple[Loc, NodeDoc, int]]:
    """Every node depth-first with its path in the document and its depth (1 = top level)."""
    stack: list[tuple[Loc, NodeDoc, int]] = [
        ((*loc, i), node, 1) for i, node in reversed(list(enumerate(nodes)))
    ]
    while stack:
        where, node, depth = stack.pop()
        yield where, node, depth
        stack.extend(
            ((*where, "children", i), child, depth + 1)
            for i, child in reversed(list(enumerate(node.children)))
        )


def framework_faults(doc: FrameworkDocument) -> list[Fault]:
    """Rules across nodes; every fault with its path."""
    faults: list[Fault] = []
    if (
        doc.valid_from_year is not None
        and doc.valid_to_year is not None
        and doc.valid_to_year < doc.valid_from_year
    ):
        faults.append((("valid_to_year",), "the last year comes before the first"))
    nodes = list(walk(doc.nodes))
    if len(nodes) > MAX_NODES:
        faults.append((("nodes",), f"a framework has at most {MAX_NODES} nodes"))
    faults.extend(_code_faults(nodes))
    faults.extend(_depth_faults(nodes))
    faults.extend(_sum_faults(doc, nodes))
    return faults


def _code_faults(nodes: list[tuple[Loc, NodeDoc, int]]) -> Iterator[Fault]:
    seen: set[str] = set()
    for loc, node, _ in nodes:
        if node.code in seen:
            yield (*loc, "code"), f"code {node.code!r} appears twice in the framework"
        seen.add(node.code)


def _depth_faults(nodes: list[tuple[Loc, NodeDoc, int]]) -> Iterator[Fault]:
    for loc, _, depth in nodes:
        if depth > MAX_DEPTH:
            yield loc, f"nodes nest at most {MAX_DEPTH} levels deep"


def _known_sum(nodes: Sequence[NodeDoc]) -> Decimal:
    return sum((n.max_score for n in nodes if n.max_score is not None), Decimal(0))


def _sum_faults(doc: FrameworkDocument, nodes: list[tuple[Loc, NodeDoc, int]]) -> Iterator[Fault]:
    if doc.max_score is not None and _known_sum(doc.nodes) > doc.max_score:
        yield (
            ("max_score",),
            f"the top-level maximum scores add up to {_known_sum(doc.nodes)}, "
            f"more than the framework's total {doc.max_score}",
        )
    for loc, node, _ in nodes:
        if node.max_score is None or not node.children:
            continue
        total = _known_sum(node.children)
        if total > node.max_score:
            yield (
                loc,
                f"the children of {node.code} have maximum scores adding up to {total}, "
                f"more than its own maximum {node.max_score}",
            )


def flatten(doc: FrameworkDocument) -> list[FlatNode]:
    """The nodes in document order, each knowing its parent."""
    parents: dict[Loc, str] = {}
    flat: list[FlatNode] = []
    for position, (loc, node, depth) in enumerate(walk(doc.nodes)):
        parents[loc] = node.code
        flat.append(
            FlatNode(
                code=node.code,
                parent_code=parents.get(loc[:-2]) if depth > 1 else None,
                position=position,
                depth=depth,
                name=node.name,
                name_en=node.name_en,
                max_score=node.max_score,
                scoring=node.scoring,
                note=node.note,
            )
        )
    return flat


def covers_year(valid_from: int | None, valid_to: int | None, year: int) -> bool:
    return (valid_from is None or valid_from <= year) and (valid_to is None or year <= valid_to)


def component_ref(framework_code: str, component: str) -> str:
    """How a plan document's `index_components` names a component: `PAPI:4`, `PAR_INDEX:3`."""
    return f"{framework_code}:{component}"


def parse_component_ref(ref: str) -> tuple[str, str] | None:
    framework, sep, component = ref.partition(":")
    if not sep or not framework or not component:
        return None
    return framework.strip(), component.strip()
