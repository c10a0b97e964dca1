"""Org units over time: the trees of two days (acceptance 3), agencies from ingest, edits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from httpx import AsyncClient
from nats.js import JetStreamContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_plans.store.models import DeadLetter, OrgUnit
from cchc_shared.events.envelope import CloudEvent


async def all_pages(client: AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 10, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(path, params=query)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_kon_tum_trees_before_and_after_the_2025_reform(client: AsyncClient) -> None:
    before = await all_pages(client, "/api/v1/org-units", at="2024-06-30")
    after = await all_pages(client, "/api/v1/org-units", at="2025-08-01")
    kon_tum_before = [u for u in before if u["province"] == "kon-tum"]
    levels = [u["level"] for u in kon_tum_before]
    assert (levels.count("province"), levels.count("department"), levels.count("district")) == (
        1,
        18,
        10,
    )
    root = next(u for u in kon_tum_before if u["level"] == "province")
    assert root["name"] == "UBND tỉnh Kon Tum"
    assert {u["parent_id"] for u in kon_tum_before if u["level"] != "province"} == {root["id"]}
    assert not [u for u in after if u["province"] == "kon-tum"]
    quang_ngai = [u for u in after if u["province"] == "quang-ngai"]
    assert len(quang_ngai) == 15 and "district" not in {u["level"] for u in quang_ngai}
    assert root["successor_ids"] == [next(u["id"] for u in quang_ngai if u["level"] == "province")]
    districts = await all_pages(client, "/api/v1/org-units", at="2025-08-01", level="district")
    assert districts == []
    filtered = await all_pages(
        client, "/api/v1/org-units", at="2024-06-30", province="kon-tum", level="district"
    )
    assert len(filtered) == 10
    # A department merged in March 2025 is in the first tree and gone from the second.
    assert "so-ke-hoach-dau-tu" in {u["slug"] for u in kon_tum_before}
    gone = await client.get(f"/api/v1/org-units/{root['id']}")
    assert gone.json()["valid_to"] == "2025-06-30"
    bad = await client.get("/api/v1/org-units", params={"cursor": "nonsense"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"


def agency(code: str, version: int, **fields: Any) -> CloudEvent:
    data = {
        "code": code,
        "name": f"UBND xã {code}",
        "level": "commune",
        "parent_code": "000.20.00.H34",
        "valid_from": "2000-01-01",
        "valid_to": "2025-06-30",
        "successor_code": None,
        "version": version,
        **fields,
    }
    return CloudEvent(
        source="/cchc/ingest", type="vn.cchc.ingest.agency.changed", subject=code, data=data
    )


async def publish(js: JetStreamContext, event: CloudEvent) -> None:
    await js.publish(event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})


async def wait_for(predicate: Callable[[], Any], seconds: float = 20.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if await predicate():
                return
            await asyncio.sleep(0.1)


async def unit_named(engine: AsyncEngine, code: str) -> str | None:
    async with engine.connect() as conn:
        return (
            await conn.execute(select(OrgUnit.name).where(OrgUnit.code == code))
        ).scalar_one_or_none()


async def test_agencies_from_ingest_are_upserted_by_code_and_version(
    client: AsyncClient, js: JetStreamContext, engine: AsyncEngine
) -> None:
    code = "000.20.01.H34"
    first = agency(code, 3)
    await publish(js, first)
    await publish(js, first)  # a redelivery of the same event
    await wait_for(lambda: _is(engine, code, f"UBND xã {code}"))
    await publish(js, agency(code, 2, name="tên cũ"))  # older: ignored
    await publish(js, agency(code, 5, name="UBND phường Quyết Thắng"))
    await publish(
        js, CloudEvent(source="/x", type="vn.cchc.ingest.agency.changed", data={"code": 1})
    )
    await wait_for(lambda: _is(engine, code, "UBND phường Quyết Thắng"))
    await wait_for(lambda: _dead_letters(engine))
    units = await all_pages(client, "/api/v1/org-units", at="2024-06-30", level="commune")
    (commune,) = units
    assert commune["province"] == "kon-tum"  # inherited from its district
    assert commune["parent_code"] == "000.20.00.H34" and commune["parent_id"]
    assert commune["source"] == "ingest" and commune["version"] == 2
    history = (await client.get(f"/api/v1/org-units/{commune['id']}/history")).json()["items"]
    assert [h["action"] for h in history] == ["created", "updated"]
    assert {h["actor"] for h in history} == {"ingest"}


async def _is(engine: AsyncEngine, code: str, name: str) -> bool:
    return await unit_named(engine, code) == name


async def _dead_letters(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return (await conn.execute(select(DeadLetter.id))).first() is not None


async def test_planners_edit_units_with_effective_dates(
    client: AsyncClient, as_role: Callable[..., dict[str, str]]
) -> None:
    tree = await all_pages(client, "/api/v1/org-units", at="2024-06-30", province="khanh-hoa")
    noi_vu = next(u for u in tree if u["slug"] == "so-noi-vu")
    created = await client.post(
        "/api/v1/org-units",
        json={
            "code": "000.00.20.H37",
            "slug": "so-noi-vu-moi",
            "province": "khanh-hoa",
            "name": "Sở Nội vụ (mới)",
            "level": "department",
            "parent_id": noi_vu["parent_id"],
            "valid_from": "2026-01-01",
        },
        headers=as_role("planner", subject="planner-lan"),
    )
    assert created.status_code == 201, created.text
    ended = await client.patch(
        f"/api/v1/org-units/{noi_vu['id']}",
        json={"valid_to": "2025-12-31", "successor_ids": [created.json()["id"]]},
        headers=as_role("planner", subject="planner-lan"),
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["successor_ids"] == [created.json()["id"]]
    on_2025 = await all_pages(client, "/api/v1/org-units", at="2025-12-31", province="khanh-hoa")
    on_2026 = await all_pages(client, "/api/v1/org-units", at="2026-01-01", province="khanh-hoa")
    assert "so-noi-vu" in {u["slug"] for u in on_2025} and "so-noi-vu-moi" not in {
        u["slug"] for u in on_2025
    }
    assert "so-noi-vu-moi" in {u["slug"] for u in on_2026} and "so-noi-vu" not in {
        u["slug"] for u in on_2026
    }
    history = (await client.get(f"/api/v1/org-units/{noi_vu['id']}/history")).json()["items"]
    assert history[-1]["actor"] == "planner-lan"
    assert (history[-1]["before"]["valid_to"], history[-1]["after"]["valid_to"]) == (
        None,
        "2025-12-31",
    )
    refused = [
        await client.patch(
            f"/api/v1/org-units/{noi_vu['id']}", json={"name": "x"}, headers=as_role("viewer")
        ),
        await client.patch(f"/api/v1/org-units/{noi_vu['id']}", json={"valid_from": "2026-02-01"}),
        await client.patch(
            f"/api/v1/org-units/{noi_vu['id']}",
            json={"successor_ids": [noi_vu["parent_id"], "00000000-0000-0000-0000-000000000000"]},
        ),
        await client.post(
            "/api/v1/org-units", json={"code": "000.00.20.H37", "name": "x", "level": "department"}
        ),
    ]
    assert [r.status_code for r in refused] == [403, 422, 422, 409]
    assert refused[1].json()["errors"][0]["field"] == "body.valid_to"
    assert refused[2].json()["errors"][0]["field"] == "body.successor_ids[1]"
