"""Progress of tasks, the overdue flag, and reported figures with their rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_plans.service.tasks import flag_overdue
from cchc_plans.store.models import OutboxEvent
from cchc_plans.testing import import_file, import_yaml, plan_yaml
from cchc_shared.db import create_sessionmaker, transaction


async def unit_id(client: AsyncClient, slug: str, province: str = "kon-tum") -> str:
    units = (
        await client.get(
            "/api/v1/org-units", params={"at": "2023-06-30", "province": province, "limit": 500}
        )
    ).json()
    return str(next(u["id"] for u in units["items"] if u["slug"] == slug))


async def outbox_types(engine: AsyncEngine, type_: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(OutboxEvent.envelope).order_by(OutboxEvent.seq))
        ).scalars()
        return [e["data"] for e in rows if e["type"] == type_]


async def test_progress_reports(
    client: AsyncClient, as_role: Callable[..., dict[str, str]], engine: AsyncEngine
) -> None:
    plan = (await import_file(client, "kontum-2023-4212.yaml"))["plan"]
    task = next(t for t in plan["tasks"] if t["key"] == "the-che")  # led by so-tu-phap
    url = f"/api/v1/tasks/{task['id']}/progress"
    tu_phap = await unit_id(client, "so-tu-phap")
    noi_vu = await unit_id(client, "so-noi-vu")
    report = {"percent_complete": 40, "note": "Đã ban hành 3/8 văn bản", "evidence": ["123/QĐ-STP"]}
    answers = [
        await client.post(url, json=report, headers=as_role("viewer")),
        await client.post(url, json=report, headers=as_role("agency_officer", scope=noi_vu)),
        await client.post(
            url, json={**report, "status": "done"}, headers=as_role("agency_officer", scope=tu_phap)
        ),
        await client.post(url, json={**report, "percent_complete": 101}),
        await client.post(url, json={**report, "percent_complete": False}),  # not an integer
    ]
    assert [r.status_code for r in answers] == [403, 403, 422, 422, 422]
    assert answers[4].json()["errors"][0]["field"] == "body.percent_complete"
    assert answers[2].json()["errors"][0]["field"] == "body.percent_complete"
    ok = await client.post(
        url, json=report, headers=as_role("agency_officer", scope=tu_phap, subject="cv-tuphap")
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["status"] == "in_progress" and ok.json()["reported_by"] == "cv-tuphap"
    done = await client.post(url, json={"percent_complete": 100, "evidence": ["báo cáo 45/BC-STP"]})
    assert done.json()["status"] == "done"
    after = (await client.get(f"/api/v1/tasks/{task['id']}")).json()
    assert (after["status"], after["percent_complete"], after["overdue"]) == ("done", 100, False)
    history = (await client.get(url)).json()["items"]
    assert [r["percent_complete"] for r in history] == [40, 100]
    events = await outbox_types(engine, "vn.cchc.plans.task.progress_reported")
    assert [(e["id"], e["status"], e["report"]["percent_complete"]) for e in events] == [
        (task["id"], "in_progress", 40),
        (task["id"], "done", 100),
    ]


async def test_overdue_tasks_are_flagged_once_per_due_date(
    client: AsyncClient, engine: AsyncEngine
) -> None:
    await import_file(client, "kontum-2023-4212.yaml")
    await import_file(client, "kontum-2024-index-improvement.yaml")
    sessionmaker = create_sessionmaker(engine)
    async with transaction(sessionmaker) as session:
        assert await flag_overdue(session, date(2023, 12, 31)) == 0  # the due day is in time
    async with transaction(sessionmaker) as session:
        assert await flag_overdue(session, date(2024, 1, 1)) == 7  # 8 tasks, one recurring
    async with transaction(sessionmaker) as session:
        assert await flag_overdue(session, date(2024, 1, 2)) == 0  # once per due date
    flagged = await outbox_types(engine, "vn.cchc.plans.task.overdue")
    assert len(flagged) == 7 and {e["due"] for e in flagged} == {"2023-12-31"}

    # An amendment moves a due date: the task can be overdue again, once, for the new date.
    moved = (
        plan_yaml("kontum-2023-4212.yaml")
        .decode()
        .replace("lead: so-tu-phap, due: 2023-12-31", "lead: so-tu-phap, due: 2023-12-30")
    )
    await import_yaml(client, moved.encode(), reason="Rút ngắn thời hạn")
    async with transaction(sessionmaker) as session:
        assert await flag_overdue(session, date(2024, 1, 2)) == 1

    noi_vu = await unit_id(client, "so-noi-vu")
    overdue = (
        await client.get("/api/v1/tasks", params={"overdue": "true", "lead_org_unit": noi_vu})
    ).json()
    # Today is after both plans: so-noi-vu's dated tasks are all overdue, its recurring ones not.
    assert {t["key"] for t in overdue["items"]} == {
        "to-chuc-bo-may",
        "cong-vu",
        "chi-dao-tuyen-truyen",
        "papi-handbook",
    }
    assert all(t["overdue"] for t in overdue["items"])
    led = (
        await client.get("/api/v1/tasks", params={"lead_org_unit": "000.00.02.H34", "limit": 500})
    ).json()
    # so-noi-vu also leads, as one of `all-departments`, the improvement plan's dept-plans.
    assert {"dept-plans", "annual-plan-and-monitoring"} <= {t["key"] for t in led["items"]}
    assert "district-communication" not in {t["key"] for t in led["items"]}
    unknown = await client.get("/api/v1/tasks", params={"lead_org_unit": "nope"})
    assert (
        unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "query.lead_org_unit"
    )


async def test_reported_figures_rules_and_supersede(
    client: AsyncClient, as_role: Callable[..., dict[str, str]], engine: AsyncEngine
) -> None:
    plan = (await import_file(client, "kontum-2023-4212.yaml"))["plan"]
    targets = {t["key"]: t for t in plan["targets"]}
    url = f"/api/v1/targets/{targets['inspected-units']['id']}/reports"
    province = await unit_id(client, "ubnd-tinh")
    district = await unit_id(client, "dak-to")
    figure = {
        "period": "2023",
        "org_unit_id": province,
        "numerator": 9,
        "denominator": 29,
        "evidence": ["Báo cáo 456/BC-SNV"],
    }
    faults = [
        ({**figure, "numerator": 30}, "body.numerator"),
        ({**figure, "numerator": None, "denominator": None, "value": 120}, "body.value"),
        ({**figure, "numerator": None, "denominator": None, "value": -1}, "body.value"),
        ({**figure, "period": "2024-Q1"}, "body.period"),
        ({**figure, "period": "2023-Q5"}, "body.period"),
        ({**figure, "denominator": 0}, "body.denominator"),
        ({**figure, "value": 31}, "body.value"),
        ({**figure, "denominator": None}, "body.denominator"),
        ({**figure, "org_unit_id": "00000000-0000-0000-0000-000000000000"}, "body.org_unit_id"),
    ]
    for body, field in faults:
        resp = await client.post(url, json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert field in {e["field"] for e in resp.json()["errors"]}, (body, resp.text)
    computed = f"/api/v1/targets/{targets['online-payment-transactions']['id']}/reports"
    assert (await client.post(computed, json=figure)).status_code == 409
    out_of_scope = await client.post(
        url, json=figure, headers=as_role("agency_officer", scope=district)
    )
    assert out_of_scope.status_code == 403

    first = await client.post(
        url, json=figure, headers=as_role("agency_officer", scope=province, subject="snv")
    )
    assert first.status_code == 201, first.text
    assert round(first.json()["value"], 4) == 31.0345 and first.json()["reported_by"] == "snv"
    corrected = await client.post(url, json={**figure, "numerator": 10})
    assert (
        corrected.json()["supersedes_id"] == first.json()["id"] and corrected.json()["version"] == 2
    )
    other_period = await client.post(url, json={**figure, "period": "2023-H1"})
    assert other_period.json()["supersedes_id"] is None

    current = (await client.get(url)).json()["items"]
    assert {f["id"] for f in current} == {corrected.json()["id"], other_period.json()["id"]}
    history = (await client.get(url, params={"include_superseded": "true"})).json()["items"]
    assert len(history) == 3
    old = next(f for f in history if f["id"] == first.json()["id"])
    assert old["superseded_by_id"] == corrected.json()["id"] and old["current"] is False
    events = await outbox_types(engine, "vn.cchc.plans.figure.reported")
    assert [(e["id"], e["supersedes_id"], e["measure"]) for e in events] == [
        (first.json()["id"], None, "reported"),
        (corrected.json()["id"], first.json()["id"], "reported"),
        (other_period.json()["id"], None, "reported"),
    ]
