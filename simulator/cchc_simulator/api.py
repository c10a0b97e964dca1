"""The one-stop API as the LGSP exposes it (shared/contracts/one-stop-api.md), and its token
endpoint. Every ``/motcua`` call needs a live bearer token, then meets the request faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from cchc_shared.memory import paused_gc
from cchc_simulator.auth import TokenStore
from cchc_simulator.feed import Cursor
from cchc_simulator.simulator import MAX_PAGE, Simulator
from cchc_simulator.timeutil import parse_datetime, parse_day


@dataclass(slots=True)
class AppState:
    simulator: Simulator
    tokens: TokenStore
    clock: Callable[[], float]
    live_rate: float


class ApiError(Exception):
    """An answer other than 200, in the OAuth2 error shape the LGSP uses."""

    def __init__(
        self, status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        return json_response(body, self.status, self.headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.simulation
    return state


State = Annotated[AppState, Depends(app_state)]
PageNumber = Annotated[int, Query(alias="trang", ge=1)]
PageSize = Annotated[int, Query(alias="soLuong", ge=1, le=MAX_PAGE)]


async def require_token(request: Request, state: State) -> None:
    if not state.tokens.is_valid(request.headers.get("authorization")):
        raise ApiError(
            401,
            "invalid_token",
            "missing, unknown or expired access token",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


async def request_faults(state: State) -> None:
    status, delay = state.simulator.faults.request_fault()
    if delay:
        await asyncio.sleep(delay)
    if status is not None:
        retry_after = state.simulator.faults.settings.retry_after_seconds
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        error = "too_many_requests" if status == 429 else "service_unavailable"
        raise ApiError(status, error, "simulated overload", headers)


token_router = APIRouter()
router = APIRouter(
    prefix="/motcua/1.0", dependencies=[Depends(require_token), Depends(request_faults)]
)


@token_router.post("/token")
async def token(request: Request, state: State) -> Response:
    if not state.tokens.client_matches(request.headers.get("authorization")):
        raise ApiError(
            401,
            "invalid_client",
            "unknown client or wrong secret",
            {"WWW-Authenticate": 'Basic realm="lgsp"'},
        )
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if form.get("grant_type") != ["client_credentials"]:
        raise ApiError(400, "unsupported_grant_type", "only client_credentials is supported")
    issued = state.tokens.issue(state.simulator.faults.settings.token_lifetime_seconds)
    return json_response(
        {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
        }
    )


@router.get("/coquan")
async def agencies(state: State, page: PageNumber = 1, size: PageSize = 100) -> Response:
    return _listing(state.simulator.agencies.agencies, page, size)


@router.get("/thutuc")
async def procedures(state: State, page: PageNumber = 1, size: PageSize = 100) -> Response:
    return _listing(state.simulator.catalogue, page, size)


class _Listed(Protocol):
    def to_record(self) -> dict[str, Any]: ...


def _listing(items: Sequence[_Listed], page: int, size: int) -> Response:
    chosen = items[(page - 1) * size : page * size]
    return json_response({"data": [item.to_record() for item in chosen], "tongSo": len(items)})


@router.get("/hoso/thaydoi")
async def changes(
    state: State,
    since: Annotated[str | None, Query(alias="tuThoiDiem")] = None,
    cursor: Annotated[str | None, Query(alias="conTro")] = None,
    size: PageSize = 100,
) -> Response:
    simulator = state.simulator
    previous_start: int | None = None
    try:
        if cursor:
            position, previous_start = Cursor.decode(cursor)
        else:
            position = simulator.feed.position_at(parse_datetime(since)) if since else 0
    except ValueError as error:
        raise ApiError(400, "invalid_request", str(error)) from error
    with paused_gc():
        page = simulator.read_page(position, previous_start, size)
        next_cursor = Cursor.encode(page.next_position, page.page_start) if page.more else None
        body = orjson.dumps({"data": page.records, "conTroTiep": next_cursor, "conNua": page.more})
        del page
    return Response(body, media_type="application/json")


@router.get("/hoso/thongke")
async def daily_statistics(
    state: State,
    first: Annotated[str, Query(alias="tuNgay")],
    last: Annotated[str, Query(alias="denNgay")],
) -> Response:
    try:
        first_day, last_day = parse_day(first), parse_day(last)
    except ValueError as error:
        raise ApiError(400, "invalid_request", str(error)) from error
    return json_response({"data": state.simulator.daily_counts.rows(first_day, last_day)})


@router.get("/hoso/{code}")
async def dossier(state: State, code: str) -> Response:
    record = state.simulator.latest(code)
    if record is None:
        raise ApiError(404, "not_found", f"no dossier {code}")
    return json_response(record)
