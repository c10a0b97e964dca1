"""Importing plan documents: acceptance 1 and 2 of the plans issue, and the rules around them."""

from __future__ import annotations

import json

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_plans.store.models import AuditEntry, OutboxEvent, Plan, Target, Task
from cchc_plans.testing import PLAN_FILES, YAML, count_rows, import_file, import_yaml, plan_yaml

THREE_FAULTS = """
code: "99/KH-UBND"
kind: annual_plan
title: "Kế hoạch thử"
issuer: "UBND tỉnh Kon Tum"
province: kon-tum
issued_on: 2023-01-05
period: {from: 2023-01-01, to: 2023-12-31}
areas: [tthc]
targets:
  - {key: a, area: tthc, text: "một", measure: DOSSIER_ONLINE_RATE, op: ">=", value: 30,
     unit: percent}
  - {key: b, area: tthc, text: "hai", measure: DOSSIER_TELEPATHY_RATE, op: ">=", value: 30,
     unit: percent}
  - {key: c, area: tthc, text: "ba", measure: reported, op: ">=", value: 30, unit: percent,
     due: 2023-02-30}
  - {key: d, area: tthc, text: "bốn", measure: reported, op: "=>", value: 30, unit: percent}
tasks:
  - {key: t, area: tthc, title: "Nhiệm vụ", lead: so-noi-vu, due: 2023-12-31}
"""


async def test_the_four_shared_plans_import_with_their_counts(client: AsyncClient) -> None:
    for name, (code, targets, tasks) in PLAN_FILES.items():
        body = await import_file(client, name)
        assert body["result"] == "created"
        plan = body["plan"]
        assert (plan["code"], len(plan["targets"]), len(plan["tasks"])) == (code, targets, tasks)
        assert plan["status"] == "issued"
    listed = (await client.get("/api/v1/plans", params={"limit": 2})).json()
    assert len(listed["items"]) == 2 and listed["next_cursor"]
    rest = (await client.get("/api/v1/plans", params={"cursor": listed["next_cursor"]})).json()
    codes = {p["code"] for p in listed["items"] + rest["items"]}
    assert codes == {code for code, _, _ in PLAN_FILES.values()}
    found = (await client.get("/api/v1/plans", params={"code": "4212/KH-UBND"})).json()["items"]
    assert [p["province"] for p in found] == ["kon-tum"]
    assert len((await client.get("/api/v1/plans", params={"year": 2024})).json()["items"]) == 2


async def test_reimport_changes_nothing(client: AsyncClient, engine: AsyncEngine) -> None:
    first = {name: await import_file(client, name) for name in PLAN_FILES}
    counts = [await count_rows(engine, m) for m in (AuditEntry, OutboxEvent, Plan, Target, Task)]
    for name in PLAN_FILES:
        again = await import_file(client, name)
        assert again["result"] == "unchanged"
        before, after = first[name]["plan"], again["plan"]
        assert after["id"] == before["id"] and after["version"] == before["version"]
        assert [t["id"] for t in after["targets"]] == [t["id"] for t in before["targets"]]
        assert [t["id"] for t in after["tasks"]] == [t["id"] for t in before["tasks"]]
    assert [
        await count_rows(engine, m) for m in (AuditEntry, OutboxEvent, Plan, Target, Task)
    ] == counts


async def test_json_form_is_the_same_document(client: AsyncClient) -> None:
    import yaml

    created = await import_file(client, "kontum-2023-4212.yaml")
    document = yaml.safe_load(plan_yaml("kontum-2023-4212.yaml"))
    resp = await client.post(
        "/api/v1/plans/import",
        content=json.dumps(document, default=str),
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["result"] == "unchanged"
    assert resp.json()["plan"]["id"] == created["plan"]["id"]


async def test_three_faults_are_listed_and_nothing_is_stored(
    client: AsyncClient, engine: AsyncEngine
) -> None:
    counts = [await count_rows(engine, m) for m in (AuditEntry, OutboxEvent, Plan)]
    resp = await client.post("/api/v1/plans/import", content=THREE_FAULTS.encode(), headers=YAML)
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    fields = [e["field"] for e in resp.json()["errors"]]
    assert sorted(fields) == [
        "body.targets[1].measure",
        "body.targets[2].due",
        "body.targets[3].op",
    ]
    assert [await count_rows(engine, m) for m in (AuditEntry, OutboxEvent, Plan)] == counts


async def test_unknown_org_units_are_reported_with_structural_faults(client: AsyncClient) -> None:
    document = THREE_FAULTS.replace(
        "lead: so-noi-vu", "lead: so-khong-co, support: [so-tu-phap, x-y]"
    )
    resp = await client.post("/api/v1/plans/import", content=document.encode(), headers=YAML)
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.json()["errors"]}
    assert {"body.tasks[0].lead", "body.tasks[0].support[1]", "body.targets[3].op"} <= fields
    assert "body.tasks[0].support[0]" not in fields  # so-tu-phap exists in Kon Tum


HEADER_CASES = [
    ("period: {from: 2023-12-31, to: 2023-01-01}", "body.period.to"),
    ("province: atlantis", "body.province"),
    ("kind: wish_list", "body.kind"),
    ("areas: [happiness]", "body.areas[0]"),
    ("issued_on: 2023-13-01", "body.issued_on"),
    ('code: ""', "body.code"),
]


async def test_header_rules(client: AsyncClient) -> None:
    for change, field in HEADER_CASES:
        key = change.split(":")[0]
        lines = _valid_document().splitlines()
        document = "\n".join(change if line.startswith(key + ":") else line for line in lines)
        resp = await client.post("/api/v1/plans/import", content=document.encode(), headers=YAML)
        assert resp.status_code == 422, (change, resp.text)
        assert [e["field"] for e in resp.json()["errors"]] == [field], change
    valid = await client.post(
        "/api/v1/plans/import", content=_valid_document().encode(), headers=YAML
    )
    assert valid.status_code == 201, valid.text


def _valid_document() -> str:
    return (
        THREE_FAULTS.replace("DOSSIER_TELEPATHY_RATE", "DOSSIER_SATISFACTION_RATE")
        .replace("2023-02-30", "2023-02-28")
        .replace('"=>"', '"<="')
    )


T = '{key: e, area: tthc, text: "x", measure: reported, op: ">=", unit: percent, '
TARGET_CASES = [
    (T + "value: 130}", "body.targets[4].value"),
    (T.replace("key: e", "key: a") + "value: 1}", "body.targets[4].key"),
    (T + "value: 1, due: 2024-01-01}", "body.targets[4].due"),
    (T.replace("percent", "litres") + "value: 1}", "body.targets[4].unit"),
    (T + "value: 1, colour: red}", "body.targets[4].colour"),
    (T + "value: 1, scope: so-y-te-quang-ngai}", "body.targets[4].scope"),
    (T + "value: 1, scope: tp-kon-tum}", None),
]


async def test_target_rules(client: AsyncClient) -> None:
    for bad, field in TARGET_CASES:
        document = _valid_document().replace("tasks:", f"  - {bad}\ntasks:")
        resp = await client.post("/api/v1/plans/import", content=document.encode(), headers=YAML)
        if field is None:  # the last case: a target scoped to a district
            assert resp.status_code == 201, resp.text
            scoped = resp.json()["plan"]["targets"][4]["scope_org_unit_id"]
            unit = (await client.get(f"/api/v1/org-units/{scoped}")).json()
            assert unit["code"] == "000.20.00.H34"
        else:
            assert resp.status_code == 422, (bad, resp.text)
            assert [e["field"] for e in resp.json()["errors"]] == [field], bad


MALFORMED = [
    (b"code: [unclosed", "application/yaml", 422),
    (b"a: &x [1]\nb: *x\n", "application/yaml", 422),
    (b"- just\n- a list\n", "application/yaml", 422),
    (b"{not json", "application/json", 422),
    (b"\xff\xfe", "application/yaml", 422),
    ('code: "a\u0000b"'.encode(), "application/yaml", 422),
    (b"code: x", "text/plain", 415),
    (b"[" * 5000 + b"]" * 5000, "application/yaml", 422),
    (b"[" * 100 + b"]" * 100, "application/json", 422),
]


async def test_malformed_documents_are_problems(client: AsyncClient) -> None:
    for body, content_type, status in MALFORMED:
        resp = await client.post(
            "/api/v1/plans/import", content=body, headers={"content-type": content_type}
        )
        assert resp.status_code == status, (body[:40], resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json().get("errors") or status == 415


async def test_a_changed_draft_is_updated_and_its_removed_items_withdrawn(
    client: AsyncClient, engine: AsyncEngine
) -> None:
    draft = _valid_document().replace("areas: [tthc]", "areas: [tthc]\nstatus: draft")
    created = await import_yaml(client, draft.encode())
    assert created["plan"]["status"] == "draft"
    target_d = '  - {key: d, area: tthc, text: "bốn", measure: reported, op: "<=", value: 30, '
    changed = draft.replace('text: "một"', 'text: "một (sửa)"').replace(
        target_d + "unit: percent}\n", ""
    )
    events = await count_rows(engine, OutboxEvent)
    updated = await import_yaml(client, changed.encode())
    assert updated["result"] == "updated"
    assert (updated["targets_changed"], updated["tasks_changed"]) == (2, 0)
    targets = {t["key"]: t for t in updated["plan"]["targets"]}
    assert set(targets) == {"a", "b", "c"} and targets["a"]["text"] == "một (sửa)"
    assert targets["a"]["version"] == 2 and targets["b"]["version"] == 1
    assert await count_rows(engine, OutboxEvent) == events + 2  # a upserted, d withdrawn
    plan_id = updated["plan"]["id"]
    withdrawn = (
        await client.get(f"/api/v1/plans/{plan_id}", params={"include_withdrawn": True})
    ).json()
    assert [t["key"] for t in withdrawn["targets"] if t["withdrawn"]] == ["d"]


async def test_an_issued_plan_changes_only_by_amendment(
    client: AsyncClient, engine: AsyncEngine
) -> None:
    await import_file(client, "kontum-2023-4212.yaml")
    changed = plan_yaml("kontum-2023-4212.yaml").decode().replace("value: 30\n", "value: 35\n", 1)
    refused = await client.post("/api/v1/plans/import", content=changed.encode(), headers=YAML)
    assert refused.status_code == 409
    assert "amendment" in refused.json()["detail"]
    audit = await count_rows(engine, AuditEntry)
    amended = await import_yaml(client, changed.encode(), reason="Điều chỉnh theo Nghị quyết HĐND")
    assert amended["result"] == "amended" and amended["targets_changed"] == 1
    assert amended["plan"]["version"] == 2
    assert await count_rows(engine, AuditEntry) == audit + 2  # the plan and one target
    trail = (
        await client.get(f"/api/v1/plans/{amended['plan']['id']}/audit", params={"limit": 500})
    ).json()
    last = trail["items"][-1]
    assert last["entity_type"] == "target" and last["reason"] == "Điều chỉnh theo Nghị quyết HĐND"
    assert (last["before"]["value"], last["after"]["value"]) == (30.0, 35.0)
    again = await import_yaml(client, changed.encode())  # the same amended text: nothing to do
    assert again["result"] == "unchanged"


async def test_vietnamese_text_is_stored_nfc(client: AsyncClient) -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Kế hoạch thử")
    document = _valid_document().replace('title: "Kế hoạch thử"', f'title: "{decomposed}"')
    body = await import_yaml(client, document.encode())
    assert body["plan"]["title"] == unicodedata.normalize("NFC", "Kế hoạch thử")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/plans/import", "/api/v1/indices/results/import", "/api/v1/indices/frameworks/import"],
)
async def test_an_import_path_refuses_other_methods_with_405(
    client: AsyncClient, path: str
) -> None:
    """`GET /…/import` also matches `GET /…/{id}`: it is still a method the path does not have,
    not a malformed id (schemathesis found the 422)."""
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        resp = await client.request(method, path)
        assert resp.status_code == 405, (method, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.headers["allow"] == "POST"
    malformed = await client.get("/api/v1/plans/not-a-uuid")
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["field"] == "path.plan_id"
