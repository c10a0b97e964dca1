"""The gateway: the one door to CCHC.

It issues tokens (``/api/v1/auth/token``, keys at ``/.well-known/jwks.json``) or validates an
external provider's, admits a request only with a valid token, within its client's rate and body
size, routes ``/api/v1/...`` to the services (the token goes along: they check it again), records
every write in the audit log, serves one OpenAPI document (``/api/v1/openapi.json``) and the docs
page (``/docs``), and passes request ids. Its ``/readyz`` is ready only when every service is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from cchc_gateway.audit import AuditLog, AuditMiddleware
from cchc_gateway.auth.api import accounts_router, keys_router, token_router
from cchc_gateway.auth.bootstrap import bootstrap_accounts
from cchc_gateway.auth.issuer import TokenIssuer
from cchc_gateway.auth.keys import KeyCipher, KeyStore
from cchc_gateway.edge import BodyLimitMiddleware, SecurityHeadersMiddleware, TokenBuckets
from cchc_gateway.gate import Gate
from cchc_gateway.openapi import CombinedOpenAPI
from cchc_gateway.proxy import ServiceForwarder, Upstreams
from cchc_shared.auth import Authenticator, verifier_from_settings
from cchc_shared.db import create_engine, create_sessionmaker
from cchc_shared.errors import Problem, install_problem_handlers, problem_response
from cchc_shared.memory import settle_heap
from cchc_shared.observability import RequestContextMiddleware, configure_logging
from cchc_shared.responses import FastJSONResponse
from cchc_shared.settings import GatewaySettings

TITLE = "CCHC API"
DESCRIPTION = (
    "The public API of CCHC: the province's administrative-reform plans, targets and tasks, and "
    "the indicators computed from its one-stop system, judged against those targets.\n\n"
    "API công khai của hệ thống theo dõi cải cách hành chính (CCHC) của tỉnh: kế hoạch, chỉ tiêu, "
    "nhiệm vụ, và các chỉ số từ Hệ thống thông tin giải quyết TTHC, đánh giá theo chỉ tiêu.\n\n"
    "Every call needs a bearer token from `POST /api/v1/auth/token`. Mọi lời gọi cần mã truy cập."
)
PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
FALLBACK_PATH = "/api/v1/{path:path}"
ALL_METHODS = [*PROXY_METHODS, "HEAD", "OPTIONS"]


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
        connect_timeout=settings.upstream_connect_timeout,
    )
    engine = create_engine(
        settings.database_url, pool_size=settings.db_pool_size, application_name="gateway"
    )
    sessionmaker = create_sessionmaker(engine)
    keys = _key_store(settings, sessionmaker)
    auth = Authenticator(
        verifier_from_settings(settings, keys=keys), required=settings.auth_required
    )
    gate = Gate(
        auth,
        clients=TokenBuckets(rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst),
        token_requests=TokenBuckets(
            rate=settings.token_rate_per_minute / 60,
            burst=max(1.0, settings.token_rate_per_minute / 3),
        ),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if auth.verifier is None:
            raise RuntimeError(
                "the gateway neither issues tokens (CCHC_AUTH_ISSUE_TOKENS) nor knows the keys of "
                "their issuer (CCHC_AUTH_JWKS_URL)"
            )
        await upstreams.start()
        refresher: asyncio.Task[None] | None = None
        if keys is not None:
            await keys.refresh()
            await bootstrap_accounts(sessionmaker, settings)
            refresher = asyncio.create_task(keys.run_refresh())
        settle_heap()
        try:
            yield
        finally:
            if refresher is not None:
                refresher.cancel()
                with suppress(asyncio.CancelledError):
                    await refresher
            await upstreams.close()
            await engine.dispose()

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
    # Starlette runs the last added outermost: request id, headers, CORS, size cap, audit,
    # then the forwarding of service paths (innermost, before any routing).
    app.add_middleware(ServiceForwarder, gate=gate, upstreams=upstreams)
    app.add_middleware(AuditMiddleware, log=AuditLog(sessionmaker))
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=PROXY_METHODS,
        allow_headers=[
            "Authorization",
            "Content-Type",
            "X-Request-ID",
            "If-None-Match",
            "traceparent",
        ],
        expose_headers=["X-Request-ID", "Retry-After", "ETag"],
        max_age=600,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts_seconds=settings.hsts_seconds)
    app.add_middleware(RequestContextMiddleware, service="gateway")
    app.state.upstreams = upstreams
    app.state.sessionmaker = sessionmaker
    app.state.auth = auth
    app.state.keys = keys
    app.state.gate = gate

    own_routes: list[APIRoute] = []
    if keys is not None:
        issuer = TokenIssuer(
            sessionmaker,
            keys,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            ttl_seconds=settings.auth_token_ttl,
        )
        own_routers = [
            (token_router(issuer), [Depends(gate.limit_token_requests)]),
            (keys_router(keys), []),
            (accounts_router(), [Depends(gate.admit_dependency)]),
        ]
        for router, dependencies in own_routers:
            app.include_router(router, dependencies=dependencies)
            own_routes.extend(r for r in router.routes if isinstance(r, APIRoute))
    _operational_routes(app, upstreams)
    combined = CombinedOpenAPI(upstreams, own=_own_openapi(app))

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def openapi_document() -> dict[str, Any]:
        return await combined.document()

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/v1/openapi.json", title=f"{TITLE} — docs")

    # Service paths never get here (ServiceForwarder takes them); other /api/v1 paths are
    # the gateway's own, in a method it does not serve, or nothing at all.
    @app.api_route(FALLBACK_PATH, methods=ALL_METHODS, include_in_schema=False)
    async def not_here(request: Request, path: str) -> Response:
        return _not_here(own_routes, request.url.path)

    return app


def _not_here(own_routes: list[APIRoute], path: str) -> Response:
    """404, or 405 with `Allow` when the path is one of the gateway's own in another method."""
    matching = [route for route in own_routes if route.path_regex.match(path)]
    allowed = sorted({method for route in matching for method in route.methods or ()})
    if allowed:
        return problem_response(
            Problem(title="Method Not Allowed", status=405), headers={"Allow": ", ".join(allowed)}
        )
    return problem_response(
        Problem(title="Not Found", status=404, detail=f"No resource at {path}.")
    )


def _key_store(settings: GatewaySettings, sessionmaker: Any) -> KeyStore | None:
    if not settings.auth_issue_tokens:
        return None
    return KeyStore(
        sessionmaker,
        KeyCipher(settings.auth_key_secret),
        token_ttl=timedelta(seconds=settings.auth_token_ttl),
        rotation=timedelta(days=settings.auth_key_rotation_days),
    )


def _operational_routes(app: FastAPI, upstreams: Upstreams) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> FastJSONResponse:
        results = await asyncio.gather(*(_upstream_ready(upstreams, n) for n in upstreams.urls))
        checks = dict(zip(upstreams.urls, results, strict=True))
        ready = all(checks.values())
        return FastJSONResponse(
            {"status": "ready" if ready else "not_ready", "service": "gateway", "checks": checks},
            status_code=200 if ready else 503,
        )


async def _upstream_ready(upstreams: Upstreams, name: str) -> bool:
    try:
        async with upstreams.session.get(upstreams.urls[name] + "/readyz") as resp:
            return resp.status == 200
    except Exception:
        return False


def _own_openapi(app: FastAPI) -> dict[str, Any]:
    return get_openapi(title=TITLE, version="1.0.0", description=DESCRIPTION, routes=app.routes)
