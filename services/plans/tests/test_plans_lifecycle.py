"""The lifecycle draft → issued → closed, amendments with reasons, and the audit trail."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

from httpx import AsyncClient

DRAFT: dict[str, Any] = {
    "code": "12/KH-UBND",
    "kind": "annual_plan",
    "title": "Kế hoạch CCHC năm 2026",
    "issuer": "UBND tỉnh Khánh Hòa",
    "province": "khanh-hoa",
    "period": {"from": "2026-01-01", "to": "2026-12-31"},
    "areas": ["tthc"],
    "targets": [
        {
            "key": "online",
            "area": "tthc",
            "text": "Hồ sơ trực tuyến từ 40%",
            "measure": "DOSSIER_ONLINE_RATE",
            "op": ">=",
            "value": 40,
            "unit": "percent",
            "index_components": ["PAR_INDEX.5.2"],
        },
    ],
    "tasks": [
        {
            "key": "review",
            "area": "tthc",
            "title": "Rà soát TTHC",
            "lead": "van-phong-ubnd",
            "support": ["so-noi-vu"],
            "due": "2026-06-30",
        },
    ],
}


async def test_draft_issue_amend_close(
    client: AsyncClient, as_role: Callable[..., dict[str, str]]
) -> None:
    lan = as_role("planner", subject="lan")
    created = await client.post("/api/v1/plans", json=DRAFT, headers=lan)
    assert created.status_code == 201, created.text
    plan = created.json()["plan"]
    assert plan["status"] == "draft" and plan["targets"][0]["index_components"] == ["PAR_INDEX.5.2"]
    url = f"/api/v1/plans/{plan['id']}"
    assert (await client.post("/api/v1/plans", json=DRAFT)).status_code == 409

    edited = await client.patch(
        url, json={"title": "Kế hoạch CCHC năm 2026 (dự thảo 2)"}, headers=lan
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    issued = await client.patch(url, json={"status": "issued"}, headers=lan)
    assert issued.json()["status"] == "issued"

    refused = await client.patch(url, json={"title": "Sửa lén"}, headers=lan)
    assert refused.status_code == 409 and "amendment" in refused.json()["detail"]
    bad_period = await client.patch(
        url, json={"period": {"from": "2026-01-01", "to": "2026-03-31"}}, params={"reason": "x"}
    )
    assert bad_period.status_code == 422
    assert {e["field"] for e in bad_period.json()["errors"]} == {"body.period"}
    amended = await client.patch(
        url,
        json={"issuer": "UBND tỉnh Khánh Hòa (mới)"},
        params={"reason": "Sáp nhập tỉnh"},
        headers=lan,
    )
    assert amended.status_code == 200 and amended.json()["issuer"] == "UBND tỉnh Khánh Hòa (mới)"
    assert (await client.patch(url, json={"status": "draft"})).status_code == 409

    closed = await client.patch(
        url, json={"status": "closed"}, params={"reason": "Hết kỳ"}, headers=lan
    )
    assert closed.json()["status"] == "closed"
    after_close = [
        await client.patch(url, json={"title": "x"}, params={"reason": "x"}),
        await client.patch(url, json={"status": "issued"}),
        await client.post(
            "/api/v1/plans/import", json={**DRAFT, "title": "y"}, params={"reason": "x"}
        ),
    ]
    assert [r.status_code for r in after_close] == [409, 409, 409]

    trail = (await client.get(f"{url}/audit")).json()["items"]
    plan_trail = [
        (e["action"], e["actor"], e["reason"]) for e in trail if e["entity_type"] == "plan"
    ]
    assert plan_trail == [
        ("created", "lan", None),
        ("updated", "lan", None),
        ("issued", "lan", None),
        ("amended", "lan", "Sáp nhập tỉnh"),
        ("closed", "lan", "Hết kỳ"),
    ]
    amendment = next(e for e in trail if e["action"] == "amended")
    assert amendment["before"]["issuer"] == "UBND tỉnh Khánh Hòa"
    assert amendment["after"]["issuer"] == "UBND tỉnh Khánh Hòa (mới)"


async def test_targets_and_tasks_change_through_the_plan(
    client: AsyncClient, as_role: Callable[..., dict[str, str]]
) -> None:
    plan = (await client.post("/api/v1/plans", json={**DRAFT, "status": "issued"})).json()["plan"]
    targets_url = f"/api/v1/plans/{plan['id']}/targets"
    new_target = {
        "key": "paid",
        "area": "tthc",
        "text": "Thanh toán trực tuyến 50%",
        "measure": "DOSSIER_ONLINE_PAYMENT_RATE",
        "op": ">=",
        "value": 50,
        "unit": "percent",
    }
    assert (await client.post(targets_url, json=new_target)).status_code == 409
    assert (
        await client.post(targets_url, json=new_target, headers=as_role("viewer"))
    ).status_code == 403
    bad = await client.post(
        targets_url, json={**new_target, "op": "=>", "measure": "NOPE"}, params={"reason": "r"}
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"body.op", "body.measure"}
    duplicate = await client.post(
        targets_url, json={**new_target, "key": "online"}, params={"reason": "r"}
    )
    assert duplicate.status_code == 422 and duplicate.json()["errors"][0]["field"] == "body.key"
    added = await client.post(targets_url, json=new_target, params={"reason": "Bổ sung chỉ tiêu"})
    assert added.status_code == 201, added.text
    patched = await client.patch(
        f"/api/v1/targets/{added.json()['id']}", json={"value": 60}, params={"reason": "r"}
    )
    assert patched.json()["value"] == 60 and patched.json()["version"] == 2
    listed = (await client.get(targets_url, params={"limit": 1})).json()
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    rest = (await client.get(targets_url, params={"cursor": listed["next_cursor"]})).json()
    assert [t["key"] for t in listed["items"] + rest["items"]] == ["online", "paid"]

    task = plan["tasks"][0]
    unknown_lead = await client.patch(
        f"/api/v1/tasks/{task['id']}", json={"lead": "so-khong-co"}, params={"reason": "r"}
    )
    assert (
        unknown_lead.status_code == 422 and unknown_lead.json()["errors"][0]["field"] == "body.lead"
    )
    group = await client.patch(
        f"/api/v1/tasks/{task['id']}",
        json={"lead": "all-departments", "due": "recurring"},
        params={"reason": "r"},
    )
    assert group.status_code == 200, group.text
    assert group.json()["lead_group"] == "department" and group.json()["recurring"] is True
    added_task = await client.post(
        f"/api/v1/plans/{plan['id']}/tasks",
        json={
            "key": "train",
            "area": "cong_vu",
            "title": "Đào tạo",
            "lead": "so-noi-vu",
            "due": "2027-01-01",
        },
        params={"reason": "r"},
    )
    assert added_task.status_code == 422 and added_task.json()["errors"][0]["field"] == "body.due"
    detail = (await client.get(f"/api/v1/plans/{plan['id']}")).json()
    assert detail["version"] == 4 and [t["key"] for t in detail["targets"]] == ["online", "paid"]


async def test_texts_too_long_for_their_column_are_refused_with_the_field(
    client: AsyncClient,
) -> None:
    """A 4,000-character issuer once reached the 500-character column (a 500, found by
    schemathesis); and NFC can lengthen a text, so the limit applies to the stored form."""
    created = await client.post("/api/v1/plans", json={**DRAFT, "code": "13/KH-UBND"})
    url = f"/api/v1/plans/{created.json()['plan']['id']}"

    for issuer in ["0" * 501, "\u0958" * 300]:  # U+0958 is two code points in NFC
        for refused in [
            await client.patch(url, json={"issuer": issuer}),
            await client.post("/api/v1/plans", json={**DRAFT, "code": "14/KH", "issuer": issuer}),
        ]:
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in refused.json()["errors"]] == ["body.issuer"]

    longest = await client.patch(url, json={"issuer": "Ủ" * 500})
    assert longest.status_code == 200 and longest.json()["issuer"] == "Ủ" * 500


async def test_declared_counts_are_bounded_counts(client: AsyncClient) -> None:
    """A count past 64 bits passed validation and then failed to render as JSON (a 500); a count
    is a whole number from 0, never a boolean."""
    for counts in [{"tasks": 10**20}, {"tasks": -1}, {"tasks": True}, {"tasks": 2.5}]:
        for refused in [
            await client.post("/api/v1/plans", json={**DRAFT, "declared_counts": counts}),
            await client.post("/api/v1/plans/import", json={**DRAFT, "declared_counts": counts}),
        ]:
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            fields = [e["field"] for e in refused.json()["errors"]]
            assert fields == ["body.declared_counts.tasks"], fields
    assert (await client.get("/api/v1/plans", params={"code": DRAFT["code"]})).json()["items"] == []

    created = await client.post(
        "/api/v1/plans", json={**DRAFT, "declared_counts": {"targets": 40, "tasks": 66}}
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/plans/{created.json()['plan']['id']}"
    assert created.json()["plan"]["declared_counts"] == {"targets": 40, "tasks": 66}
    patched = await client.patch(
        url, json={"declared_counts": {"tasks": 9_223_372_036_854_775_808}}
    )
    assert patched.status_code == 422 and patched.json()["errors"][0]["field"] == (
        "body.declared_counts.tasks"
    )
    assert (await client.get(url)).json()["declared_counts"] == {"targets": 40, "tasks": 66}


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


async def test_query_text_and_cursors_the_database_cannot_hold_are_refused_with_the_parameter(
    client: AsyncClient,
) -> None:
    """A NUL in a query parameter, or a cursor carrying one, an integer past its column or an
    instant outside years 1-9999 in UTC, failed in the database driver (500s); each is refused
    with the parameter named."""
    created = await client.post("/api/v1/plans", json=DRAFT)
    plan = created.json()["plan"]
    target, task = plan["targets"][0]["id"], plan["tasks"][0]["id"]
    refused = {
        "query.code": ("/api/v1/plans", {"code": "12/KH\x00"}),
        "query.province": ("/api/v1/plans", {"province": "khanh-hoa\x00"}),
        "query.lead_org_unit": ("/api/v1/tasks", {"lead_org_unit": "\x00"}),
    }
    cursors = [
        ("/api/v1/plans", ["khanh-hoa\x00", "12/KH-UBND"]),
        ("/api/v1/plans", ["khanh-hoa", 12]),
        (f"/api/v1/plans/{plan['id']}/audit", [2**63]),
        (f"/api/v1/plans/{plan['id']}/tasks", [2**31]),
        (f"/api/v1/targets/{target}/reports", ["0001-01-01T00:00:00+01:00", str(uuid.uuid4())]),
        (f"/api/v1/tasks/{task}/progress", ["9999-12-31T23:59:59-01:00", str(uuid.uuid4())]),
    ]
    answers = [
        (field, await client.get(url, params=params)) for field, (url, params) in refused.items()
    ]
    answers += [
        ("query.cursor", await client.get(url, params={"cursor": _cursor(values)}))
        for url, values in cursors
    ]
    answers.append(
        (
            "query.province",
            await client.get("/api/v1/org-units", params={"province": "\x00"}),
        )
    )
    answers.append(
        (
            "query.reason",
            await client.patch(
                f"/api/v1/plans/{plan['id']}", params={"reason": "\x00"}, json={"title": "X"}
            ),
        )
    )
    for field, resp in answers:
        assert resp.status_code == 422, (field, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in resp.json()["errors"]] == [field], resp.text

    found = await client.get(
        "/api/v1/plans", params={"code": "12/KH-UBND", "province": "khanh-hoa"}
    )
    assert [p["id"] for p in found.json()["items"]] == [plan["id"]]
    edge = _cursor(["0001-01-01T00:00:00Z", str(uuid.uuid4())])
    assert (await client.get(f"/api/v1/targets/{target}/reports", params={"cursor": edge})).json()[
        "items"
    ] == []
