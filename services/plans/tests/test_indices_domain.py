"""Rules of index frameworks and results, without I/O: the shipped files, the children's sum,
scores, totals, ranks and CSV reading."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from cchc_plans.domain.index_analysis import (
    Component,
    Parts,
    competition_ranks,
    effective_scores,
    total_of,
)
from cchc_plans.domain.index_frameworks import FrameworkDocument, flatten, framework_faults
from cchc_plans.domain.index_results import CsvFault, csv_document
from cchc_plans.service.index_frameworks import shipped_documents, validate_framework
from cchc_plans.service.index_links import demo_link_documents
from cchc_plans.testing import plan_yaml
from cchc_shared.errors import ValidationFailed

PAR_INDEX_AREAS = [
    "Công tác chỉ đạo, điều hành cải cách hành chính",
    "Cải cách thể chế",
    "Cải cách thủ tục hành chính",
    "Cải cách tổ chức bộ máy hành chính nhà nước",
    "Cải cách chế độ công vụ",
    "Cải cách tài chính công",
    "Xây dựng và phát triển Chính phủ điện tử, Chính phủ số",
    "Tác động của cải cách hành chính đến người dân, tổ chức và phát triển kinh tế - xã hội "
    "của tỉnh",
]


def test_shipped_frameworks_are_valid_and_invent_no_figures() -> None:
    docs = {d.code: d for d in (validate_framework(raw) for raw in shipped_documents())}
    assert set(docs) == {"PAR_INDEX", "SIPAS", "PAPI"}
    assert [n.name for n in docs["PAR_INDEX"].nodes] == PAR_INDEX_AREAS
    assert docs["PAR_INDEX"].version == "876/QĐ-BNV"
    assert len(docs["PAPI"].nodes) == 8 and len(docs["SIPAS"].nodes) == 5
    assert docs["PAPI"].nodes[3].name == "Kiểm soát tham nhũng trong khu vực công"
    for doc in docs.values():  # no maximum score is shipped that no source states
        assert doc.max_score is None
        assert all(n.max_score is None for n in flatten(doc))


def _node(code: str, max_score: float | None, *children: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "name": f"Nút {code}", "max_score": max_score, "scoring": "computed",
            "children": list(children)}  # fmt: skip


def _framework(*nodes: dict[str, Any], max_score: float | None = None) -> dict[str, Any]:
    return {"code": "TEST", "version": "1", "name": "Bộ chỉ số thử", "unit_levels": ["district"],
            "max_score": max_score, "nodes": list(nodes)}  # fmt: skip


def _faults(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as failed:
        validate_framework(raw)
    return [(e.field, e.message) for e in failed.value.problem.errors or []]


def test_children_adding_up_above_their_parent_are_refused_with_its_path() -> None:
    raw = _framework(
        _node("1", 10),
        _node("2", 10),
        _node("3", 30, _node("3.1", 10), _node("3.2", 12, _node("3.2.1", 8), _node("3.2.2", 5))),
        max_score=50,
    )
    faults = _faults(raw)
    assert [f for f, _ in faults] == ["body.nodes[2].children[1]"]
    assert "13" in faults[0][1] and "12" in faults[0][1]
    # Unknown maxima do not count; the top level against the framework's total does.
    raw["nodes"][2]["children"][1]["children"][1]["max_score"] = None
    raw["max_score"] = 40
    assert [f for f, _ in _faults(raw)] == ["body.max_score"]
    raw["max_score"] = None
    raw["nodes"][1]["code"] = "1"
    assert [f for f, _ in _faults(raw)] == ["body.nodes[1].code"]


def test_flatten_keeps_parents_and_order() -> None:
    doc = FrameworkDocument.model_validate(_framework(_node("A", 5, _node("A1", 2)), _node("B", 3)))
    assert framework_faults(doc) == []
    assert [(n.code, n.parent_code, n.depth, n.position) for n in flatten(doc)] == [
        ("A", None, 1, 0),
        ("A1", "A", 2, 1),
        ("B", None, 1, 2),
    ]


def test_scores_totals_and_ranks() -> None:
    d = Decimal
    components = [
        Component("A", None, 1, 0, "A", d(40)),
        Component("A1", "A", 2, 1, "A1", d(25)),
        Component("A2", "A", 2, 2, "A2", d(15)),
        Component("B", None, 1, 3, "B", d(60)),
    ]
    parts = {
        "A1": Parts(self_assessed=d(20)),  # not appraised yet: provisional
        "A2": Parts(survey=d(9)),
        "B": Parts(appraised=d(30), survey=d(20)),
    }
    effective = effective_scores(components, parts)
    assert (effective["A"].value, effective["A"].basis, effective["A"].provisional) == (
        d(29),
        "children",
        True,
    )
    assert (effective["B"].value, effective["B"].basis) == (d(50), "appraised+survey")
    total = total_of(components, effective, None)
    assert (total.value, total.basis, total.provisional) == (d(79), "computed", True)
    assert total_of(components, effective, d("80.5")).value == d("80.5")
    del parts["A2"]  # a top-level component without a score: no computed total
    assert total_of(components, effective_scores(components, parts), None).value is None
    assert competition_ranks({"x": d(80), "y": d(90), "z": d(80), "w": None, "v": d(70)}) == {
        "y": 1,
        "x": 2,
        "z": 2,
        "v": 4,
    }


def test_csv_rows_become_a_document_and_faults_name_their_row() -> None:
    text = (
        "framework;year;unit;component;appraised;survey;evidence;total;rank;rank_of\n"
        "TEST;2024;dak-glei;;;;;82,5;3;10\n"
        "TEST;2024;dak-glei;A1;20,25;;QĐ 12/QĐ-UBND | BC 5/BC-SNV;;;\n"
        "TEST;2024;ngoc-hoi;A1;18;;;;;\n"
    )
    doc = csv_document(text)
    assert doc.raw["framework"] == "TEST" and doc.raw["year"] == "2024"
    assert doc.raw["units"][0] == {
        "unit": "dak-glei",
        "total": "82.5",
        "rank": "3",
        "rank_of": "10",
        "scores": [
            {
                "component": "A1",
                "appraised": "20.25",
                "evidence": ["QĐ 12/QĐ-UBND", "BC 5/BC-SNV"],
            }
        ],
    }
    assert doc.relocate(("units", 1, "scores", 0, "appraised")) == (
        ("body", "rows", 2, "appraised"),
        "line 4",
    )
    assert doc.relocate(("units", 0, "total")) == (("body", "rows", 0, "total"), "line 2")
    with pytest.raises(CsvFault) as bad:
        csv_document("framework,year,unit,colour\nTEST,2024,x,red\n")
    assert bad.value.faults == [(("columns",), "unknown column 'colour'")]


def test_shipped_demo_links_name_tasks_of_the_plan_and_known_components() -> None:
    plan = yaml.safe_load(plan_yaml("kontum-2024-index-improvement.yaml"))
    task_keys = {t["key"] for t in plan["tasks"]}
    known = {
        f"{d['code']}:{n['code']}" for d in shipped_documents() for n in d["nodes"]
    }  # top-level components
    for doc in demo_link_documents():
        assert doc["plan"] == plan["code"]
        for link in doc["links"]:
            assert link["task"] in task_keys
            assert set(link["components"]) <= known
            assert link["because"]  # each link quotes the source
