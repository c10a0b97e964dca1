"""``/api/v1/ingest`` through the real app: push, status, quarantine, stored dossiers, jobs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from httpx import AsyncClient

from cchc_ingest.main import create_app
from cchc_ingest.samples import dossier_record
from cchc_shared.settings import IngestSettings

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]
CODE = "000.00.01.H34-240305-00017"

pytestmark = pytest.mark.usefixtures("clean_state")


def app_without_source() -> object:
    return create_app(IngestSettings(lgsp_url=None, pii_hash_key="k"))


async def test_pushed_records_are_stored_once_and_unreadable_ones_quarantined(
    make_client: ClientFactory,
) -> None:
    records = [dossier_record(PhienBan=2), dossier_record(PhienBan=1), dossier_record(MaHoSo="")]
    async with make_client(app_without_source(), role="integration") as client:
        first = await client.post("/api/v1/ingest/dossiers", json={"data": records})
        again = await client.post("/api/v1/ingest/dossiers", json={"data": records[:1]})
        stored = await client.get(f"/api/v1/ingest/dossiers/{CODE}")
        status = await client.get("/api/v1/ingest/status")
        quarantine = await client.get("/api/v1/ingest/quarantine")
    assert first.status_code == 200, first.text
    assert first.json() | {"rejected": None} == {
        "taken": 3,
        "stored": 1,
        "duplicates": 1,
        "quarantined": 1,
        "rejected": None,
    }
    assert first.json()["rejected"] == [{"index": 2, "reason": "MaHoSo: missing"}]
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 1
    dossier = stored.json()
    assert (dossier["version"], dossier["source"]) == (2, "push")
    assert dossier["facts"]["channel"] == "online"
    (push,) = status.json()["sources"]
    assert (push["source"], push["records_taken"], push["stored"]) == ("push", 4, 1)
    assert status.json()["dossiers"] == 1 and status.json()["quarantined_records"] == 1
    (held,) = quarantine.json()["items"]
    assert held["reason"] == "MaHoSo: missing" and held["payload"]["PhienBan"] == 3
    assert held["payload"]["ChuHoSo"].startswith("hmac-sha256:")


async def test_quarantine_pages_with_an_opaque_cursor(make_client: ClientFactory) -> None:
    bad = [dossier_record(MaHoSo=f"B-{i}", TrangThaiHoSo="0") for i in range(5)]
    async with make_client(app_without_source(), role="admin") as client:
        await client.post("/api/v1/ingest/dossiers", json={"data": bad})
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/api/v1/ingest/quarantine", params=params)).json()
            seen += [item["record_code"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        broken = await client.get("/api/v1/ingest/quarantine", params={"cursor": "%%%"})
    assert sorted(seen) == [f"B-{i}" for i in range(5)]
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"] == "query.cursor"


async def test_bad_requests_are_problems_naming_the_field(make_client: ClientFactory) -> None:
    async with make_client(app_without_source(), role="admin") as client:
        too_many = await client.post(
            "/api/v1/ingest/dossiers", json={"data": [dossier_record()] * 1001}
        )
        not_a_list = await client.post("/api/v1/ingest/dossiers", json={"data": "x"})
        missing = await client.get("/api/v1/ingest/dossiers/NOPE")
        no_source = await client.post("/api/v1/ingest/backfill", json={"from": "2024-01-01"})
        backwards = await client.post(
            "/api/v1/ingest/reconciliations", json={"from": "2024-02-01", "to": "2024-01-01"}
        )
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "body.data"
    assert not_a_list.status_code == 422
    assert missing.status_code == 404
    assert no_source.status_code == 409
    assert backwards.status_code in (409, 422)
    for resp in (too_many, missing, no_source):
        assert resp.headers["content-type"] == "application/problem+json"


async def test_roles_guard_writes(make_client: ClientFactory) -> None:
    async with make_client(app_without_source(), role="viewer") as viewer:
        push = await viewer.post("/api/v1/ingest/dossiers", json={"data": []})
        status = await viewer.get("/api/v1/ingest/status")
    async with make_client(app_without_source(), role="integration") as lgsp:
        backfill = await lgsp.post("/api/v1/ingest/backfill", json={"from": "2024-01-01"})
    assert push.status_code == 403 and status.status_code == 200
    assert backfill.status_code == 403


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def test_cursors_and_codes_the_database_cannot_hold_are_refused_with_the_parameter(
    make_client: ClientFactory,
) -> None:
    """An id past 64 bits, an instant outside years 1-9999 in UTC, or a NUL in a dossier code
    failed in the database driver (500s); each is refused with the parameter named."""
    uid = "00000000-0000-0000-0000-000000000001"
    async with make_client(app_without_source(), role="admin") as client:
        answers = [
            ("query.cursor", await client.get("/api/v1/ingest/quarantine", params={"cursor": c}))
            for c in (_cursor(2**63), _cursor(-1))
        ]
        answers += [
            ("query.cursor", await client.get(f"/api/v1/ingest/{path}", params={"cursor": c}))
            for path in ("backfill", "reconciliations")
            for c in (
                _cursor(["0001-01-01T00:00:00+01:00", uid]),
                _cursor(["9999-12-31T23:59:59-01:00", uid]),
                _cursor(["2024-01-01T00:00:00", uid]),
            )
        ]
        answers.append(("path.code", await client.get("/api/v1/ingest/dossiers/a%00b")))
        edge = await client.get(
            "/api/v1/ingest/backfill", params={"cursor": _cursor(["0001-01-01T00:00:00Z", uid])}
        )
        absent = await client.get("/api/v1/ingest/dossiers/000.00.01.H34-240305-99999")
    for field, resp in answers:
        assert resp.status_code == 422, (field, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in resp.json()["errors"]] == [field], resp.text
    assert edge.status_code == 200 and edge.json()["items"] == []
    assert absent.status_code == 404


async def test_records_with_nul_in_a_code_are_quarantined_not_a_server_error(
    make_client: ClientFactory,
) -> None:
    """PostgreSQL text holds no NUL: such a code cannot be stored, nor written as the
    quarantined record's code; the record is quarantined with the field named."""
    records = [
        {"MaHoSo": "a\u0000"},
        dossier_record(MaHoSo="000.00.01.H34-240305-0\u000018"),
        dossier_record(MaDonVi="000.00.01.H34\u0000"),
        dossier_record(),
    ]
    async with make_client(app_without_source(), role="integration") as client:
        pushed = await client.post("/api/v1/ingest/dossiers", json={"data": records})
        quarantine = await client.get("/api/v1/ingest/quarantine")
    assert pushed.status_code == 200, pushed.text
    assert (pushed.json()["stored"], pushed.json()["quarantined"]) == (1, 3)
    reasons = [r["reason"] for r in pushed.json()["rejected"]]
    assert reasons[1:] == ["MaHoSo: contains a NUL character", "MaDonVi: contains a NUL character"]
    held = {item["record_code"] for item in quarantine.json()["items"]}
    assert "000.00.01.H34-240305-0\\x0018" in held and "a\\x00" in held
