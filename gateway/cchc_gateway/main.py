"""The gateway: the one door to CCHC.

It routes ``/api/v1/...`` to the services, serves one OpenAPI document (``/api/v1/openapi.json``)
and the docs page (``/docs``), and passes request ids. Its ``/readyz`` is ready only when every
service is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response

from cchc_gateway.openapi import CombinedOpenAPI
from cchc_gateway.proxy import Upstreams
from cchc_gateway.routes import service_for
from cchc_shared.errors import Problem, install_problem_handlers, problem_response
from cchc_shared.observability import RequestContextMiddleware, configure_logging
from cchc_shared.responses import FastJSONResponse
from cchc_shared.settings import GatewaySettings

TITLE = "CCHC API"
DESCRIPTION = (
    "The public API of CCHC: the province's administrative-reform plans, targets and tasks, and "
    "the indicators computed from its one-stop system, judged against those targets.\n\n"
    "API công khai của hệ thống theo dõi cải cách hành chính (CCHC) của tỉnh: kế hoạch, chỉ tiêu, "
    "nhiệm vụ, và các chỉ số từ Hệ thống thông tin giải quyết TTHC, đánh giá theo chỉ tiêu."
)
PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    configure_logging(settings.log_level, json=settings.log_json)
    upstreams = Upstreams(
        {
            "plans": settings.plans_url,
            "ingest": settings.ingest_url,
            "indicators": settings.indicators_url,
        },
        timeout=settings.upstream_timeout,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await upstreams.start()
        try:
            yield
        finally:
            await upstreams.close()

    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        default_response_class=FastJSONResponse,
    )
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, service="gateway")
    app.state.upstreams = upstreams
    combined = CombinedOpenAPI(upstreams, own=_own_openapi(app))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> FastJSONResponse:
        checks = dict(
            zip(
                upstreams.urls,
                await asyncio.gather(
                    *(_upstream_ready(upstreams, name) for name in upstreams.urls)
                ),
                strict=True,
            )
        )
        ready = all(checks.values())
        return FastJSONResponse(
            {"status": "ready" if ready else "not_ready", "service": "gateway", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def openapi_document() -> dict[str, Any]:
        return await combined.document()

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/v1/openapi.json", title=f"{TITLE} — docs")

    @app.api_route("/api/v1/{path:path}", methods=PROXY_METHODS, include_in_schema=False)
    async def forward(request: Request, path: str) -> Response:
        service = service_for(request.url.path)
        if service is None:
            return problem_response(
                Problem(title="Not Found", status=404, detail=f"No resource at {request.url.path}.")
            )
        return await upstreams.forward(service, request)

    return app


async def _upstream_ready(upstreams: Upstreams, name: str) -> bool:
    try:
        async with upstreams.session.get(upstreams.urls[name] + "/readyz") as resp:
            return resp.status == 200
    except Exception:
        return False


def _own_openapi(app: FastAPI) -> dict[str, Any]:
    return get_openapi(title=TITLE, version="1.0.0", description=DESCRIPTION, routes=[])
