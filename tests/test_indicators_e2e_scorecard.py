"""Acceptance 3 of the indicators issue: with the four shared plans imported and a year of
simulated dossiers, the scorecard of 4212/KH-UBND lists all 12 targets, each with a value or
``no_data`` and a status.

Everything runs for real: PostgreSQL and JetStream, the simulated one-stop system (2023 for Kon
Tum), the ingest backfilling that year through the LGSP API, the plans service importing the four
shared plans, and the indicators service consuming every event they publish. The figures the
scorecard (and ``/values``) give are then held against the same indicators computed by brute
force from the simulator's ground truth (``GET /_sim/truth``) with the definitions of
shared/domain/indicators.md (``tests/support/brute_force.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from httpx import AsyncClient
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_indicators.main import create_app as create_indicators_app
from cchc_ingest.main import create_app as create_ingest_app
from cchc_plans.main import create_app as create_plans_app
from cchc_plans.testing import PLAN_FILES, import_file
from cchc_shared.settings import IndicatorsSettings, IngestSettings, PlansSettings
from tests.support.brute_force import (
    Record,
    Tally,
    Window,
    catalogue_parts,
    dossier_tally,
    percent,
    received_dossiers,
)
from tests.support.simulator_process import simulator_process

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_state")]

# A year of Kon Tum: 2023, the year of plan 4212/KH-UBND. 6,000 dossiers (≈ 32,000 versions in
# the change feed) keep the run under a minute on two shared cores (10,000 took two minutes
# with the machine busy); every rate compared below still rests on thousands of dossiers.
DOSSIERS = 6_000
YEAR = Window(date(2023, 1, 1), date(2024, 1, 1))
CLIENT_ID, CLIENT_SECRET = "cchc", "e2e-scorecard"
PLAN_CODE = "4212/KH-UBND"
CONSUMERS = (("CCHC_INGEST", "indicators-ingest"), ("CCHC_PLANS", "indicators-plans"))
STATUSES = {"achieved", "on_track", "at_risk", "missed", "no_data"}
# Dossier indicators checked through /values beside the scorecard's own targets, over the year
# and over periods that end mid-year (open dossiers at the period's end count there).
CHECKED_CODES = (
    "DOSSIER_RECEIVED",
    "DOSSIER_ONLINE_RATE",
    "DOSSIER_POSTAL_RATE",
    "DOSSIER_DIGITIZED_RATE",
    "DOSSIER_E_CERTIFIED_RATE",
    "DOSSIER_ON_TIME_RATE",
    "DOSSIER_OVERDUE_OPEN",
    "DOSSIER_AVG_PROCESSING_DAYS",
    "DOSSIER_SATISFACTION_RATE",
)
CHECKED_PERIODS = {
    "2023": YEAR,
    "2023-Q2": Window(date(2023, 4, 1), date(2023, 7, 1)),
    "2023-11": Window(date(2023, 11, 1), date(2023, 12, 1)),
}
SIMULATOR = {
    "CCHC_SIMULATOR_SEED": "4212",
    "CCHC_SIMULATOR_DOSSIERS": str(DOSSIERS),
    "CCHC_SIMULATOR_END": "20231231",
    "CCHC_SIMULATOR_HISTORY_DAYS": "365",
    "CCHC_SIMULATOR_LIVE_RATE": "0",
    "CCHC_SIMULATOR_CLIENT_ID": CLIENT_ID,
    "CCHC_SIMULATOR_CLIENT_SECRET": CLIENT_SECRET,
}


def ingest_settings(lgsp_url: str) -> IngestSettings:
    return IngestSettings(
        lgsp_url=lgsp_url,
        lgsp_client_id=CLIENT_ID,
        lgsp_client_secret=CLIENT_SECRET,
        pii_hash_key="e2e-scorecard-pii",
        poll_from="now",  # the year comes by the backfill below, as an operator would ask
        poll_interval=1.0,
        catalogue_interval=3600.0,
        reconcile_interval=0,
    )


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    try:
        async with asyncio.timeout(seconds):
            while not await check():  # noqa: ASYNC110 - the state lives in other tasks' tables
                await asyncio.sleep(0.25)
    except TimeoutError:
        raise AssertionError(f"not within {seconds:.0f} s: {what}") from None


# -- the source's ground truth -------------------------------------------------------------------


async def truth_records(sim: AsyncClient) -> list[Record]:
    """The latest valid version of every dossier, as ``GET /_sim/truth`` lists them."""
    resp = await sim.get("/_sim/truth")
    resp.raise_for_status()
    lines = (orjson.loads(line) for line in resp.content.splitlines() if line)
    return [item["record"] for item in lines if item["kind"] == "dossier"]


async def source_catalogue(sim: AsyncClient) -> list[Record]:
    """The procedure catalogue as the LGSP serves it (``/motcua/1.0/thutuc``)."""
    token = await sim.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    procedures: list[Record] = []
    page = 1
    while True:
        resp = await sim.get(
            "/motcua/1.0/thutuc", params={"trang": page, "soLuong": 1000}, headers=headers
        )
        resp.raise_for_status()
        body = resp.json()
        procedures += body["data"]
        if len(procedures) >= body["tongSo"] or not body["data"]:
            return procedures
        page += 1


# -- waiting for the pipeline to be quiet --------------------------------------------------------


async def start_backfill(ingest: AsyncClient) -> str:
    """Ask for the year to be read from the source; answers where to follow the job."""
    answer = await ingest.post(
        "/api/v1/ingest/backfill",
        json={"from": YEAR.start.isoformat(), "to": YEAR.end.isoformat()},
    )
    assert answer.status_code == 202, answer.text
    return answer.headers["Location"]


async def backfill_done(ingest: AsyncClient, job: str) -> bool:
    body = (await ingest.get(job)).json()
    assert body["status"] != "failed", body
    return bool(body["status"] == "done")


async def catalogue_synced(ingest: AsyncClient) -> bool:
    status = (await ingest.get("/api/v1/ingest/status")).json()
    return any(s["source"] == "lgsp" and s["catalogue_synced_at"] for s in status["sources"])


async def outboxes_empty(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        for schema in ("ingest", "plans"):
            table = f"{schema}.outbox_events"  # our own schema names, not input
            backlog = await conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE published_at IS NULL")  # noqa: S608
            )
            if backlog.scalar_one():
                return False
    return True


async def indicators_caught_up(js: JetStreamContext) -> bool:
    """Both of the indicators service's consumers have applied (and acked) every message."""
    for stream, durable in CONSUMERS:
        info = await js.consumer_info(stream, durable)
        if info.num_pending or info.num_ack_pending:
            return False
    return True


# -- reading the indicators service --------------------------------------------------------------


async def values(client: AsyncClient, code: str, period: str) -> dict[str, Any]:
    resp = await client.get(f"/api/v1/indicators/{code}/values", params={"period": period})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def expected_figure(code: str, tally: Tally) -> tuple[float, float | None, float | None]:
    """(numerator, denominator, value) as the API answers them, from the brute force."""
    numerator, denominator = tally.figure(code)
    if code in ("DOSSIER_RECEIVED", "DOSSIER_OVERDUE_OPEN"):
        return numerator, None, numerator
    if code == "DOSSIER_AVG_PROCESSING_DAYS":
        return numerator, denominator, None if not denominator else numerator / denominator
    return numerator, denominator, percent(numerator, denominator)


def assert_figure(got: dict[str, Any], expected: tuple[float, float | None, float | None]) -> None:
    numerator, denominator, value = expected
    assert got["denominator"] == denominator, (got, expected)
    assert got["numerator"] == pytest.approx(numerator, rel=1e-9), (got, expected)
    if value is None:
        assert got["value"] is None, (got, expected)
    else:
        assert got["value"] == pytest.approx(value, rel=1e-9), (got, expected)


def judged(value: float | None, op: str, goal: float) -> str:
    """The status the year-end scorecard must give: the due date (31 December) has come."""
    if value is None:
        return "no_data"
    holds = {">=": value >= goal, "<=": value <= goal}[op]
    return "achieved" if holds else "missed"


@dataclass
class Observed:
    plan: dict[str, Any]
    card: dict[str, Any]
    checked: dict[tuple[str, str], dict[str, Any]]
    records: list[Record]
    procedures: list[Record]
    catalogue: dict[str, dict[str, Any]]


async def run_the_year(
    services: tuple[AsyncClient, AsyncClient, AsyncClient],
    sim: AsyncClient,
    engine: AsyncEngine,
    js: JetStreamContext,
) -> Observed:
    """Import the plans, backfill 2023, wait until every event is applied; read the figures."""
    indicators, plans, ingest = services
    job = await start_backfill(ingest)
    imported = {name: await import_file(plans, name) for name in PLAN_FILES}
    plan = imported["kontum-2023-4212.yaml"]["plan"]
    await eventually(lambda: backfill_done(ingest, job), 180, "the backfill of 2023")
    await eventually(lambda: catalogue_synced(ingest), 60, "the catalogue sync")
    await eventually(lambda: outboxes_empty(engine), 60, "ingest and plans publishing")
    await eventually(lambda: indicators_caught_up(js), 120, "indicators consuming")
    resp = await indicators.get(
        "/api/v1/scorecards", params={"plan_id": plan["id"], "at": "2023-12-31"}
    )
    assert resp.status_code == 200, resp.text
    checked = {
        (code, period): await values(indicators, code, period)
        for code in CHECKED_CODES
        for period in CHECKED_PERIODS
    }
    catalogue = {
        by: await ok_json(indicators, "/api/v1/catalog/summary", by=by)
        for by in ("level", "online_level")
    }
    catalogue["postal"] = await ok_json(
        indicators, "/api/v1/indicators/CATALOG_POSTAL_RATE/values", period="this_year"
    )
    records, procedures = await truth_records(sim), await source_catalogue(sim)
    return Observed(plan, resp.json(), checked, records, procedures, catalogue)


async def ok_json(client: AsyncClient, path: str, **params: str) -> dict[str, Any]:
    resp = await client.get(path, params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_scorecard_of_4212_with_a_simulated_year(
    make_client: ClientFactory, engine: AsyncEngine, js: JetStreamContext, tmp_path: Path
) -> None:
    with simulator_process(tmp_path, settings=SIMULATOR) as lgsp_url:
        async with (
            make_client(create_indicators_app(IndicatorsSettings())) as indicators,
            make_client(create_plans_app(PlansSettings())) as plans,
            make_client(create_ingest_app(ingest_settings(lgsp_url))) as ingest,
            AsyncClient(base_url=lgsp_url, timeout=60) as sim,
        ):
            seen = await run_the_year((indicators, plans, ingest), sim, engine, js)

    # The truth holds every simulated dossier, and no figure rests on a case indicators.md
    # leaves open.
    assert len(seen.records) == DOSSIERS
    dossiers, left_out = received_dossiers(seen.records)
    assert not left_out, left_out
    tallies = {period: dossier_tally(dossiers, w) for period, w in CHECKED_PERIODS.items()}
    for tally in tallies.values():
        assert not tally.unspecified, tally.unspecified
    year = tallies["2023"]
    expected = {
        **{code: expected_figure(code, year) for code in year.parts},
        **{
            code: (n, d or None, n if not d else percent(n, d))
            for code, (n, d) in catalogue_parts(seen.procedures, date(2023, 12, 31)).items()
        },
    }

    # All 12 targets, each with a value or no_data, each status allowed and as the value says.
    assert seen.card["plan_code"] == PLAN_CODE
    items = seen.card["items"]
    assert len(items) == 12
    assert {i["key"] for i in items} == {t["key"] for t in seen.plan["targets"]}
    for item in items:
        assert item["status"] in STATUSES, item
        assert item["value"] is not None or item["status"] == "no_data", item
        assert item["status"] == judged(item["value"], item["op"], item["target_value"]), item

    # The targets computed from data equal the brute force over the source's ground truth.
    computed = {i["measure"]: i for i in items if i["measure"] != "reported"}
    assert set(computed) == {
        "DOSSIER_ONLINE_PAYMENT_RATE",
        "DOSSIER_SYNCED_RATE",
        "CATALOG_FEE_ONLINE_PAYMENT_RATE",
        "CATALOG_PUBLISHED_RATE",
    }
    for measure, item in computed.items():
        assert_figure(item, expected[measure])
        assert item["denominator"] > 0, item  # a real figure, not an empty one
    # Reported targets: nobody has reported a figure, so there is none to judge.
    for item in items:
        if item["measure"] == "reported":
            assert (item["value"], item["status"]) == (None, "no_data"), item

    # Acceptance 2 of the indicators issue, through the real path (simulator → ingest's
    # catalogue sync → procedure events → indicators): the Kon Tum make-up of 2020, with the
    # legacy online levels mapped as the contract says (2 thông tin, 3 một phần, 4 toàn trình).
    by_level = seen.catalogue["level"]["items"]
    assert [(i["key"], i["count"]) for i in by_level] == [
        ("province", 1545),
        ("district", 237),
        ("commune", 102),
        ("several", 20),
    ]
    by_online = {i["key"]: i["count"] for i in seen.catalogue["online_level"]["items"]}
    assert by_online == {"none": 972, "partial": 298, "full": 634}
    postal = seen.catalogue["postal"]
    assert (postal["numerator"], postal["denominator"]) == (1344, 1904)

    # More dossier indicators, over the year and over periods ending mid-year.
    for (code, period), got in seen.checked.items():
        assert_figure(got, expected_figure(code, tallies[period]))
    assert seen.checked["DOSSIER_ON_TIME_RATE", "2023-Q2"]["denominator"] > 1000
