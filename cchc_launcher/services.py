"""The processes that make up CCHC, in start order, and where each keeps its migrations."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    module: str
    url_env: str | None = None  # how the gateway is told where it is
    has_database: bool = True

    @property
    def migrations_dir(self) -> Path:
        spec = importlib.util.find_spec(self.module)
        assert spec is not None and spec.origin is not None, self.module
        return Path(spec.origin).parent / "migrations"


PLANS = ServiceEntry("plans", "cchc_plans", "CCHC_PLANS_URL")
INGEST = ServiceEntry("ingest", "cchc_ingest", "CCHC_INGEST_URL")
INDICATORS = ServiceEntry("indicators", "cchc_indicators", "CCHC_INDICATORS_URL")
GATEWAY = ServiceEntry("gateway", "cchc_gateway")  # accounts, signing keys, audit log
SIMULATOR = ServiceEntry("simulator", "cchc_simulator", has_database=False)

DATABASE_SERVICES = (PLANS, INGEST, INDICATORS, GATEWAY)
SCHEMAS = ("plans", "ingest", "indicators", "gateway")
