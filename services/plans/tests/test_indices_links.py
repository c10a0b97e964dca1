"""Acceptance 3: tasks of the Kon Tum 2024 improvement plan linked to PAR INDEX / PAPI components
appear under those components with their status; links are made without re-issuing the plan,
audited, and a plan document's own `index_components` count too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from httpx import AsyncClient

from cchc_plans.testing import import_file, import_yaml


async def component(client: AsyncClient, framework: str, code: str) -> dict[str, Any]:
    resp = await client.get(f"/api/v1/indices/components/{framework}/{code}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def tasks_of(body: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {t["key"]: (t["status"], t["percent_complete"]) for t in body["tasks"]}


async def test_improvement_plan_tasks_appear_under_their_components(
    client: AsyncClient, as_role: Callable[..., dict[str, str]]
) -> None:
    # The demo links hold before the plan arrives; they show nothing until it does.
    assert (await component(client, "PAPI", "4"))["tasks"] == []
    plan = (await import_file(client, "kontum-2024-index-improvement.yaml"))["plan"]
    task_id = {t["key"]: t["id"] for t in plan["tasks"]}
    progress = await client.post(
        f"/api/v1/tasks/{task_id['anti-corruption']}/progress",
        json={"percent_complete": 60, "note": "Đã tổ chức 4 hội nghị tuyên truyền"},
    )
    assert progress.status_code == 201, progress.text

    corruption = await component(client, "PAPI", "4")
    assert corruption["name"] == "Kiểm soát tham nhũng trong khu vực công"
    assert tasks_of(corruption) == {
        "papi-handbook": ("not_started", 0),
        "anti-corruption": ("in_progress", 60),
        "front-supervision": ("not_started", 0),
    }
    via = next(t for t in corruption["tasks"] if t["key"] == "anti-corruption")["via"]
    assert [(v["source"], v["component"]) for v in via] == [("link", "4")]
    assert "kiểm soát tham nhũng" in via[0]["note"]

    procedures = await component(client, "PAR_INDEX", "3")
    assert set(tasks_of(procedures)) == {"procedure-review", "service-quality"}
    digital = await component(client, "PAR_INDEX", "7")
    assert set(tasks_of(digital)) == {"portals-and-online-services"}
    assert set(tasks_of(await component(client, "SIPAS", "4"))) == {"service-quality"}
    e_governance = await component(client, "PAPI", "8")
    assert set(tasks_of(e_governance)) == {"papi-handbook", "portals-and-online-services"}

    # A planner links another task without re-issuing the plan (audited); viewers may not.
    link = {
        "task_id": task_id["dept-plans"],
        "framework": "PAR_INDEX",
        "component": "2",
        "note": "Kế hoạch của Sở Tư pháp gồm rà soát văn bản quy phạm pháp luật",
    }
    url = "/api/v1/indices/links"
    assert (await client.post(url, json=link, headers=as_role("viewer"))).status_code == 403
    made = await client.post(url, json=link, headers=as_role("planner", subject="snv"))
    assert made.status_code == 201, made.text
    assert made.json()["task_id"] == task_id["dept-plans"]
    again = await client.post("/api/v1/indices/links", json=link)
    assert (again.status_code, again.json()["id"]) == (200, made.json()["id"])
    assert set(tasks_of(await component(client, "PAR_INDEX", "2"))) == {"dept-plans"}
    after = (await client.get(f"/api/v1/plans/{plan['id']}")).json()
    assert (after["version"], after["status"]) == (plan["version"], "issued")  # not amended
    history = (await client.get(f"/api/v1/plans/{plan['id']}/audit")).json()["items"]
    assert [(h["entity_type"], h["action"], h["actor"]) for h in history][-1] == (
        "index_link",
        "linked",
        "snv",
    )

    # Faults name their field; a link can be removed (audited too).
    bad = await client.post(
        "/api/v1/indices/links",
        json={"task_id": task_id["dept-plans"], "framework": "PAPI", "component": "9"},
    )
    assert [e["field"] for e in bad.json()["errors"]] == ["body.component"]
    both = await client.post(
        "/api/v1/indices/links",
        json={"task_id": task_id["dept-plans"], "target_id": task_id["dept-plans"],
              "framework": "PAPI", "component": "1"},
    )  # fmt: skip
    assert [e["field"] for e in both.json()["errors"]] == ["body.task_id"]
    assert (await client.delete(f"/api/v1/indices/links/{made.json()['id']}")).status_code == 204
    assert tasks_of(await component(client, "PAR_INDEX", "2")) == {}
    listed = (await client.get("/api/v1/indices/links", params={"plan_id": plan["id"]})).json()
    assert len(listed["items"]) == 1 + 1 + 1 + 1 + 8 + 1 + 4 + 2 + 2 + 3  # the demo file
    assert all(item["task_id"] for item in listed["items"])


PLAN_NAMING_COMPONENTS = """
code: "KH-THU-NGHIEM-CHI-SO"   # TEST plan
kind: improvement_plan
title: "Kế hoạch thử nghiệm"
province: kon-tum
period: {from: 2024-01-01, to: 2024-12-31}
targets:
  - {key: dvc-online, area: chinh_quyen_so, text: "Tỷ lệ hồ sơ trực tuyến báo cáo",
     measure: reported, op: ">=", value: 50, unit: percent, index_components: ["PAR_INDEX:7"]}
tasks:
  - {key: so-hoa, area: chinh_quyen_so, title: "Số hóa hồ sơ", lead: so-thong-tin-truyen-thong,
     due: 2024-12-31, index_components: ["PAR_INDEX:7", "PAPI:8"]}
"""


async def test_components_named_by_a_plan_document_count_too(client: AsyncClient) -> None:
    plan = (await import_yaml(client, PLAN_NAMING_COMPONENTS.encode()))["plan"]
    target = plan["targets"][0]
    params = {"at": "2024-06-30", "level": "province", "province": "kon-tum"}
    province = (await client.get("/api/v1/org-units", params=params)).json()["items"][0]
    report = await client.post(
        f"/api/v1/targets/{target['id']}/reports",
        json={"period": "2024-Q2", "org_unit_id": province["id"], "value": 42},
    )
    assert report.status_code == 201, report.text
    digital = await component(client, "PAR_INDEX", "7")
    [task] = digital["tasks"]
    assert (task["key"], task["via"][0]["source"]) == ("so-hoa", "plan_document")
    [linked_target] = digital["targets"]
    assert (linked_target["status"], linked_target["latest_figure"]["value"]) == ("not_met", 42.0)
