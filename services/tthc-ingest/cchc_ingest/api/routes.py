"""``/api/v1/ingest``: status, quarantine, pushed records, backfills and reconciliations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc_ingest.api import paging, views
from cchc_ingest.api.schemas import (
    BackfillJobView,
    BackfillPage,
    BackfillRequest,
    DossierView,
    IngestStatus,
    PushBody,
    PushResult,
    QuarantinePage,
    ReconcileRequest,
    ReconciliationPage,
    ReconciliationView,
    Rejection,
)
from cchc_ingest.domain.dossier import PiiHasher, RecordRejected, parse_dossier
from cchc_ingest.domain.instants import VN, local_day_start
from cchc_ingest.pipeline.backfill import create_job
from cchc_ingest.pipeline.records import prepare_page
from cchc_ingest.pipeline.write import write_page
from cchc_ingest.store import jobs, queries, reconciliations, state
from cchc_ingest.store.raw import raw_connection
from cchc_shared.app import ServiceContext
from cchc_shared.auth import Role, province_wide_only, require_roles
from cchc_shared.db import DbSession
from cchc_shared.errors import Conflict, FieldError, NotFound, ValidationFailed
from cchc_shared.settings import IngestSettings

PUSH_SOURCE = "push"
POLLED_SOURCE = "lgsp"
MAX_RECONCILE_DAYS = 400

# The feed's operations are province-wide: a principal limited to an org unit gets 403 on all.
router = APIRouter(
    prefix="/api/v1/ingest", tags=["ingest"], dependencies=[Depends(province_wide_only)]
)
ADMIN_ONLY = [Depends(require_roles(Role.ADMIN))]


def _settings(request: Request) -> IngestSettings:
    ctx: ServiceContext = request.app.state.ctx
    assert isinstance(ctx.settings, IngestSettings)
    return ctx.settings


@router.get("/status", response_model=IngestStatus)
async def ingest_status(request: Request, session: DbSession) -> IngestStatus:
    """Per source: last poll, cursor, lag, records taken, duplicates, quarantine, errors."""
    conn = await session.connection()
    rows = {row["source"]: row for row in await state.all_states(conn)}
    configured = bool(_settings(request).lgsp_url)
    names = sorted(set(rows) | ({POLLED_SOURCE} if configured else set()))
    return IngestStatus(
        sources=[
            views.source_status(n, rows.get(n), configured=n == POLLED_SOURCE and configured)
            for n in names
        ],
        **await queries.totals(conn),
    )


@router.get("/quarantine", response_model=QuarantinePage)
async def quarantine(
    session: DbSession,
    limit: paging.Limit = 50,
    cursor: paging.CursorParam = None,
    kind: Annotated[str | None, Query(pattern="^(dossier|procedure|agency)$")] = None,
) -> QuarantinePage:
    """Records that could not be read, oldest first, with the reason and the raw payload."""
    rows = await queries.quarantine_page(
        await session.connection(), limit=limit, after_id=paging.decode_id(cursor), kind=kind
    )
    next_cursor = paging.encode(rows[-1]["id"]) if len(rows) == limit else None
    return QuarantinePage(items=[views.quarantine_item(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/dossiers", response_model=PushResult, dependencies=[Depends(require_roles(Role.INTEGRATION))]
)
async def push_dossiers(request: Request, body: PushBody, session: DbSession) -> PushResult:
    """Changed dossier records pushed by a source: same parsing, same version rule, same events.

    Unreadable records are quarantined (and listed in the answer), never refused as a whole.
    """
    hasher = PiiHasher(_settings(request).pii_hash_key)
    page = prepare_page(body.data, parse_dossier, hasher, source=PUSH_SOURCE)
    conn = await session.connection()
    outcome = await write_page(await raw_connection(conn), page)
    await state.record_page(conn, PUSH_SOURCE, outcome)
    return PushResult(
        taken=outcome.taken,
        stored=outcome.stored,
        duplicates=outcome.duplicates,
        quarantined=outcome.quarantined,
        rejected=_rejections(body.data, hasher),
    )


def _rejections(records: list[object], hasher: PiiHasher) -> list[Rejection]:
    rejected = []
    for index, raw in enumerate(records):
        try:
            parse_dossier(raw, hasher)
        except RecordRejected as exc:
            rejected.append(Rejection(index=index, reason=exc.reason))
    return rejected


DossierCode = Annotated[
    str,
    # Text PostgreSQL can hold: a NUL failed in the database (a 500 where a 422 belongs).
    Path(pattern=r"^[^\x00]*$", description="MaHoSo, e.g. `000.00.01.H34-240305-00017`."),
]


@router.get("/dossiers/{code}", response_model=DossierView)
async def stored_dossier(code: DossierCode, session: DbSession) -> DossierView:
    """The dossier as stored: its latest version, derived facts and canonical record."""
    row = await queries.dossier(await session.connection(), code)
    if row is None:
        raise NotFound("Dossier", code)
    return DossierView.model_validate(
        {**row, "facts": orjson.loads(row["facts"]), "record": orjson.loads(row["record"])}
    )


def _instant(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=VN)
    return local_day_start(value)


@router.post(
    "/backfill",
    status_code=202,
    response_model=BackfillJobView,
    response_model_by_alias=True,
    dependencies=ADMIN_ONLY,
)
async def start_backfill(
    request: Request, body: BackfillRequest, session: DbSession, response: Response
) -> BackfillJobView:
    """Re-read a time range of the source's change feed (admin). Runs in the background."""
    if not _settings(request).lgsp_url:
        raise Conflict("No source is configured (CCHC_LGSP_URL): there is nothing to read.")
    range_from = _instant(body.range_from)
    range_to = _instant(body.range_to) if body.range_to is not None else None
    if range_to is not None and range_to <= range_from:
        raise ValidationFailed([FieldError(field="body.to", message="must be later than `from`")])
    conn = await session.connection()
    job_id = await create_job(conn, POLLED_SOURCE, range_from, range_to)
    response.headers["Location"] = f"/api/v1/ingest/backfill/{job_id}"
    return await _job_view(conn, job_id)


async def _job_view(conn: AsyncConnection, job_id: uuid.UUID) -> BackfillJobView:
    row = await jobs.get(conn, job_id)
    if row is None:
        raise NotFound("Backfill job", job_id)
    return views.backfill_job(row, await jobs.slices(conn, job_id))


@router.get("/backfill/{job_id}", response_model=BackfillJobView, response_model_by_alias=True)
async def backfill_progress(job_id: uuid.UUID, session: DbSession) -> BackfillJobView:
    """A backfill job and how far it has read."""
    return await _job_view(await session.connection(), job_id)


@router.get("/backfill", response_model=BackfillPage, response_model_by_alias=True)
async def backfill_jobs(
    session: DbSession, limit: paging.Limit = 50, cursor: paging.CursorParam = None
) -> BackfillPage:
    """Backfill jobs, newest first."""
    conn = await session.connection()
    rows = await jobs.listing(conn, limit=limit, before=paging.decode_time_id(cursor))
    items = [views.backfill_job(r, await jobs.slices(conn, r["id"])) for r in rows]
    last = rows[-1] if len(rows) == limit else None
    return BackfillPage(
        items=items,
        next_cursor=paging.encode_time_id(last["created_at"], last["id"]) if last else None,
    )


@router.post(
    "/reconciliations",
    status_code=202,
    response_model=ReconciliationView,
    response_model_by_alias=True,
    dependencies=ADMIN_ONLY,
)
async def start_reconciliation(
    request: Request, body: ReconcileRequest, session: DbSession, response: Response
) -> ReconciliationView:
    """Compare the source's daily counts with ours per local day; re-read where they differ."""
    if not _settings(request).lgsp_url:
        raise Conflict("No source is configured (CCHC_LGSP_URL): there is nothing to compare.")
    if body.day_to < body.day_from:
        raise ValidationFailed([FieldError(field="body.to", message="must not be before `from`")])
    if (body.day_to - body.day_from).days >= MAX_RECONCILE_DAYS:
        raise ValidationFailed(
            [FieldError(field="body.to", message=f"at most {MAX_RECONCILE_DAYS} days at once")]
        )
    conn = await session.connection()
    run_id = await reconciliations.create(conn, body.day_from, body.day_to)
    response.headers["Location"] = f"/api/v1/ingest/reconciliations/{run_id}"
    row = await reconciliations.get(conn, run_id)
    assert row is not None
    return views.reconciliation(row)


@router.get(
    "/reconciliations/{run_id}", response_model=ReconciliationView, response_model_by_alias=True
)
async def reconciliation(run_id: uuid.UUID, session: DbSession) -> ReconciliationView:
    """A reconciliation run and its report."""
    row = await reconciliations.get(await session.connection(), run_id)
    if row is None:
        raise NotFound("Reconciliation", run_id)
    return views.reconciliation(row)


@router.get("/reconciliations", response_model=ReconciliationPage, response_model_by_alias=True)
async def reconciliation_runs(
    session: DbSession, limit: paging.Limit = 50, cursor: paging.CursorParam = None
) -> ReconciliationPage:
    """Reconciliation runs, newest first."""
    rows = await reconciliations.listing(
        await session.connection(), limit=limit, before=paging.decode_time_id(cursor)
    )
    last = rows[-1] if len(rows) == limit else None
    return ReconciliationPage(
        items=[views.reconciliation(r) for r in rows],
        next_cursor=paging.encode_time_id(last["created_at"], last["id"]) if last else None,
    )
