"""``/_sim``: the test harness's handles on the simulator. Not part of the contract, not behind
the LGSP's tokens (a test needs them exactly when tokens are the thing being broken)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from cchc_simulator.api import State, json_response
from cchc_simulator.faults import FaultSettings
from cchc_simulator.timeutil import format_datetime, vn_seconds_from_unix
from cchc_simulator.truth import truth_lines

router = APIRouter(prefix="/_sim")


@router.get("/faults")
async def current_faults(state: State) -> FaultSettings:
    return state.simulator.faults.settings


@router.post("/faults")
async def replace_faults(state: State, faults: FaultSettings) -> FaultSettings:
    """Replace every fault setting (a field left out goes back to off)."""
    state.simulator.faults.settings = faults
    return faults


@router.post("/tokens/revoke")
async def revoke_tokens(state: State) -> Response:
    return json_response({"revoked": state.tokens.revoke_all()})


@router.post("/live")
async def live_changes(
    state: State, changes: Annotated[int, Query(ge=0, le=100_000)] = 1
) -> Response:
    """Write ``changes`` live changes now, besides the producer's steady rate."""
    written = state.simulator.live_step(vn_seconds_from_unix(state.clock()), changes)
    return json_response({"written": written, "versions": len(state.simulator.feed)})


@router.get("/status")
async def status(state: State) -> Response:
    simulator = state.simulator
    config = simulator.config
    last = simulator.feed.last_time
    return json_response(
        {
            "seed": config.seed,
            "historyStart": format_datetime(config.start),
            "historyEnd": format_datetime(config.end),
            "dossiers": len(simulator.table),
            "versions": len(simulator.feed),
            "lastChange": None if last is None else format_datetime(last),
            "liveRate": state.live_rate,
        }
    )


@router.get("/truth")
async def truth(state: State) -> StreamingResponse:
    """Ground truth as JSON lines: ``meta``, then ``dossier`` (latest valid versions, clean),
    then ``malformed`` (every malformed version released, with the reason)."""

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in truth_lines(state.simulator):
            yield chunk
            await asyncio.sleep(0)  # let the live producer and other requests in between chunks

    return StreamingResponse(chunks(), media_type="application/x-ndjson")
