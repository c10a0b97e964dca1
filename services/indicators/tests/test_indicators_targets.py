"""Targets judged against their indicators: scorecards, statuses, and status-change events."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_indicators.api.common import CACHE
from cchc_indicators.main import create_app
from cchc_indicators.service import context
from cchc_indicators.service.targets import STATUS_CHANGED, evaluate_all
from cchc_indicators.store.models import OutboxEvent
from cchc_indicators.testing import (
    agency_event,
    apply,
    dossier_event,
    facts,
    figure_event,
    finished,
    org_unit_event,
    plan_event,
    procedure_event,
    target_event,
    vn,
)
from cchc_shared.db import create_sessionmaker, transaction
from cchc_shared.settings import IndicatorsSettings

ClientFactory = Callable[[FastAPI], AbstractAsyncContextManager[AsyncClient]]


@pytest.fixture(autouse=True)
def always_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads see each write at once (the service may reuse freshness for a quarter second)."""
    monkeypatch.setattr(context, "FRESHNESS_TTL", 0.0)


PLAN = uuid.uuid4()
T = {
    name: uuid.uuid4()
    for name in ("online", "on_time", "land", "reported", "ecert", "count", "fee", "scoped")
}
FIRST_FIGURE = uuid.uuid4()
UNIT_D = uuid.uuid4()


async def load(engine: AsyncEngine) -> None:
    CACHE.clear()
    await apply(
        engine,
        [
            agency_event("P", "UBND tỉnh", "province", None),
            agency_event("D", "UBND huyện", "district", "P"),
            agency_event("A1", "UBND xã", "commune", "D"),
            agency_event("S", "Sở", "department", "P"),
        ],
    )
    # plans knows D by a UUID: its org_unit.changed event joins the unit ingest described.
    await apply(engine, [org_unit_event(UNIT_D, "D", "UBND huyện Đắk Hà", "district", "P")])
    await apply(engine, [procedure_event("1.000001")])
    await apply(
        engine,
        [
            dossier_event(
                finished(
                    "X1", 1, vn(2024, 3, 5), channel="online", rating=5, rated_at=vn(2024, 3, 6)
                )
            ),
            dossier_event(facts("X2", 1, field_code="HO_TICH")),
            dossier_event(finished("X3", 1, vn(2024, 3, 20), agency_code="S")),
            dossier_event(
                facts(
                    "X4",
                    1,
                    agency_code="S",
                    field_code="HO_TICH",
                    rating=1,
                    rated_at=vn(2024, 3, 9),
                )
            ),
        ],
    )
    year_end = date(2024, 12, 31)
    await apply(
        engine,
        [
            plan_event(PLAN, "9999/KH-UBND", date(2024, 1, 1), year_end),
            target_event(T["online"], PLAN, "online", "DOSSIER_ONLINE_RATE", 10),
            target_event(
                T["on_time"], PLAN, "on-time", "DOSSIER_ON_TIME_RATE", 90, due=date(2024, 6, 30)
            ),
            target_event(
                T["land"],
                PLAN,
                "land",
                "DOSSIER_SATISFACTION_RATE",
                80,
                filter_={"field_group": ["dat_dai", "xay_dung"]},
            ),
            target_event(T["reported"], PLAN, "reported", "reported", 100),
            target_event(T["ecert"], PLAN, "ecert", "DOSSIER_E_CERTIFIED_RATE", 20),
            target_event(T["count"], PLAN, "count", "DOSSIER_RECEIVED", 10),
            target_event(T["fee"], PLAN, "fee", "CATALOG_FEE_ONLINE_PAYMENT_RATE", 100),
            target_event(T["scoped"], PLAN, "scoped", "DOSSIER_RECEIVED", 2, scope=UNIT_D, op="<="),
            figure_event(T["reported"], 80, vn(2024, 12, 20), figure_id=FIRST_FIGURE),
        ],
    )


def app() -> FastAPI:
    return create_app(IndicatorsSettings(run_background_workers=False))


async def scorecard(client: AsyncClient, at: str) -> dict[str, dict[str, Any]]:
    resp = await client.get("/api/v1/scorecards", params={"plan_id": str(PLAN), "at": at})
    assert resp.status_code == 200, resp.text
    return {item["key"]: item for item in resp.json()["items"]}


async def test_scorecard_statuses(
    make_client: ClientFactory, engine: AsyncEngine, clean_state: None
) -> None:
    await load(engine)
    async with make_client(app()) as client:
        year_end = await scorecard(client, "2024-12-31")
        march = await scorecard(client, "2024-03-31")
        await apply(
            engine, [figure_event(T["reported"], 100, vn(2024, 12, 28), supersedes=FIRST_FIGURE)]
        )
        corrected = await scorecard(client, "2024-12-31")
    assert len(year_end) == 8
    statuses = {key: item["status"] for key, item in year_end.items()}
    assert statuses == {
        "online": "achieved",  # 1 of 4 online: 25 % >= 10
        "on-time": "missed",  # by 30 June: X1 early; X3 late; X2, X4 overdue: 25 %
        "land": "achieved",  # only the land dossier's rating (5) counts, not X4's: 100 %
        "reported": "missed",  # 80 reported, the year is over
        "ecert": "missed",
        "count": "missed",  # 4 < 10
        "fee": "no_data",  # no procedure has a fee: no denominator
        "scoped": "achieved",  # D's subtree received 2 (X1, X2) <= 2
    }
    assert year_end["online"]["value"] == 25.0 and year_end["online"]["gap"] == 15.0
    assert year_end["reported"]["reported"]["reported_by"] == "so-noi-vu"
    # Before the due dates, the trend of the last three complete months decides:
    # received per month 0, 0, 4: a line rising 2 a month reaches 10 well before December.
    assert march["count"]["status"] == "on_track"
    assert march["ecert"]["status"] == "at_risk"  # 0 % with one month of data: flat
    assert corrected["reported"]["status"] == "achieved"
    assert corrected["reported"]["value"] == 100.0


async def test_status_changes_are_published_once(engine: AsyncEngine, clean_state: None) -> None:
    await load(engine)
    sessions = create_sessionmaker(engine)
    async with transaction(sessions) as session:
        first = await evaluate_all(session)
    async with transaction(sessions) as session:
        second = await evaluate_all(session)
    await apply(
        engine, [figure_event(T["reported"], 100, vn(2024, 12, 28), supersedes=FIRST_FIGURE)]
    )
    async with transaction(sessions) as session:
        third = await evaluate_all(session)
        events = (await session.execute(select(OutboxEvent.envelope))).scalars().all()
    assert (first, second, third) == (8, 0, 1)
    assert {e["type"] for e in events} == {STATUS_CHANGED}
    change = [e["data"] for e in events if e["data"]["target_id"] == str(T["reported"])]
    assert [(c["previous_status"], c["status"]) for c in change] == [
        (None, "missed"),
        ("missed", "achieved"),
    ]
