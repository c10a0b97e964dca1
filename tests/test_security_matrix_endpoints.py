"""Acceptance 1 of the security issue over the real API: every role × every endpoint × a
principal with no limit or limited to an org unit × an org unit inside or outside that limit gets
the answer the table below says, through the gateway and at the owning service directly.

Everything runs for real: plans, indicators and ingest under uvicorn, verifying tokens with the
keys the gateway publishes; the gateway in front; accounts made through its accounts API and
tokens from its token endpoint. The org-unit tree is made through the plans API; the indicators
service gets the same units (and the plan's targets) through its own event handler, as its
consumer would apply them.

The tree: `tinh` (province) ─ `huyen-a` (district) ─ `xa-a1` (commune), and `huyen-b` (district).
Limited principals are limited to `huyen-a`: `xa-a1` is inside, `huyen-b` outside.

The table (ROWS) is the specification, written independently of the code:
- `roles`: who may call it at all (admin always may); everyone else gets 403.
- `scope`: NONE — names no org unit (plan documents, catalogues): a limited
  principal is answered like any other (lists across units are checked in
  `test_lists_keep_only_the_subtree`); UNIT — the call names an org unit (`inside` or `outside`
  the limit): outside gets 403 naming the field; UNSCOPED — a province-wide document, an
  account, or the ingest's operations: only principals with no org-unit limit.
- `ok`: the exact success status sent with a valid body. `PASSES` marks the few writes whose valid
  body is not cheap to make (or whose target is gone after the first call): allowed roles must
  get past authorisation (neither 401 nor 403, nor a 5xx), the others exactly 403.
Every operation of the combined OpenAPI document must have a row, so a new endpoint without one
fails `test_every_operation_has_a_row`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_gateway.routes import service_for
from cchc_gateway.testing import ADMIN_PASSWORD, bearer, password_token
from cchc_indicators.testing import apply, org_unit_event, plan_event, target_event
from cchc_ingest.samples import dossier_record
from cchc_launcher.services import SCHEMAS
from cchc_shared.embedded import free_port
from cchc_shared.testing import TestInfra, truncate_schemas
from tests.support.system import serving_system

pytestmark = pytest.mark.slow

ROLES = ("admin", "planner", "agency_officer", "viewer", "integration")
READ = frozenset(ROLES)
PLANNER = frozenset({"planner"})
REPORTER = frozenset({"agency_officer", "planner"})
INTEGRATION = frozenset({"integration"})
ADMIN = frozenset({"admin"})
PROVINCE = "matrix"  # the test tree's province slug
YEAR = 2026  # the issued plan's year
INDEX = "MX"  # an index framework of the test's own, assessing districts and communes


class Scope(Enum):
    NONE = "none"
    UNIT = "unit"
    UNSCOPED = "unscoped"


NONE, UNIT, UNSCOPED = Scope.NONE, Scope.UNIT, Scope.UNSCOPED
PASSES = None  # see the module docstring


@dataclass(frozen=True)
class Call:
    path: str
    params: dict[str, Any] | None = None
    json: Any = None


@dataclass
class World:
    """What the setup made: ids of the tree, plans, index data and ingest jobs."""

    units: dict[str, str]  # slug -> id
    codes: dict[str, str]  # slug -> code
    plan: str  # issued, with the targets and tasks below
    draft: str  # a draft plan (its header, targets and tasks may change freely)
    targets: dict[str, str]  # key -> id
    tasks: dict[str, str]
    draft_target: str
    draft_task: str
    framework_id: str
    results: dict[str, str]  # slug -> index result id
    dossier: str
    backfill_job: str
    reconciliation: str
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def n(self) -> int:
        return next(self.counter)

    def unit(self, inside: bool) -> str:
        return self.units["xa-a1" if inside else "huyen-b"]

    def task(self, inside: bool) -> str:
        return self.tasks["task-in" if inside else "task-out"]


Build = Callable[[World, bool], Call]


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # as the OpenAPI document names it
    roles: frozenset[str]
    scope: Scope
    ok: int | None
    build: Build
    gateway_only: bool = False

    def expected(self, role: str, limited: bool, inside: bool) -> int | None:
        """The status the table promises (None: past authorisation, see PASSES)."""
        if role != "admin" and role not in self.roles:
            return 403
        if limited and (self.scope is UNSCOPED or (self.scope is UNIT and not inside)):
            return 403
        return self.ok


def at(path: str, **params: Any) -> Build:
    """A call with no body whose path and query do not depend on the org unit."""
    return lambda w, inside: Call(path.format(w=w), params or None)


def plan_doc(w: World, status: str) -> dict[str, Any]:
    return {
        "code": f"MATRIX-{w.n()}",
        "kind": "annual_plan",
        "title": "Kế hoạch kiểm thử phân quyền",
        "province": PROVINCE,
        "period": {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"},
        "status": status,
    }


def framework_doc(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "version": "v1",
        "name": "Bộ chỉ số kiểm thử",
        "unit_levels": ["district", "commune"],
        "max_score": 10,
        "nodes": [{"code": "1", "name": "Lĩnh vực 1", "max_score": 10, "scoring": "survey"}],
    }


def results_doc(w: World, slugs: list[str], total: int = 5) -> dict[str, Any]:
    return {
        "framework": INDEX,
        "year": 2025,
        "units": [
            {"unit": w.units[s], "total": total + i, "scores": [{"component": "1", "score": 5}]}
            for i, s in enumerate(slugs)
        ],
    }


def org_unit_body(w: World, inside: bool) -> dict[str, Any]:
    parent = w.units["huyen-a" if inside else "huyen-b"]
    return {"code": f"M.NEW.{w.n()}", "name": "Xã mới", "level": "commune", "parent_id": parent}


def indicator(kind: str) -> Build:
    def build(w: World, inside: bool) -> Call:
        params: dict[str, Any] = {"org_unit": w.codes["xa-a1" if inside else "huyen-b"]}
        if kind == "series":
            params |= {"from": f"{YEAR}-01", "to": f"{YEAR}-03"}
        return Call(f"/api/v1/indicators/DOSSIER_RECEIVED/{kind}", params)

    return build


def with_org_unit(path: str) -> Build:
    return lambda w, inside: Call(path, {"org_unit": w.unit(inside)})


# fmt: off
ROWS: tuple[Row, ...] = (
    # plans: org units (a limited planner edits its subtree)
    Row("GET", "/api/v1/org-units", READ, NONE, 200, at("/api/v1/org-units", all_periods="true")),
    Row("POST", "/api/v1/org-units", PLANNER, UNIT, 201,
        lambda w, i: Call("/api/v1/org-units", json=org_unit_body(w, i))),
    Row("GET", "/api/v1/org-units/{unit_id}", READ, UNIT, 200,
        lambda w, i: Call(f"/api/v1/org-units/{w.unit(i)}")),
    Row("PATCH", "/api/v1/org-units/{unit_id}", PLANNER, UNIT, 200,
        lambda w, i: Call(f"/api/v1/org-units/{w.unit(i)}", json={"name": f"Đơn vị {w.n()}"})),
    Row("GET", "/api/v1/org-units/{unit_id}/history", READ, UNIT, 200,
        lambda w, i: Call(f"/api/v1/org-units/{w.unit(i)}/history")),
    # plans: documents of the province (read by all, written by unlimited planners)
    Row("POST", "/api/v1/plans/import", PLANNER, UNSCOPED, 201,
        lambda w, i: Call("/api/v1/plans/import", json=plan_doc(w, "issued"))),
    Row("POST", "/api/v1/plans", PLANNER, UNSCOPED, 201,
        lambda w, i: Call("/api/v1/plans", json=plan_doc(w, "draft"))),
    Row("GET", "/api/v1/plans", READ, NONE, 200, at("/api/v1/plans")),
    Row("GET", "/api/v1/plans/{plan_id}", READ, NONE, 200, at("/api/v1/plans/{w.plan}")),
    Row("PATCH", "/api/v1/plans/{plan_id}", PLANNER, UNSCOPED, 200,
        lambda w, i: Call(f"/api/v1/plans/{w.draft}", json={"title": f"Dự thảo {w.n()}"})),
    Row("GET", "/api/v1/plans/{plan_id}/audit", READ, NONE, 200,
        at("/api/v1/plans/{w.plan}/audit")),
    Row("GET", "/api/v1/plans/{plan_id}/targets", READ, NONE, 200,
        at("/api/v1/plans/{w.plan}/targets")),
    Row("POST", "/api/v1/plans/{plan_id}/targets", PLANNER, UNSCOPED, 201,
        lambda w, i: Call(f"/api/v1/plans/{w.draft}/targets", json={
            "key": f"t-{w.n()}", "area": "tthc", "text": "Chỉ tiêu", "measure": "reported",
            "op": ">=", "value": 1, "unit": "percent"})),
    Row("GET", "/api/v1/plans/{plan_id}/tasks", READ, NONE, 200,
        at("/api/v1/plans/{w.plan}/tasks")),
    Row("POST", "/api/v1/plans/{plan_id}/tasks", PLANNER, UNSCOPED, 201,
        lambda w, i: Call(f"/api/v1/plans/{w.draft}/tasks", json={
            "key": f"k-{w.n()}", "area": "tthc", "title": "Nhiệm vụ", "lead": "xa-a1"})),
    Row("GET", "/api/v1/targets/{target_id}", READ, NONE, 200,
        at("/api/v1/targets/{w.targets[reported]}")),
    Row("PATCH", "/api/v1/targets/{target_id}", PLANNER, UNSCOPED, 200,
        lambda w, i: Call(f"/api/v1/targets/{w.draft_target}", json={"text": f"Sửa {w.n()}"})),
    # figures are reported for an org unit: a limited reporter, for its subtree only
    Row("POST", "/api/v1/targets/{target_id}/reports", REPORTER, UNIT, 201,
        lambda w, i: Call(f"/api/v1/targets/{w.targets['reported']}/reports",
                          json={"period": f"{YEAR}-Q1", "org_unit_id": w.unit(i), "value": 40})),
    Row("GET", "/api/v1/targets/{target_id}/reports", READ, NONE, 200,
        at("/api/v1/targets/{w.targets[reported]}/reports")),
    Row("GET", "/api/v1/tasks", READ, UNIT, 200,
        lambda w, i: Call("/api/v1/tasks", {"lead_org_unit": w.unit(i)})),
    Row("GET", "/api/v1/tasks/{task_id}", READ, NONE, 200,
        at("/api/v1/tasks/{w.tasks[task-in]}")),
    Row("PATCH", "/api/v1/tasks/{task_id}", PLANNER, UNSCOPED, 200,
        lambda w, i: Call(f"/api/v1/tasks/{w.draft_task}", json={"title": f"Sửa {w.n()}"})),
    # progress is the lead unit's: inside = a task xa-a1 leads, outside = one huyen-b leads
    Row("POST", "/api/v1/tasks/{task_id}/progress", REPORTER, UNIT, 201,
        lambda w, i: Call(f"/api/v1/tasks/{w.task(i)}/progress", json={"percent_complete": 10})),
    Row("GET", "/api/v1/tasks/{task_id}/progress", READ, UNIT, 200,
        lambda w, i: Call(f"/api/v1/tasks/{w.task(i)}/progress")),
    # plans: indices (frameworks, results and links are province-wide documents)
    Row("POST", "/api/v1/indices/frameworks", PLANNER, UNSCOPED, 201,
        lambda w, i: Call("/api/v1/indices/frameworks", json=framework_doc(f"MX_{w.n()}"))),
    Row("POST", "/api/v1/indices/frameworks/import", PLANNER, UNSCOPED, 201,
        lambda w, i: Call("/api/v1/indices/frameworks/import", json=framework_doc(f"MX_{w.n()}"))),
    Row("GET", "/api/v1/indices/frameworks", READ, NONE, 200, at("/api/v1/indices/frameworks")),
    Row("GET", "/api/v1/indices/frameworks/{framework_id}", READ, NONE, 200,
        at("/api/v1/indices/frameworks/{w.framework_id}")),
    Row("GET", "/api/v1/indices/rankings", READ, NONE, 200,
        at("/api/v1/indices/rankings", framework=INDEX, year=2025, level="district")),
    Row("GET", "/api/v1/indices/analysis", READ, UNIT, 200,
        lambda w, i: Call("/api/v1/indices/analysis",
                          {"framework": INDEX, "year": 2025, "unit": w.unit(i)})),
    Row("GET", "/api/v1/indices/components/{framework_code}/{component}", READ, NONE, 200,
        at(f"/api/v1/indices/components/{INDEX}/1")),
    # loading the same results again answers 200 (unchanged) instead of 201
    Row("POST", "/api/v1/indices/results", PLANNER, UNSCOPED, PASSES,
        lambda w, i: Call("/api/v1/indices/results", json=results_doc(w, ["xa-a1"]))),
    Row("POST", "/api/v1/indices/results/import", PLANNER, UNSCOPED, PASSES,
        lambda w, i: Call("/api/v1/indices/results/import", json=results_doc(w, ["xa-a1"]))),
    Row("GET", "/api/v1/indices/results", READ, UNIT, 200,
        lambda w, i: Call("/api/v1/indices/results", {"unit": w.unit(i)})),
    Row("GET", "/api/v1/indices/results/{result_id}", READ, UNIT, 200,
        lambda w, i: Call(f"/api/v1/indices/results/{w.results['xa-a1' if i else 'huyen-b']}")),
    # the same link again answers 200 instead of 201
    Row("POST", "/api/v1/indices/links", PLANNER, UNSCOPED, PASSES,
        lambda w, i: Call("/api/v1/indices/links", json={
            "task_id": w.tasks["task-in"], "framework": INDEX, "component": "1"})),
    Row("GET", "/api/v1/indices/links", READ, NONE, 200, at("/api/v1/indices/links")),
    # an unknown link: 404 once past authorisation
    Row("DELETE", "/api/v1/indices/links/{link_id}", PLANNER, UNSCOPED, PASSES,
        lambda w, i: Call(f"/api/v1/indices/links/{uuid.uuid4()}")),
    # indicators: every read names its org unit, or is a catalogue, or lists across units
    Row("GET", "/api/v1/indicators", READ, NONE, 200, at("/api/v1/indicators")),
    Row("GET", "/api/v1/indicators/{code}/values", READ, UNIT, 200, indicator("values")),
    Row("GET", "/api/v1/indicators/{code}/series", READ, UNIT, 200, indicator("series")),
    Row("GET", "/api/v1/indicators/{code}/ranking", READ, NONE, 200,
        at("/api/v1/indicators/DOSSIER_RECEIVED/ranking", level="district")),
    Row("GET", "/api/v1/scorecards", READ, NONE, 200,
        lambda w, i: Call("/api/v1/scorecards", {"plan_id": w.plan})),
    Row("GET", "/api/v1/catalog/summary", READ, NONE, 200, at("/api/v1/catalog/summary")),
    Row("GET", "/api/v1/org-units/{org_unit}/overview", READ, UNIT, 200,
        lambda w, i: Call(f"/api/v1/org-units/{w.unit(i)}/overview")),
    Row("GET", "/api/v1/dossiers/overdue", READ, UNIT, 200,
        with_org_unit("/api/v1/dossiers/overdue")),
    Row("GET", "/api/v1/scores/qd766", READ, UNIT, 200, with_org_unit("/api/v1/scores/qd766")),
    # ingest: operations of the whole province's feed: principals with no org-unit limit only
    Row("GET", "/api/v1/ingest/status", READ, UNSCOPED, 200, at("/api/v1/ingest/status")),
    Row("GET", "/api/v1/ingest/quarantine", READ, UNSCOPED, 200, at("/api/v1/ingest/quarantine")),
    Row("POST", "/api/v1/ingest/dossiers", INTEGRATION, UNSCOPED, 200,
        lambda w, i: Call("/api/v1/ingest/dossiers", json={"data": [dossier_record(
            MaHoSo=f"M-{w.n()}", MaDonVi=w.codes["xa-a1"])]})),
    Row("GET", "/api/v1/ingest/dossiers/{code}", READ, UNSCOPED, 200,
        at("/api/v1/ingest/dossiers/{w.dossier}")),
    Row("POST", "/api/v1/ingest/backfill", ADMIN, UNSCOPED, 202,
        lambda w, i: Call("/api/v1/ingest/backfill",
                          json={"from": "2024-01-01", "to": "2024-01-02"})),
    Row("GET", "/api/v1/ingest/backfill", READ, UNSCOPED, 200, at("/api/v1/ingest/backfill")),
    Row("GET", "/api/v1/ingest/backfill/{job_id}", READ, UNSCOPED, 200,
        at("/api/v1/ingest/backfill/{w.backfill_job}")),
    Row("POST", "/api/v1/ingest/reconciliations", ADMIN, UNSCOPED, 202,
        lambda w, i: Call("/api/v1/ingest/reconciliations",
                          json={"from": "2024-01-01", "to": "2024-01-02"})),
    Row("GET", "/api/v1/ingest/reconciliations", READ, UNSCOPED, 200,
        at("/api/v1/ingest/reconciliations")),
    Row("GET", "/api/v1/ingest/reconciliations/{run_id}", READ, UNSCOPED, 200,
        at("/api/v1/ingest/reconciliations/{w.reconciliation}")),
    # gateway: accounts and audit are for an administrator with no org-unit limit
    Row("GET", "/api/v1/auth/me", READ, NONE, 200, at("/api/v1/auth/me"), gateway_only=True),
    Row("GET", "/api/v1/auth/accounts", ADMIN, UNSCOPED, 200, at("/api/v1/auth/accounts"),
        gateway_only=True),
    Row("POST", "/api/v1/auth/accounts", ADMIN, UNSCOPED, PASSES,
        lambda w, i: Call("/api/v1/auth/accounts", json={}), gateway_only=True),
    Row("PATCH", "/api/v1/auth/accounts/{kind}/{name}", ADMIN, UNSCOPED, PASSES,
        lambda w, i: Call("/api/v1/auth/accounts/user/nobody", json={"display_name": "Không ai"}),
        gateway_only=True),
    Row("GET", "/api/v1/auth/audit", ADMIN, UNSCOPED, 200, at("/api/v1/auth/audit"),
        gateway_only=True),
)
# fmt: on
PUBLIC = {("POST", "/api/v1/auth/token")}
"""Operations anyone may call (the token endpoint): no row, by design."""


# --- the system under test ---------------------------------------------------------------------


@dataclass
class System:
    gateway: AsyncClient
    services: dict[str, AsyncClient]
    tokens: dict[tuple[str, bool], dict[str, str]]  # (role, limited) -> headers
    world: World


@pytest.fixture(scope="module")
async def system(
    infra: TestInfra, service_env: dict[str, str], engine: AsyncEngine
) -> AsyncIterator[System]:
    await truncate_schemas(infra.database_url, SCHEMAS)
    # A source is configured (nothing listens there, and no worker runs) so that backfills and
    # reconciliations can be asked for.
    async with serving_system(
        rate_limit=100_000,
        plans={"demo_data": False},
        ingest={"lgsp_url": f"http://127.0.0.1:{free_port()}"},
    ) as served:
        clients = {n: AsyncClient(base_url=u, timeout=30) for n, u in served.service_urls.items()}
        try:
            async with AsyncClient(base_url=served.gateway_url, timeout=30) as gateway:
                admin = bearer(await password_token(gateway, "admin", ADMIN_PASSWORD))
                world = await make_world(gateway, admin, engine)
                tokens = await make_tokens(gateway, admin, world.units["huyen-a"])
                yield System(gateway, clients, tokens, world)
        finally:
            for client in clients.values():
                await client.aclose()


def ok(resp: Response, *statuses: int) -> Any:
    assert resp.status_code in (statuses or (200, 201, 202)), resp.text
    return resp.json()


async def make_world(gw: AsyncClient, admin: dict[str, str], engine: AsyncEngine) -> World:
    units, codes = await make_tree(gw, admin)
    plan = ok(await gw.post("/api/v1/plans/import", headers=admin, json=issued_plan()))["plan"]
    draft = ok(await gw.post("/api/v1/plans", headers=admin, json=draft_plan()))["plan"]
    targets = {t["key"]: t["id"] for t in plan["targets"]}
    tasks = {t["key"]: t["id"] for t in plan["tasks"]}
    framework = ok(
        await gw.post("/api/v1/indices/frameworks", headers=admin, json=framework_doc(INDEX))
    )
    world = World(
        units=units,
        codes=codes,
        plan=plan["id"],
        draft=draft["id"],
        targets=targets,
        tasks=tasks,
        draft_target=draft["targets"][0]["id"],
        draft_task=draft["tasks"][0]["id"],
        framework_id=framework["framework"]["id"],
        results={},
        dossier="M-0",
        backfill_job="",
        reconciliation="",
    )
    await make_index_results(gw, admin, world)
    await make_reports(gw, admin, world)
    await make_ingest_data(gw, admin, world)
    await apply(engine, indicator_events(world, plan))
    return world


async def make_index_results(gw: AsyncClient, admin: dict[str, str], world: World) -> None:
    doc = results_doc(world, ["huyen-a", "huyen-b", "xa-a1"])
    ok(await gw.post("/api/v1/indices/results", headers=admin, json=doc))
    found = ok(await gw.get("/api/v1/indices/results", headers=admin, params={"framework": INDEX}))
    slugs = {unit_id: slug for slug, unit_id in world.units.items()}
    world.results = {slugs[r["org_unit"]["id"]]: r["id"] for r in found["items"]}


async def make_reports(gw: AsyncClient, admin: dict[str, str], world: World) -> None:
    """A figure for a unit inside the limit and one outside; progress on both tasks."""
    for slug in ("xa-a1", "huyen-b"):
        figure = {"period": f"{YEAR}-Q1", "org_unit_id": world.units[slug], "value": 40}
        url = f"/api/v1/targets/{world.targets['reported']}/reports"
        ok(await gw.post(url, headers=admin, json=figure))
    for inside in (True, False):
        url = f"/api/v1/tasks/{world.task(inside)}/progress"
        ok(await gw.post(url, headers=admin, json={"percent_complete": 5}))


TREE = (  # slug, level, parent slug
    ("tinh", "province", None),
    ("huyen-a", "district", "tinh"),
    ("xa-a1", "commune", "huyen-a"),
    ("huyen-b", "district", "tinh"),
)


async def make_tree(
    gw: AsyncClient, admin: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    units: dict[str, str] = {}
    codes: dict[str, str] = {}
    for i, (slug, level, parent) in enumerate(TREE):
        body = {
            "code": f"M.{i:02d}",
            "slug": slug,
            "province": PROVINCE,
            "name": f"Đơn vị {slug}",
            "level": level,
            "parent_id": units[parent] if parent else None,
        }
        made = ok(await gw.post("/api/v1/org-units", headers=admin, json=body), 201)
        units[slug], codes[slug] = made["id"], made["code"]
    return units, codes


def issued_plan() -> dict[str, Any]:
    target = {"area": "tthc", "text": "Chỉ tiêu", "op": ">=", "unit": "percent"}
    return {
        "code": "MATRIX-ISSUED",
        "kind": "annual_plan",
        "title": "Kế hoạch CCHC kiểm thử",
        "province": PROVINCE,
        "period": {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"},
        "status": "issued",
        "targets": [
            {**target, "key": "reported", "measure": "reported", "value": 30},
            {
                **target,
                "key": "online-a1",
                "measure": "DOSSIER_ONLINE_RATE",
                "value": 30,
                "scope": "xa-a1",
            },
            {
                **target,
                "key": "online-b",
                "measure": "DOSSIER_ONLINE_RATE",
                "value": 30,
                "scope": "huyen-b",
            },
            {**target, "key": "online", "measure": "DOSSIER_ONLINE_RATE", "value": 30},
        ],
        "tasks": [
            {"key": "task-in", "area": "tthc", "title": "Nhiệm vụ của xã A1", "lead": "xa-a1"},
            {"key": "task-out", "area": "tthc", "title": "Nhiệm vụ của huyện B", "lead": "huyen-b"},
        ],
    }


def draft_plan() -> dict[str, Any]:
    return {
        **issued_plan(),
        "code": "MATRIX-DRAFT",
        "status": "draft",
        "targets": [issued_plan()["targets"][0]],
        "tasks": [issued_plan()["tasks"][0]],
    }


async def make_ingest_data(gw: AsyncClient, admin: dict[str, str], world: World) -> None:
    record = dossier_record(MaHoSo=world.dossier, MaDonVi=world.codes["xa-a1"])
    ok(await gw.post("/api/v1/ingest/dossiers", headers=admin, json={"data": [record]}))
    window = {"from": "2024-01-01", "to": "2024-01-02"}
    world.backfill_job = ok(await gw.post("/api/v1/ingest/backfill", headers=admin, json=window))[
        "id"
    ]
    world.reconciliation = ok(
        await gw.post("/api/v1/ingest/reconciliations", headers=admin, json=window)
    )["id"]


def indicator_events(world: World, plan: dict[str, Any]) -> list[Any]:
    """The units and the plan's dossier targets as the indicators consumer gets them."""
    events = [
        org_unit_event(
            uuid.UUID(world.units[slug]),
            world.codes[slug],
            f"Đơn vị {slug}",
            level,
            world.codes[parent] if parent else None,
        )
        for slug, level, parent in TREE
    ]
    plan_id = uuid.UUID(plan["id"])
    events.append(plan_event(plan_id, "MATRIX-ISSUED", date(YEAR, 1, 1), date(YEAR, 12, 31)))
    for t in plan["targets"]:
        if t["measure"] != "reported":
            scope = uuid.UUID(t["scope_org_unit_id"]) if t["scope_org_unit_id"] else None
            events.append(
                target_event(uuid.UUID(t["id"]), plan_id, t["key"], t["measure"], 30, scope=scope)
            )
    return events


async def make_tokens(
    gw: AsyncClient, admin: dict[str, str], scope: str
) -> dict[tuple[str, bool], dict[str, str]]:
    tokens = {}
    for role in ROLES:
        for limited in (False, True):
            name = f"matrix-{role}{'-limited' if limited else ''}"
            secret = f"secret-of-{name}-0123"
            account = {
                "kind": "user",
                "name": name,
                "roles": [role],
                "org_unit_scope": scope if limited else None,
                "secret": secret,
            }
            ok(await gw.post("/api/v1/auth/accounts", headers=admin, json=account), 201)
            tokens[(role, limited)] = bearer(await password_token(gw, name, secret))
    return tokens


# --- the tests ---------------------------------------------------------------------------------


async def send(client: AsyncClient, method: str, call: Call, headers: dict[str, str]) -> Response:
    return await client.request(
        method, call.path, params=call.params, json=call.json, headers=headers
    )


def judged(want: int | None, resp: Response, *, out_of_scope: bool) -> str | None:
    """What is wrong with the answer, or None; ``out_of_scope``: a 403 must name the field."""
    got = resp.status_code
    if want is None:
        return None if got not in (401, 403) and got < 500 else f"{got}, want past authorisation"
    if got != want:
        return f"{got}, want {want}: {resp.text[:200]}"
    if got == 403:
        if resp.headers["content-type"] != "application/problem+json":
            return "403 without a problem document"
        if out_of_scope and not (resp.json().get("errors") or []):
            return "403 for an org unit outside the limit names no field"
    return None


async def test_every_role_on_every_endpoint_in_and_out_of_scope(system: System) -> None:
    failures = []
    for row in ROWS:
        for role in ROLES:
            for limited in (False, True):
                for inside in (True, False) if row.scope is UNIT else (True,):
                    want = row.expected(role, limited, inside)
                    doors = [("gateway", system.gateway)]
                    if not row.gateway_only:
                        service = service_for(row.path.replace("{", "x").replace("}", "x"))
                        assert service is not None, row.path
                        doors.append((service, system.services[service]))
                    for door, client in doors:
                        call = row.build(system.world, inside)
                        resp = await send(client, row.method, call, system.tokens[(role, limited)])
                        denied_for_unit = row.scope is UNIT and limited and not inside
                        out_of_scope = denied_for_unit and row.expected(role, False, True) != 403
                        fault = judged(want, resp, out_of_scope=out_of_scope)
                        if fault:
                            who = f"{role}{' limited' if limited else ''}"
                            where = (
                                ""
                                if row.scope is not UNIT
                                else (" inside" if inside else " outside")
                            )
                            failures.append(
                                f"{door} {row.method} {call.path}{where} as {who}: {fault}"
                            )
    assert failures == [], "\n".join(failures)


async def test_every_operation_has_a_row(system: System) -> None:
    document = ok(await system.gateway.get("/api/v1/openapi.json"))
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete", "head"}
    }
    rows = {(r.method, r.path) for r in ROWS}
    assert len(rows) == len(ROWS), "two rows for one operation"
    assert sorted(operations - rows - PUBLIC) == [], "operations without a row"
    assert sorted(rows - operations) == [], "rows of operations that do not exist"


async def get(system: System, path: str, limited: bool, **params: Any) -> Any:
    headers = system.tokens[("viewer", limited)]
    return ok(await system.gateway.get(path, headers=headers, params=params or None), 200)


def subtree(units: list[dict[str, Any]], root: str) -> set[str]:
    """Ids of the root and every unit below it, by the units' own `parent_id`."""
    parents = {u["id"]: u["parent_id"] for u in units}
    inside = set()
    for unit_id in parents:
        current: str | None = unit_id
        while current is not None and current != root:
            current = parents.get(current)
        if current == root:
            inside.add(unit_id)
    return inside


async def test_lists_keep_only_the_subtree(system: System) -> None:
    """Lists across units: a limited viewer gets the rows of its subtree, an unlimited one more."""
    w = system.world
    a, b, a1 = w.units["huyen-a"], w.units["huyen-b"], w.units["xa-a1"]
    every = await get(system, "/api/v1/org-units", False, all_periods="true", limit=500)
    inside = subtree(every["items"], a)
    assert {a, a1} <= inside and b not in inside
    seen = await get(system, "/api/v1/org-units", True, all_periods="true", limit=500)
    assert {u["id"] for u in seen["items"]} == inside

    def leads(page: Any) -> set[str]:
        return {t["lead_org_unit_id"] for t in page["items"]}

    assert {a1, b} <= leads(await get(system, "/api/v1/tasks", False))
    assert leads(await get(system, "/api/v1/tasks", True)) == {a1}

    reports = f"/api/v1/targets/{w.targets['reported']}/reports"
    assert {a1, b} <= {f["org_unit_id"] for f in (await get(system, reports, False))["items"]}
    assert {f["org_unit_id"] for f in (await get(system, reports, True))["items"]} == {a1}

    rankings = {"framework": INDEX, "year": 2025, "level": "district"}
    every = await get(system, "/api/v1/indices/rankings", False, **rankings)
    seen = await get(system, "/api/v1/indices/rankings", True, **rankings)
    assert {s["org_unit"]["id"] for s in every["items"]} == {a, b}
    assert [(s["org_unit"]["id"], s["rank"]) for s in seen["items"]] == [
        (s["org_unit"]["id"], s["rank"]) for s in every["items"] if s["org_unit"]["id"] == a
    ]
    results = "/api/v1/indices/results"
    assert {r["org_unit"]["id"] for r in (await get(system, results, False))["items"]} == {a, b, a1}
    assert {r["org_unit"]["id"] for r in (await get(system, results, True))["items"]} == {a, a1}

    ranking = "/api/v1/indicators/DOSSIER_RECEIVED/ranking"
    every = await get(system, ranking, False, level="district")
    assert {r["org_unit_id"] for r in every["items"]} == {a, b}
    assert [
        r["org_unit_id"] for r in (await get(system, ranking, True, level="district"))["items"]
    ] == [a]

    def keys(card: Any) -> set[str]:
        return {t["key"] for t in card["items"]}

    assert keys(await get(system, "/api/v1/scorecards", False, plan_id=w.plan)) == {
        "online-a1",
        "online-b",
        "online",
    }
    assert keys(await get(system, "/api/v1/scorecards", True, plan_id=w.plan)) == {"online-a1"}


async def test_a_limited_reader_defaults_to_its_own_unit(system: System) -> None:
    """No org unit asked for: the whole province unlimited, the principal's own unit limited
    (asked in this order, so an answer cached for the first caller must not serve the second)."""
    a = system.world.units["huyen-a"]
    for path in (
        "/api/v1/indicators/DOSSIER_RECEIVED/values",
        "/api/v1/dossiers/overdue",
        "/api/v1/scores/qd766",
    ):
        assert (await get(system, path, False))["org_unit_id"] is None, path
        assert (await get(system, path, True))["org_unit_id"] == a, path
    series = await get(
        system,
        "/api/v1/indicators/DOSSIER_RECEIVED/series",
        True,
        **{"from": f"{YEAR}-01", "to": f"{YEAR}-02"},
    )
    assert series["org_unit_id"] == a

    document = ok(await system.gateway.get("/api/v1/openapi.json"))
    parameters = document["paths"]["/api/v1/indicators/{code}/values"]["get"]["parameters"]
    org_unit = next(p for p in parameters if p["name"] == "org_unit")
    assert "gets its own unit when this is omitted" in org_unit["description"]


async def test_a_refusal_names_the_field(system: System) -> None:
    w = system.world
    officer = system.tokens[("agency_officer", True)]
    outside, code = w.units["huyen-b"], w.codes["huyen-b"]
    calls = {
        "query.org_unit": (
            "GET",
            Call("/api/v1/indicators/DOSSIER_RECEIVED/values", {"org_unit": code}),
        ),
        "path.org_unit": ("GET", Call(f"/api/v1/org-units/{code}/overview")),
        "path.unit_id": ("GET", Call(f"/api/v1/org-units/{outside}")),
        "query.lead_org_unit": ("GET", Call("/api/v1/tasks", {"lead_org_unit": outside})),
        "body.org_unit_id": (
            "POST",
            Call(
                f"/api/v1/targets/{w.targets['reported']}/reports",
                json={"period": f"{YEAR}-Q2", "org_unit_id": outside, "value": 1},
            ),
        ),
        "path.task_id": (
            "POST",
            Call(f"/api/v1/tasks/{w.task(False)}/progress", json={"percent_complete": 50}),
        ),
        "body.parent_id": ("POST", Call("/api/v1/org-units", json=org_unit_body(w, False))),
    }
    for field_name, (method, call) in calls.items():
        headers = system.tokens[("planner", True)] if field_name == "body.parent_id" else officer
        resp = await send(system.gateway, method, call, headers)
        assert resp.status_code == 403, (field_name, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in resp.json()["errors"]] == [field_name]
