"""Run a service's ASGI app under uvicorn (uvloop + httptools), the same way everywhere."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from cchc_shared.settings import ServiceSettings


def serve(create_app: Callable[[], FastAPI], settings: ServiceSettings) -> None:
    uvicorn.run(
        create_app(),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,  # RequestContextMiddleware logs and counts requests
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )
