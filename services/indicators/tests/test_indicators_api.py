"""The read API against real PostgreSQL: values, breakdowns, roll-ups, series, rankings, the
catalogue summary (acceptance 2), overdue lists, QĐ 766 scores, ETags, and problems."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_indicators.api.common import CACHE
from cchc_indicators.cli import run_rebuild
from cchc_indicators.main import create_app
from cchc_indicators.service import context
from cchc_indicators.testing import (
    agency_event,
    apply,
    dossier_event,
    facts,
    finished,
    kontum_catalogue,
    procedure_event,
    vn,
)
from cchc_shared.settings import IndicatorsSettings
from cchc_shared.testing import TestInfra

ClientFactory = Callable[[FastAPI], AbstractAsyncContextManager[AsyncClient]]


@pytest.fixture(autouse=True)
def always_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads see each write at once (the service may reuse freshness for a quarter second)."""
    monkeypatch.setattr(context, "FRESHNESS_TTL", 0.0)


# Province P; district D (communes A1, A2, valid until 2025-06-30; A2's successor is A3,
# placed directly under P); department S.
TREE = [
    agency_event("P", "UBND tỉnh", "province", None),
    agency_event("D", "UBND huyện Đắk Hà", "district", "P", valid_to=date(2025, 6, 30)),
    agency_event("A1", "UBND xã Hà Mòn", "commune", "D", valid_to=date(2025, 6, 30)),
    agency_event(
        "A2", "UBND xã Ngọk Wang", "commune", "D", valid_to=date(2025, 6, 30), successor="A3"
    ),
    agency_event("A3", "UBND xã Đắk Hà", "commune", "P", valid_from=date(2025, 7, 1)),
    agency_event("S", "Sở Tư pháp", "department", "P"),
]


def march_dossiers() -> list[Any]:
    """Six dossiers received in March 2024 (two versions for some)."""
    return [
        # A1: finished early; then rated 5 in April.
        finished("X1", 2, vn(2024, 3, 5), channel="online", has_fee=True, paid_online=True),
        finished(
            "X1",
            3,
            vn(2024, 3, 5),
            channel="online",
            has_fee=True,
            paid_online=True,
            rating=5,
            rated_at=vn(2024, 4, 2),
        ),
        # A1: open, overdue since 8 March.
        facts("X2", 1, field_code="HO_TICH"),
        # A2: finished late.
        finished("X3", 1, vn(2024, 3, 20), agency_code="A2", channel="postal"),
        # A2: open, due in April: in time at March's end.
        facts("X4", 1, agency_code="A2", due_at=vn(2024, 4, 10, 17)),
        # S: finished on time (same day as due), digitized.
        finished("X5", 1, vn(2024, 3, 8, 10), agency_code="S", digitized=True),
        # S: withdrawn: received, out of timeliness.
        facts("X6", 1, agency_code="S", status=7, withdrawn=True),
    ]


@pytest.fixture
async def loaded(engine: AsyncEngine, clean_state: None) -> AsyncIterator[None]:
    CACHE.clear()
    await apply(engine, TREE)
    await apply(
        engine,
        [
            procedure_event("1.000001"),
            procedure_event("1.000002", field_code="HO_TICH", field_name="Hộ tịch"),
        ],
    )
    await apply(engine, [dossier_event(f) for f in march_dossiers()])
    yield


def app() -> FastAPI:
    return create_app(IndicatorsSettings(run_background_workers=False))


async def get(client: AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    resp = await client.get(path, params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_values_roll_up_the_subtree(make_client: ClientFactory, loaded: None) -> None:
    async with make_client(app()) as client:
        province = await get(
            client, "/api/v1/indicators/DOSSIER_RECEIVED/values", period="2024-03", org_unit="P"
        )
        district = await get(
            client, "/api/v1/indicators/DOSSIER_RECEIVED/values", period="2024-03", org_unit="D"
        )
        on_time = await get(
            client, "/api/v1/indicators/DOSSIER_ON_TIME_RATE/values", period="2024-03", org_unit="D"
        )
    assert province["value"] == 6 and province["as_of"] is not None
    assert (province["org_unit_code"], province["rows"]) == ("P", [])
    assert district["value"] == 4
    # D in March: X1 early (good), X3 late, X2 open overdue, X4 open in time -> 2 / 4.
    assert (on_time["numerator"], on_time["denominator"], on_time["value"]) == (2, 4, 50.0)


async def test_breakdowns(make_client: ClientFactory, loaded: None) -> None:
    async with make_client(app()) as client:
        by_unit = await get(
            client,
            "/api/v1/indicators/DOSSIER_RECEIVED/values",
            period="2024-03",
            org_unit="P",
            by="org_unit",
        )
        by_channel = await get(
            client, "/api/v1/indicators/DOSSIER_ONLINE_RATE/values", period="2024-03", by="channel"
        )
        by_group = await get(
            client, "/api/v1/indicators/DOSSIER_RECEIVED/values", period="2024-03", by="field_group"
        )
        by_procedure = await get(
            client, "/api/v1/indicators/DOSSIER_RECEIVED/values", period="2024-03", by="procedure"
        )
    assert {r["key"]: r["value"] for r in by_unit["rows"]} == {"D": 4, "S": 2}
    assert {r["key"]: r["name"] for r in by_unit["rows"]}["D"] == "UBND huyện Đắk Hà"
    assert by_channel["value"] == pytest.approx(100 / 6)
    assert {r["key"]: r["name"] for r in by_channel["rows"]}["postal"] == "Bưu chính công ích"
    assert {r["key"]: (r["name"], r["value"]) for r in by_group["rows"]} == {
        "dat_dai": ("Đất đai", 5),
        "ho_tich": ("Hộ tịch", 1),
    }
    assert by_procedure["rows"] == [
        {
            "key": "1.000001",
            "name": "Thủ tục 1.000001",
            "value": 6,
            "numerator": 6,
            "denominator": None,
        },
    ]


async def test_stocks_and_flows_across_periods(make_client: ClientFactory, loaded: None) -> None:
    async with make_client(app()) as client:
        overdue = await get(
            client,
            "/api/v1/indicators/DOSSIER_OVERDUE_OPEN/series",
            **{"from": "2024-02", "to": "2024-05", "grain": "month"},
        )
        satisfaction = await get(
            client, "/api/v1/indicators/DOSSIER_SATISFACTION_RATE/values", period="2024-04"
        )
        days = await get(
            client,
            "/api/v1/indicators/DOSSIER_OVERDUE_OPEN/series",
            **{"from": "2024-03-07", "to": "2024-03-09", "grain": "day"},
        )
    # X2 overdue from 8 March on, X4 from 10 April on (both still open).
    assert [p["value"] for p in overdue["points"]] == [0, 1, 2, 2]
    assert [p["period"] for p in overdue["points"]] == ["2024-02", "2024-03", "2024-04", "2024-05"]
    assert [p["value"] for p in days["points"]] == [0, 2, 2]  # X2 and X3 (finished 20 March)
    assert (satisfaction["numerator"], satisfaction["denominator"]) == (1, 1)


async def test_ranking_and_today_boundaries(make_client: ClientFactory, loaded: None) -> None:
    async with make_client(app()) as client:
        ranking = await get(
            client,
            "/api/v1/indicators/DOSSIER_ON_TIME_RATE/ranking",
            period="2024-03",
            level="commune",
        )
        today_p = await get(
            client,
            "/api/v1/indicators/DOSSIER_RECEIVED/values",
            period="2024-03",
            org_unit="A3",
            boundaries="today",
        )
        receipt_p = await get(
            client, "/api/v1/indicators/DOSSIER_RECEIVED/values", period="2024-03", org_unit="A3"
        )
    # A1: X1 early + X2 overdue = 50 %; A2: X3 late + X4 in time = 50 %. Ties by code.
    assert [(r["org_unit_code"], r["rank"], r["value"]) for r in ranking["items"]] == [
        ("A1", 1, 50.0),
        ("A2", 2, 50.0),
    ]
    # With today's boundaries, A2's dossiers count under its successor A3.
    assert (today_p["value"], receipt_p["value"]) == (2, 0)


async def test_catalog_summary_matches_the_kon_tum_make_up(
    make_client: ClientFactory, engine: AsyncEngine, clean_state: None
) -> None:
    CACHE.clear()
    await apply(engine, kontum_catalogue())
    async with make_client(app()) as client:
        levels = await get(client, "/api/v1/catalog/summary", by="level")
        online = await get(client, "/api/v1/catalog/summary", by="online_level")
        postal = await get(
            client, "/api/v1/indicators/CATALOG_POSTAL_RATE/values", period="this_year"
        )
        by_field = await get(
            client,
            "/api/v1/indicators/CATALOG_PROCEDURES/values",
            period="this_year",
            by="field_group",
        )
    assert [(i["key"], i["count"]) for i in levels["items"]] == [
        ("province", 1545),
        ("district", 237),
        ("commune", 102),
        ("several", 20),
    ]
    assert levels["items"][0]["name"] == "Cấp tỉnh"
    assert [(i["key"], i["count"]) for i in online["items"]] == [
        ("full", 634),
        ("partial", 298),
        ("none", 972),
    ]
    assert (postal["numerator"], postal["denominator"]) == (1344, 1904)
    assert levels["total"] == 1904
    assert sum(r["value"] for r in by_field["rows"]) == 1904


async def test_catalog_snapshot_follows_versions_and_validity(
    make_client: ClientFactory, engine: AsyncEngine, clean_state: None
) -> None:
    CACHE.clear()
    await apply(engine, [procedure_event("1.1", postal=False, valid_to=date(2023, 6, 30))])
    await apply(engine, [procedure_event("1.2", postal=False)])
    await apply(engine, [procedure_event("1.2", version=2, postal=True)])
    async with make_client(app()) as client:
        mid_2023 = await get(
            client, "/api/v1/indicators/CATALOG_POSTAL_RATE/values", period="2023-06"
        )
        now = await get(
            client, "/api/v1/indicators/CATALOG_POSTAL_RATE/values", period="this_month"
        )
    # In June 2023 both were in force, and 1.2 was recorded only later (its first version
    # stands); now 1.1 has ended and 1.2 accepts post.
    assert (mid_2023["numerator"], mid_2023["denominator"]) == (0, 2)
    assert (now["numerator"], now["denominator"]) == (1, 1)


async def test_overdue_list_and_scores(make_client: ClientFactory, loaded: None) -> None:
    async with make_client(app()) as client:
        overdue = await get(client, "/api/v1/dossiers/overdue", org_unit="D", limit=1)
        page_2 = await get(
            client, "/api/v1/dossiers/overdue", org_unit="D", limit=1, cursor=overdue["next_cursor"]
        )
        scores = await get(client, "/api/v1/scores/qd766", period="2024-03")
        overview = await get(client, "/api/v1/org-units/P/overview", period="2024-03")
    assert overdue["overdue_open"] == 2
    assert [(i["dossier_code"], i["status"]) for i in overdue["items"] + page_2["items"]] == [
        ("X2", "overdue"),
        ("X4", "overdue"),
    ]
    assert page_2["next_cursor"] is None
    progress = next(s for s in scores["items"] if s["code"] == "2.1")
    # March, province: X1, X5 good; X3 late; X2 overdue; X4 in time -> 3 / 5 = 60 % of 20 points.
    assert progress["ratio"] == pytest.approx(60.0) and progress["points"] == pytest.approx(12.0)
    tiles = {t["indicator"]: t for t in overview["items"]}
    assert tiles["DOSSIER_RECEIVED"]["value"] == 6
    assert tiles["DOSSIER_RECEIVED"]["previous_value"] == 0


async def test_etag_and_304(make_client: ClientFactory, engine: AsyncEngine, loaded: None) -> None:
    path = "/api/v1/indicators/DOSSIER_RECEIVED/values"
    async with make_client(app()) as client:
        first = await client.get(path, params={"period": "2024-03"})
        tag = first.headers["etag"]
        again = await client.get(path, params={"period": "2024-03"}, headers={"If-None-Match": tag})
        await apply(engine, [dossier_event(facts("X7", 1))])
        changed = await client.get(
            path, params={"period": "2024-03"}, headers={"If-None-Match": tag}
        )
    assert again.status_code == 304 and again.headers["etag"] == tag
    assert changed.status_code == 200 and changed.json()["value"] == 7
    assert changed.headers["etag"] != tag


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/api/v1/indicators/NOPE/values", {}, 404, None),
        ("/api/v1/indicators/DOSSIER_RECEIVED/values", {"period": "2024-13"}, 422, "query.period"),
        ("/api/v1/indicators/DOSSIER_RECEIVED/values", {"period": "2999"}, 422, "query.period"),
        ("/api/v1/indicators/DOSSIER_RECEIVED/values", {"org_unit": "ZZ"}, 422, "query.org_unit"),
        ("/api/v1/indicators/DOSSIER_RECEIVED/values", {"by": "colour"}, 422, "query.by"),
        ("/api/v1/indicators/CATALOG_POSTAL_RATE/values", {"by": "channel"}, 422, "query.by"),
        (
            "/api/v1/indicators/DOSSIER_RECEIVED/series",
            {"from": "2024-05", "to": "2024-01"},
            422,
            "query.from",
        ),
        (
            "/api/v1/indicators/DOSSIER_RECEIVED/series",
            {"from": "x", "to": "2024"},
            422,
            "query.from",
        ),
        ("/api/v1/dossiers/overdue", {"cursor": "!!"}, 422, "query.cursor"),
        ("/api/v1/scorecards", {"plan_id": "not-a-uuid"}, 422, "query.plan_id"),
        ("/api/v1/scorecards", {"plan_id": "00000000-0000-0000-0000-000000000000"}, 404, None),
        ("/api/v1/org-units/nowhere/overview", {}, 422, "path.org_unit"),
        # Blank references read as "no unit" elsewhere; an overview needs one (was a 500).
        ("/api/v1/org-units/%20/overview", {}, 422, "path.org_unit"),
        ("/api/v1/org-units/%E3%80%80/overview", {}, 422, "path.org_unit"),
    ],
)
async def test_bad_questions_are_problems(
    make_client: ClientFactory,
    loaded: None,
    path: str,
    params: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    async with make_client(app()) as client:
        resp = await client.get(path, params=params)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert field in [e["field"] for e in resp.json()["errors"]]


async def test_rebuild_gives_the_same_answers(
    make_client: ClientFactory, infra: TestInfra, loaded: None
) -> None:
    questions = [
        ("/api/v1/indicators/DOSSIER_ON_TIME_RATE/values", {"period": "2024-03", "by": "org_unit"}),
        (
            "/api/v1/indicators/DOSSIER_OVERDUE_OPEN/series",
            {"from": "2024-01", "to": "2024-06", "grain": "month"},
        ),
        ("/api/v1/indicators/DOSSIER_SATISFACTION_RATE/values", {"period": "2024", "by": "field"}),
    ]
    async with make_client(app()) as client:
        before = [await get(client, p, **q) for p, q in questions]
        assert await run_rebuild(infra.database_url) == 6
        after = [await get(client, p, **q) for p, q in questions]
    for old, new in zip(before, after, strict=True):
        old.pop("as_of"), new.pop("as_of")
        assert old == new
