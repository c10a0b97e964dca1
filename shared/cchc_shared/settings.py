"""Every setting CCHC reads, in one place.

Each variable is read from the environment with the ``CCHC_`` prefix (``CCHC_DATABASE_URL``,
``CCHC_NATS_URL``...). ``cchc settings`` prints them all with their current values. A service
builds its own settings class on :class:`CommonSettings`, and all of them live here so an
operator has one page to read.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """What every CCHC process needs: where the database and the broker are, how to log."""

    model_config = SettingsConfigDict(env_prefix="CCHC_", extra="ignore")

    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/cchc",
        description="SQLAlchemy URL of PostgreSQL (asyncpg driver). `cchc up` sets it to its "
        "embedded server unless you set it.",
    )
    nats_url: str = Field(
        "nats://127.0.0.1:4222",
        description="NATS server URL(s), comma-separated. `cchc up` sets it to its embedded server "
        "unless you set it.",
    )
    nats_stream_replicas: int = Field(
        1, ge=1, le=5, description="JetStream stream replicas (3 in production)."
    )
    nats_sync_interval: str = Field(
        "always",
        description="JetStream fsync policy of the embedded server (`always`, or a duration like "
        "`2m`). External servers are configured by their own files.",
    )
    state_dir: Path = Field(Path(".cchc"), description="Where `cchc up` keeps data and secrets.")
    log_level: str = Field("INFO", description="Log level of every process.")
    log_json: bool = Field(True, description="Structured JSON logs (false: human-readable).")
    db_pool_size: int = Field(10, ge=1, description="Connections per process pool.")
    outbox_batch_size: int = Field(
        500, ge=1, le=10_000, description="Events the relay publishes per batch."
    )
    outbox_poll_interval: float = Field(
        0.1, gt=0, description="Seconds the outbox relay sleeps when it finds nothing to publish."
    )
    consumer_max_deliver: int = Field(
        10, ge=1, description="Deliveries of one message before it is dead-lettered."
    )
    consumer_batch_size: int = Field(200, ge=1, description="Messages a consumer fetches at once.")


class ServiceSettings(CommonSettings):
    """A service process that serves HTTP."""

    host: str = Field("127.0.0.1", description="Interface the service listens on.")
    port: int = Field(
        0, ge=0, le=65535, description="Port the service listens on (0: any free port)."
    )
    run_background_workers: bool = Field(
        True, description="Run the outbox relay and the event consumers inside the API process."
    )


class PlansSettings(ServiceSettings):
    """The plans service."""


class IngestSettings(ServiceSettings):
    """The ingest service."""

    lgsp_url: str | None = Field(
        None,
        description="Base URL of the LGSP that fronts the one-stop system (unset: `cchc up` starts "
        "the simulator and points here).",
    )
    lgsp_client_id: str = Field("cchc", description="OAuth2 client id at the LGSP.")
    lgsp_client_secret: str = Field("", description="OAuth2 client secret at the LGSP.")
    poll_interval: float = Field(2.0, gt=0, description="Seconds between polls of the change feed.")
    page_size: int = Field(1000, ge=1, le=1000, description="Records per page asked of the source.")
    pii_hash_key: str = Field(
        "", description="Key of the keyed hash applied to applicants' personal data (HMAC-SHA256)."
    )


class IndicatorsSettings(ServiceSettings):
    """The indicators service."""


class GatewaySettings(ServiceSettings):
    plans_url: str = Field("http://127.0.0.1:8101", description="Base URL of the plans service.")
    ingest_url: str = Field("http://127.0.0.1:8102", description="Base URL of the ingest service.")
    indicators_url: str = Field(
        "http://127.0.0.1:8103", description="Base URL of the indicators service."
    )
    upstream_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a service.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS.")


class SimulatorSettings(ServiceSettings):
    simulator_seed: int = Field(
        4212, description="Seed of the simulated province: same seed, same data."
    )
    simulator_client_id: str = Field("cchc", description="OAuth2 client id the simulator accepts.")
    simulator_client_secret: str = Field(
        "", description="OAuth2 client secret the simulator accepts."
    )


class LauncherSettings(BaseSettings):
    """What `cchc up` reads. An unset URL means: start the embedded server (or simulator)."""

    model_config = SettingsConfigDict(env_prefix="CCHC_", extra="ignore")

    database_url: str | None = Field(
        None, description="External PostgreSQL (skips the embedded one)."
    )
    nats_url: str | None = Field(None, description="External NATS (skips the embedded one).")
    lgsp_url: str | None = Field(None, description="Real LGSP (skips the simulator).")
    state_dir: Path = Field(Path(".cchc"), description="Where `cchc up` keeps data and secrets.")
    nats_sync_interval: str = Field("always", description="JetStream fsync policy (embedded NATS).")
    gateway_port: int = Field(
        8000, ge=0, le=65535, description="Gateway port (a free one if taken)."
    )
    demo_data: bool = Field(True, description="Load the shared plans as demo data on `up`.")


ALL_SETTINGS: tuple[type[BaseSettings], ...] = (
    CommonSettings,
    ServiceSettings,
    PlansSettings,
    IngestSettings,
    IndicatorsSettings,
    GatewaySettings,
    SimulatorSettings,
    LauncherSettings,
)
