"""Acceptance 1: the shipped framework files load; a framework with a node whose children's
maximum scores exceed its own is refused with the node's path. And a province fills in the
official maximum scores of a shipped version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_plans.service.index_frameworks import seed_frameworks
from cchc_plans.store.models import AuditEntry
from cchc_shared.db import create_sessionmaker, transaction

YAML = {"content-type": "application/yaml"}


async def frameworks(client: AsyncClient, **params: Any) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/indices/frameworks", params=params)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


async def test_shipped_frameworks_load_at_start(client: AsyncClient) -> None:
    listed = await frameworks(client)
    assert [(f["code"], f["version"], f["source"]) for f in listed] == [
        ("PAPI", "2018", "shipped"),
        ("PAR_INDEX", "876/QĐ-BNV", "shipped"),
        ("SIPAS", "5 yếu tố", "shipped"),
    ]
    assert [f["code"] for f in await frameworks(client, year=2017)] == ["PAR_INDEX", "SIPAS"]
    par = next(f for f in listed if f["code"] == "PAR_INDEX")
    detail = (await client.get(f"/api/v1/indices/frameworks/{par['id']}")).json()
    assert [n["code"] for n in detail["nodes"]] == [str(i) for i in range(1, 9)]
    assert detail["nodes"][6]["name"] == "Xây dựng và phát triển Chính phủ điện tử, Chính phủ số"
    assert {n["max_score"] for n in detail["nodes"]} == {None}
    assert detail["unit_levels"] == ["province"]


def _official(raw: dict[str, Any]) -> dict[str, Any]:
    """The shipped PAR INDEX with maxima filled in, as a province would from its decision
    (TEST FIGURES, not the decision's: the test only needs figures that add up)."""
    filled = dict(raw)
    filled["nodes"] = [{**n, "max_score": 10} for n in raw["nodes"]]
    filled["max_score"] = 100
    return filled


async def test_a_province_fills_in_maximum_scores_and_bad_sums_are_refused(
    client: AsyncClient, engine: AsyncEngine, as_role: Callable[..., dict[str, str]]
) -> None:
    par = next(f for f in await frameworks(client) if f["code"] == "PAR_INDEX")
    shipped = (await client.get(f"/api/v1/indices/frameworks/{par['id']}")).json()
    raw = {k: shipped[k] for k in ("code", "version", "name", "name_en", "issuer", "basis")}
    raw |= {"unit_levels": shipped["unit_levels"], "nodes": shipped["nodes"]}
    official = _official(raw)

    # A node (area 3) whose criteria add up to more than the area: refused, nothing stored.
    bad = _official(raw)
    bad["nodes"][2] = {
        **bad["nodes"][2],
        "children": [
            {"code": "3.1", "name": "Tiêu chí thử 1", "max_score": 6, "scoring": "survey"},
            {"code": "3.2", "name": "Tiêu chí thử 2", "max_score": 5, "scoring": "survey"},
        ],
    }
    for resp in (
        await client.post("/api/v1/indices/frameworks", json=bad),
        await client.post(
            "/api/v1/indices/frameworks/import",
            content=yaml.safe_dump(bad, allow_unicode=True).encode(),
            headers=YAML,
        ),
    ):
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in resp.json()["errors"]] == ["body.nodes[2]"]
    deeper = _official(raw)
    deeper["nodes"][2]["children"] = [
        {"code": "3.1", "name": "Tiêu chí", "max_score": 4, "scoring": "computed",
         "children": [{"code": "3.1.1", "name": "Tiêu chí thành phần", "max_score": 5,
                       "scoring": "self_assessed_appraised"}]},
    ]  # fmt: skip
    resp = await client.post("/api/v1/indices/frameworks", json=deeper)
    assert [e["field"] for e in resp.json()["errors"]] == ["body.nodes[2].children[0]"]

    # Only planners (and admins) load frameworks.
    denied = await client.post(
        "/api/v1/indices/frameworks", json=official, headers=as_role("viewer")
    )
    assert denied.status_code == 403

    loaded = await client.post(
        "/api/v1/indices/frameworks", json=official, headers=as_role("planner", subject="snv")
    )
    assert loaded.status_code == 200, loaded.text
    body = loaded.json()
    assert (body["result"], body["framework"]["revision"], body["framework"]["source"]) == (
        "updated",
        2,
        "api",
    )
    assert body["framework"]["max_score"] == 100.0
    assert {n["max_score"] for n in body["framework"]["nodes"]} == {10.0}
    again = await client.post("/api/v1/indices/frameworks", json=official)
    assert again.json()["result"] == "unchanged"
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(AuditEntry.action, AuditEntry.actor)
                .where(AuditEntry.entity_id == par["id"])
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("created", "system"), ("updated", "snv")]
    # The seeding a restart runs does not overwrite what the province loaded.
    async with transaction(create_sessionmaker(engine)) as session:
        assert await seed_frameworks(session) == 0
    assert (await frameworks(client, code="PAR_INDEX"))[0]["max_score"] == 100.0
