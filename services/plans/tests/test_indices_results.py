"""Acceptance 2: two years of results for a province and its districts, loaded from a CSV file
and a YAML file, give through the API the weakest components, the change from last year and
the ranks that the hand computation below gives. Every figure here is TEST DATA on a TEST
framework, not any real index's."""

from __future__ import annotations

import asyncio
from typing import Any

import yaml
from httpx import AsyncClient
from nats.js import JetStreamContext
from nats.js.errors import FetchTimeoutError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_plans.store.models import OutboxEvent
from cchc_shared.events.consumer import decode_events
from cchc_shared.events.envelope import CloudEvent

# A test framework (not a real index): 3 areas, 100 points; area 3 has no criteria.
TEST_FRAMEWORK = {
    "code": "TEST_PAR_NOI_BO",
    "version": "thử nghiệm",
    "name": "Bộ chỉ số CCHC nội bộ THỬ NGHIỆM (dữ liệu kiểm thử)",
    "valid_from_year": 2023,
    "unit_levels": ["province", "district"],
    "max_score": 100,
    "nodes": [
        {"code": "A", "name": "Lĩnh vực A", "max_score": 40, "scoring": "computed", "children": [
            {"code": "A1", "name": "Tiêu chí A1", "max_score": 25,
             "scoring": "self_assessed_appraised"},
            {"code": "A2", "name": "Tiêu chí A2", "max_score": 15, "scoring": "survey"}]},
        {"code": "B", "name": "Lĩnh vực B", "max_score": 35, "scoring": "computed", "children": [
            {"code": "B1", "name": "Tiêu chí B1", "max_score": 20,
             "scoring": "self_assessed_appraised"},
            {"code": "B2", "name": "Tiêu chí B2", "max_score": 15,
             "scoring": "self_assessed_appraised"}]},
        {"code": "C", "name": "Lĩnh vực C", "max_score": 25, "scoring": "survey"},
    ],
}  # fmt: skip
PROVINCE, TP_KON_TUM, DAK_GLEI, NGOC_HOI = (
    "000.00.00.H34",
    "000.20.00.H34",
    "000.21.00.H34",
    "000.22.00.H34",
)

# 2023, as a CSV file (`;`-separated, decimal commas as a Vietnamese spreadsheet writes them).
# Units by code or by slug in `province`. The province's row without a component carries its
# published rank (40th of 63).
CSV_2023 = """\
province;framework;year;unit;component;self_assessed;appraised;survey;evidence;rank;rank_of
kon-tum;TEST_PAR_NOI_BO;2023;000.00.00.H34;;;;;;40;63
kon-tum;TEST_PAR_NOI_BO;2023;000.00.00.H34;A1;22;20;;BC 01/BC-UBND | QĐ 02/QĐ-UBND;;
kon-tum;TEST_PAR_NOI_BO;2023;000.00.00.H34;A2;;;10;;;
kon-tum;TEST_PAR_NOI_BO;2023;000.00.00.H34;B1;;15;;;;
kon-tum;TEST_PAR_NOI_BO;2023;000.00.00.H34;B2;;12;;;;
kon-tum;TEST_PAR_NOI_BO;2023;000.00.00.H34;C;;;18;;;
kon-tum;TEST_PAR_NOI_BO;2023;tp-kon-tum;A1;;22;;;;
kon-tum;TEST_PAR_NOI_BO;2023;tp-kon-tum;A2;;;12;;;
kon-tum;TEST_PAR_NOI_BO;2023;tp-kon-tum;B1;;18;;;;
kon-tum;TEST_PAR_NOI_BO;2023;tp-kon-tum;B2;;13;;;;
kon-tum;TEST_PAR_NOI_BO;2023;tp-kon-tum;C;;;20;;;
kon-tum;TEST_PAR_NOI_BO;2023;dak-glei;A1;;18;;;;
kon-tum;TEST_PAR_NOI_BO;2023;dak-glei;A2;;;9;;;
kon-tum;TEST_PAR_NOI_BO;2023;dak-glei;B1;;14;;;;
kon-tum;TEST_PAR_NOI_BO;2023;dak-glei;B2;;10;;;;
kon-tum;TEST_PAR_NOI_BO;2023;dak-glei;C;;;15;;;
kon-tum;TEST_PAR_NOI_BO;2023;ngoc-hoi;A1;;21;;;;
kon-tum;TEST_PAR_NOI_BO;2023;ngoc-hoi;A2;;;11;;;
kon-tum;TEST_PAR_NOI_BO;2023;ngoc-hoi;B1;;16;;;;
kon-tum;TEST_PAR_NOI_BO;2023;ngoc-hoi;B2;;12;;;;
kon-tum;TEST_PAR_NOI_BO;2023;ngoc-hoi;C;;;18,0;;;
"""


def _unit(ref: str, a1: Any, a2: Any, b1: Any, b2: Any, c: Any, **extra: Any) -> dict[str, Any]:
    a1_part = a1 if isinstance(a1, dict) else {"appraised": a1}
    scores = [
        {"component": "A1", **a1_part},
        {"component": "A2", "survey": a2},
        {"component": "B1", "appraised": b1},
        {"component": "B2", "appraised": b2},
        {"component": "C", "survey": c},
    ]
    return {"unit": ref, **extra, "scores": scores}


# 2024, as a YAML document. The province publishes a total (82.5, which the analysis uses over
# the sum of its areas, 82) and a rank (31st of 63). Ngọc Hồi's A1 is self-assessed only.
YAML_2024 = {
    "framework": "TEST_PAR_NOI_BO",
    "year": 2024,
    "province": "kon-tum",
    "units": [
        _unit(PROVINCE, 23, 11, 16, 13, 19, total=82.5, rank=31, rank_of=63),
        _unit("tp-kon-tum", 20, 12, 17, 13, 19),
        _unit("dak-glei", 22, 12, 18, 14, 17),
        _unit("ngoc-hoi", {"self_assessed": 21}, 11, 17, 13, 19),
    ],
}

# The hand computation. Area scores = sum of criteria; total = A + B + C.
#   2023  province  A 20+10=30  B 15+12=27  C 18  total 75   rank 40/63 (published)
#         tp        A 22+12=34  B 18+13=31  C 20  total 85   rank 1/3
#         dak-glei  A 18+9=27   B 14+10=24  C 15  total 66   rank 3/3
#         ngoc-hoi  A 21+11=32  B 16+12=28  C 18  total 78   rank 2/3
#   2024  province  A 23+11=34  B 16+13=29  C 19  total 82.5 (published; areas add to 82)
#                                                 rank 31/63 (published): up 9, total +7.5
#         tp        A 20+12=32  B 17+13=30  C 19  total 81   rank 2/3 (tie): down 1, −4
#         dak-glei  A 22+12=34  B 18+14=32  C 17  total 83   rank 1/3: up 2, +17
#         ngoc-hoi  A 21+11=32  B 17+13=30  C 19  total 81   rank 2/3 (tie), provisional
# Points lost 2024 (max A 40, B 35, C 25):
#         dak-glei  A 6 (0.15)  B 3 (0.0857)  C 8 (0.32)    → C, A, B
#         tp        A 8 (0.2)   B 5 (0.1429)  C 6 (0.24)    → A, C, B
#         province  A 6 (0.15)  B 6 (0.1714)  C 6 (0.24)    → equal points: C, B, A by share
#         province, criteria (max A1 25, A2 15, B1 20, B2 15): A1 2 (0.08), A2 4 (0.2667),
#                   B1 4 (0.2), B2 2 (0.1333) → A2, B1, B2, A1
# Change 2024 − 2023, largest drop first (ties in framework order):
#         dak-glei  A +7  B +8  C +2   → C, A, B
#         tp        A −2  B −1  C −1   → A, B, C


async def _load(client: AsyncClient) -> None:
    framework = await client.post("/api/v1/indices/frameworks", json=TEST_FRAMEWORK)
    assert framework.status_code == 201, framework.text
    csv = await client.post(
        "/api/v1/indices/results/import",
        content=CSV_2023.encode(),
        headers={"content-type": "text/csv; charset=utf-8"},
    )
    assert csv.status_code == 201, csv.text
    assert (csv.json()["created"], csv.json()["year"]) == (4, 2023)
    body = yaml.safe_dump(YAML_2024, allow_unicode=True).encode()
    loaded = await client.post(
        "/api/v1/indices/results/import",
        content=body,
        headers={"content-type": "application/yaml"},
    )
    assert loaded.status_code == 201, loaded.text


async def analysis(client: AsyncClient, unit: str, **params: Any) -> dict[str, Any]:
    resp = await client.get(
        "/api/v1/indices/analysis",
        params={"framework": "TEST_PAR_NOI_BO", "year": 2024, "unit": unit, **params},
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _weakest(body: dict[str, Any]) -> list[tuple[str, float, float]]:
    return [(w["code"], w["lost"], w["lost_share"]) for w in body["weakest"]]


def _changes(body: dict[str, Any]) -> list[tuple[str, float]]:
    return [(c["code"], c["change"]) for c in body["changes"]]


def _rank(body: dict[str, Any]) -> tuple[int, int | None, str]:
    return body["rank"]["rank"], body["rank"]["of"], body["rank"]["basis"]


async def test_two_years_give_the_hand_computed_analysis(
    client: AsyncClient, engine: AsyncEngine, js: JetStreamContext
) -> None:
    await _load(client)

    dak_glei = await analysis(client, DAK_GLEI)
    assert (dak_glei["total"], dak_glei["total_basis"]) == (83.0, "computed")
    assert _weakest(dak_glei) == [("C", 8.0, 0.32), ("A", 6.0, 0.15), ("B", 3.0, 0.0857)]
    assert _changes(dak_glei) == [("C", 2.0), ("A", 7.0), ("B", 8.0)]
    assert _rank(dak_glei) == (1, 3, "computed")
    assert dak_glei["previous"]["total"] == 66.0 and dak_glei["previous"]["rank"]["rank"] == 3
    assert (dak_glei["total_change"], dak_glei["rank_change"]) == (17.0, 2)

    tp = await analysis(client, "tp-kon-tum", province="kon-tum")
    assert tp["total"] == 81.0
    assert _weakest(tp) == [("A", 8.0, 0.2), ("C", 6.0, 0.24), ("B", 5.0, 0.1429)]
    assert _changes(tp) == [("A", -2.0), ("B", -1.0), ("C", -1.0)]
    assert (_rank(tp), tp["total_change"], tp["rank_change"]) == ((2, 3, "computed"), -4.0, -1)

    ngoc_hoi = await analysis(client, NGOC_HOI)
    assert (ngoc_hoi["total"], ngoc_hoi["total_provisional"], _rank(ngoc_hoi)) == (
        81.0,
        True,
        (2, 3, "computed"),
    )

    province = await analysis(client, PROVINCE)
    assert (province["total"], province["total_basis"]) == (82.5, "published")
    assert _weakest(province) == [("C", 6.0, 0.24), ("B", 6.0, 0.1714), ("A", 6.0, 0.15)]
    assert (_rank(province), province["previous"]["rank"]["rank"]) == ((31, 63, "published"), 40)
    assert (province["total_change"], province["rank_change"]) == (7.5, 9)
    criteria = await analysis(client, PROVINCE, depth=2)
    assert [w["code"] for w in criteria["weakest"]] == ["A2", "B1", "B2", "A1"]

    ranking = (
        await client.get(
            "/api/v1/indices/rankings",
            params={"framework": "TEST_PAR_NOI_BO", "year": 2024, "level": "district"},
        )
    ).json()["items"]
    best = ranking[0]
    assert (best["org_unit"]["code"], best["rank"]["rank"], best["total"]) == (DAK_GLEI, 1, 83.0)
    assert {(r["org_unit"]["code"], r["rank"]["rank"]) for r in ranking[1:]} == {
        (TP_KON_TUM, 2),
        (NGOC_HOI, 2),
    }

    # The detail keeps every part and the evidence.
    listed = (
        await client.get(
            "/api/v1/indices/results",
            params={"framework": "TEST_PAR_NOI_BO", "year": 2023, "unit": PROVINCE},
        )
    ).json()["items"]
    detail = (await client.get(f"/api/v1/indices/results/{listed[0]['id']}")).json()
    a1 = next(s for s in detail["scores"] if s["component"] == "A1")
    assert (a1["self_assessed"], a1["appraised"], a1["score"], a1["evidence"]) == (
        22.0,
        20.0,
        20.0,
        ["BC 01/BC-UBND", "QĐ 02/QĐ-UBND"],
    )
    assert detail["total"] == 75.0
    assert detail["rank"] == {"rank": 40, "of": 63, "basis": "published"}

    # Events: one `loaded` per unit and year; the same file again announces nothing.
    again = await client.post("/api/v1/indices/results", json=YAML_2024)
    assert (again.status_code, again.json()["unchanged"]) == (200, 4)
    events = await _index_events(engine)
    assert [e["type"] for e in events] == ["vn.cchc.indices.results.loaded"] * 8
    first = events[0]["data"]
    assert (first["framework_code"], first["year"], first["org_unit_code"]) == (
        "TEST_PAR_NOI_BO",
        2023,
        PROVINCE,
    )
    assert (first["total"], first["published_rank"], first["version"]) == (75.0, 40, 1)
    # ... and the relay publishes them on the CCHC_INDICES stream, each once.
    published = await read_indices_stream(js, expected=8)
    assert sorted(e.id for e in published) == sorted(e["id"] for e in events)


async def read_indices_stream(js: JetStreamContext, *, expected: int) -> list[CloudEvent]:
    """Every event on CCHC_INDICES once the outbox is published (the relay may pack several
    events in one message)."""
    sub = await js.pull_subscribe("cchc.indices.>", stream="CCHC_INDICES")
    found: list[CloudEvent] = []
    async with asyncio.timeout(30):
        while len(found) < expected:
            try:
                messages = await sub.fetch(100, timeout=0.5)
            except (TimeoutError, FetchTimeoutError):
                continue
            for message in messages:
                found.extend(decode_events(message.data))
                await message.ack()
    await sub.unsubscribe()
    return found


async def _index_events(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(OutboxEvent.nats_subject, OutboxEvent.envelope)
                .where(OutboxEvent.nats_subject.like("cchc.indices.%"))
                .order_by(OutboxEvent.seq)
            )
        ).all()
    assert all(subject == envelope["type"].removeprefix("vn.") for subject, envelope in rows)
    return [envelope for _, envelope in rows]


async def test_changes_are_announced_and_faults_name_their_place(
    client: AsyncClient, engine: AsyncEngine
) -> None:
    await _load(client)
    corrected = {**YAML_2024, "units": [_unit("dak-glei", 22, 12, 18, 14, 20)]}  # C 17 → 20
    resp = await client.post("/api/v1/indices/results", json=corrected)
    assert (resp.status_code, resp.json()["changed"]) == (200, 1), resp.text
    changed = [e for e in await _index_events(engine) if e["type"].endswith(".changed")]
    data = [e["data"] for e in changed]
    assert [(d["previous_total"], d["total"], d["version"]) for d in data] == [(83.0, 86.0, 2)]

    # A score above its component's maximum, an unknown component, a unit of another level.
    faulty = {
        "framework": "TEST_PAR_NOI_BO",
        "year": 2024,
        "province": "kon-tum",
        "units": [
            _unit("dak-glei", 26, 12, 18, 14, 17),
            {"unit": "so-noi-vu", "scores": [{"component": "Z9", "survey": 1}]},
        ],
    }
    resp = await client.post("/api/v1/indices/results", json=faulty)
    assert resp.status_code == 422
    assert sorted(e["field"] for e in resp.json()["errors"]) == [
        "body.units[0].scores[0].appraised",
        "body.units[1].scores[0].component",
        "body.units[1].unit",
    ]
    bad_csv = CSV_2023.replace("dak-glei;B1;;14;", "dak-glei;B1;;24;")  # max 20
    resp = await client.post(
        "/api/v1/indices/results/import",
        content=bad_csv.encode(),
        headers={"content-type": "text/csv"},
    )
    assert resp.status_code == 422
    [error] = resp.json()["errors"]
    assert error["field"] == "body.rows[13].appraised" and error["message"].startswith("line 15")
    unknown = {**YAML_2024, "framework": "NO_SUCH_INDEX"}
    resp = await client.post("/api/v1/indices/results", json=unknown)
    assert [e["field"] for e in resp.json()["errors"]] == ["body.framework"]


async def test_shipped_par_index_without_maxima_still_gives_totals_and_change(
    client: AsyncClient,
) -> None:
    """With the shipped PAR INDEX (no maximum known) nothing can be said about points lost, but
    totals, ranks and changes stand. TEST FIGURES."""

    def year(y: int, scores: list[int]) -> dict[str, Any]:
        return {
            "framework": "PAR_INDEX",
            "year": y,
            "units": [
                {
                    "unit": PROVINCE,
                    "scores": [{"component": str(i + 1), "score": s} for i, s in enumerate(scores)],
                }
            ],
        }

    for y, scores in ((2022, [7, 8, 9, 7, 8, 9, 6, 30]), (2023, [8, 8, 9, 6, 8, 9, 7, 31])):
        resp = await client.post("/api/v1/indices/results", json=year(y, scores))
        assert resp.status_code == 201, resp.text
    body = (
        await client.get(
            "/api/v1/indices/analysis",
            params={"framework": "PAR_INDEX", "year": 2023, "unit": PROVINCE},
        )
    ).json()
    assert body["weakest"] == [] and body["without_maximum"] == [str(i) for i in range(1, 9)]
    assert (body["total"], body["total_change"]) == (86.0, 2.0)  # 84 → 86
    assert [(c["code"], c["change"]) for c in body["changes"]][:2] == [("4", -1.0), ("2", 0.0)]
    assert body["rank"] == {"rank": 1, "of": 1, "basis": "computed"}
