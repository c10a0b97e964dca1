"""The simulator's web app: a plain FastAPI app, on purpose free of CCHC's own app factory,
database and broker, since it stands for a system outside CCHC."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError

from cchc_simulator import admin, api
from cchc_simulator.api import ApiError, AppState, json_response
from cchc_simulator.auth import TokenStore
from cchc_simulator.settings import SimulatorServerSettings
from cchc_simulator.simulator import SimulationConfig, Simulator
from cchc_simulator.timeutil import vn_seconds_from_unix

log = logging.getLogger("cchc_simulator")


def build_simulator(
    settings: SimulatorServerSettings, clock: Callable[[], float] = time.time
) -> Simulator:
    """The history the settings describe (seconds to build for a few hundred thousand dossiers)."""
    start, end = settings.history_window(clock())
    config = SimulationConfig(
        seed=settings.simulator_seed,
        dossiers=settings.simulator_dossiers,
        start=start,
        end=end,
        live_new_share=settings.simulator_live_new_share,
    )
    began = time.perf_counter()
    simulator = Simulator(config, settings.simulator_faults)
    log.info(
        "simulated %d dossiers, %d versions in %.1f s",
        len(simulator.table),
        len(simulator.feed),
        time.perf_counter() - began,
    )
    return simulator


def create_app(
    settings: SimulatorServerSettings | None = None,
    *,
    simulator: Simulator | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The app; ``simulator`` lets tests share one built history, ``clock`` lets them move time.

    The live producer runs in the app's lifespan (under uvicorn, not under a bare ASGI test
    transport, where ``POST /_sim/live`` writes live changes on demand instead).
    """
    settings = settings or SimulatorServerSettings()
    state = AppState(
        simulator=simulator or build_simulator(settings, clock),
        tokens=TokenStore(
            settings.simulator_client_id,
            settings.simulator_client_secret,
            settings.simulator_token_ttl,
            clock,
        ),
        clock=clock,
        live_rate=settings.simulator_live_rate,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        producer = asyncio.create_task(produce_live_changes(state)) if state.live_rate else None
        yield
        if producer:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer

    app = FastAPI(title="CCHC one-stop system simulator", lifespan=lifespan)
    app.state.simulation = state
    app.include_router(api.token_router)
    app.include_router(api.router)
    app.include_router(admin.router)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_api_route("/healthz", _ok, methods=["GET"])
    app.add_api_route("/readyz", _ok, methods=["GET"])
    return app


async def produce_live_changes(state: AppState) -> None:
    """Write ``live_rate`` changes a second, each batch stamped with its own second."""
    owed = 0.0
    while True:
        await asyncio.sleep(1.0 - state.clock() % 1.0)
        owed = min(owed + state.live_rate, state.live_rate * 5 + 1)  # no burst after a stall
        if owed >= 1:
            owed -= state.simulator.live_step(vn_seconds_from_unix(state.clock()), int(owed))


async def _ok() -> Response:
    return json_response({"status": "ok"})


async def _api_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error.response()


async def _invalid_request(_: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
    return ApiError(400, "invalid_request", details).response()
