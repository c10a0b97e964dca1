"""The three services and the gateway under uvicorn on free ports, as `cchc up` wires them: each
service verifies tokens with the keys the gateway publishes (never trusting a caller)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from cchc_gateway.main import create_app as create_gateway
from cchc_gateway.testing import gateway_settings
from cchc_indicators.main import create_app as create_indicators
from cchc_ingest.main import create_app as create_ingest
from cchc_plans.main import create_app as create_plans
from cchc_shared.embedded import free_port
from cchc_shared.settings import IndicatorsSettings, IngestSettings, PlansSettings
from cchc_shared.testing import serving


@dataclass(frozen=True)
class Served:
    gateway_url: str
    service_urls: dict[str, str]  # plans, ingest, indicators


@asynccontextmanager
async def serving_system(
    *,
    rate_limit: int,
    plans: dict[str, Any] | None = None,
    ingest: dict[str, Any] | None = None,
) -> AsyncIterator[Served]:
    """Serve everything; ``plans`` and ``ingest`` add settings of those services, ``rate_limit``
    is the gateway's per-client rate and burst. No background workers run."""
    gateway_port = free_port()
    trust_gateway: dict[str, Any] = {
        "run_background_workers": False,
        "auth_jwks": None,
        "auth_jwks_url": f"http://127.0.0.1:{gateway_port}/.well-known/jwks.json",
    }
    async with (
        serving(create_plans(PlansSettings(**trust_gateway, **(plans or {})))) as plans_url,
        serving(create_ingest(IngestSettings(**trust_gateway, **(ingest or {})))) as ingest_url,
        serving(create_indicators(IndicatorsSettings(**trust_gateway))) as indicators_url,
    ):
        settings = gateway_settings(
            plans_url=plans_url,
            ingest_url=ingest_url,
            indicators_url=indicators_url,
            upstream_timeout=30.0,
            rate_limit_per_second=rate_limit,
            rate_limit_burst=rate_limit,
            token_rate_per_minute=60_000,
        )
        async with serving(create_gateway(settings), gateway_port) as gateway_url:
            yield Served(
                gateway_url,
                {"plans": plans_url, "ingest": ingest_url, "indicators": indicators_url},
            )
