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
        2000, ge=1, le=20_000, description="Events the relay takes from the outbox per batch."
    )
    outbox_events_per_message: int = Field(
        100,
        ge=1,
        le=1000,
        description="Events of one subject packed into one JetStream message (CloudEvents batch).",
    )
    outbox_poll_interval: float = Field(
        0.1, gt=0, description="Seconds the outbox relay sleeps when it finds nothing to publish."
    )
    outbox_retention_hours: float = Field(
        24.0,
        ge=0,
        description="Hours a published outbox row is kept (for inspection) before the relay "
        "deletes it; 0 keeps them forever. JetStream holds the events themselves.",
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
    auth_required: bool = Field(
        True,
        description="Every `/api/v1` route asks for a valid bearer token (viewer and up to read, a "
        "writing role to write). Turn off only on a developer's machine.",
    )
    auth_jwks_url: str | None = Field(
        None,
        description="Where the public keys that sign tokens are published (the gateway's "
        "`/.well-known/jwks.json`, or an OpenID Connect provider's). `cchc up` sets it.",
    )
    auth_jwks: str | None = Field(
        None, description="The public keys as a JWK set (JSON), instead of `auth_jwks_url`."
    )
    auth_issuer: str = Field("cchc", description="The `iss` every accepted token carries.")
    auth_audience: str = Field("cchc-api", description="The `aud` every accepted token carries.")
    auth_roles_claim: str = Field(
        "roles",
        description="Claim holding the roles, dotted for nested claims (`realm_access.roles`).",
    )
    auth_org_unit_claim: str = Field(
        "org_unit", description="Claim holding the org unit a principal is scoped to, if any."
    )
    auth_leeway: float = Field(30.0, ge=0, description="Seconds of clock skew tolerated.")


class PlansSettings(ServiceSettings):
    """The plans service."""

    demo_data: bool = Field(
        True,
        description="Load the demo data: the plans service adds the demo org-unit trees (Kon Tum, "
        "Bắc Kạn, Khánh Hòa) it lacks at start, and `up` imports the shared plans. Set false in "
        "production.",
    )


class IngestSettings(ServiceSettings):
    """The ingest service."""

    lgsp_url: str | None = Field(
        None,
        description="Base URL of the LGSP that fronts the one-stop system (unset: `cchc up` starts "
        "the simulator and points here).",
    )
    lgsp_client_id: str = Field("cchc", description="OAuth2 client id at the LGSP.")
    lgsp_client_secret: str = Field("", description="OAuth2 client secret at the LGSP.")
    poll_interval: float = Field(
        0.5,
        gt=0,
        description="Seconds between polls of the change feed. Indicators promise a source change "
        "within 2 s at the 99th percentile (docs/benchmarks.md): the wait between polls is most "
        "of it, so keep this well under 2.",
    )
    page_size: int = Field(1000, ge=1, le=1000, description="Records per page asked of the source.")
    pii_hash_key: str = Field(
        "", description="Key of the keyed hash applied to applicants' personal data (HMAC-SHA256)."
    )
    source_concurrency: int = Field(
        4,
        ge=1,
        le=32,
        description="Requests in flight to the LGSP at once (and backfill days read at once).",
    )
    source_timeout: float = Field(30.0, gt=0, description="Seconds to wait for one LGSP answer.")
    parse_workers: int = Field(
        1,
        ge=0,
        le=16,
        description="Processes that parse change-feed pages beside the service's own (0: parse "
        "in the service process). Parsing is most of the ingest's Python work: one worker lets "
        "a second core parse while the service writes; more only help with more cores.",
    )
    poll_from: str = Field(
        "",
        description="Where the change-feed poller starts the very first time: empty = now, after "
        "queueing a backfill of `CCHC_BACKFILL_DAYS`; `now` = now, no backfill; or a date-time "
        "(`yyyyMMddHHmmss` local or ISO 8601).",
    )
    backfill_days: int = Field(
        366,
        ge=0,
        description="Days of history backfilled on the first start (see `CCHC_POLL_FROM`).",
    )
    catalogue_interval: float = Field(
        3600.0, gt=0, description="Seconds between reads of the procedure catalogue and agencies."
    )
    reconcile_interval: float = Field(
        86400.0, ge=0, description="Seconds between scheduled reconciliations (0: only on request)."
    )
    reconcile_days: int = Field(7, ge=1, description="Days a scheduled reconciliation compares.")


class IndicatorsSettings(ServiceSettings):
    """The indicators service."""


class GatewaySettings(ServiceSettings):
    plans_url: str = Field("http://127.0.0.1:8101", description="Base URL of the plans service.")
    ingest_url: str = Field("http://127.0.0.1:8102", description="Base URL of the ingest service.")
    indicators_url: str = Field(
        "http://127.0.0.1:8103", description="Base URL of the indicators service."
    )
    upstream_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a service.")
    upstream_connect_timeout: float = Field(
        3.0, gt=0, description="Seconds to wait for a connection to a service."
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS.")
    auth_issue_tokens: bool = Field(
        True,
        description="The gateway issues tokens (`/api/v1/auth/token`) signed with its own rotating "
        "keys. False: an external OpenID Connect provider issues them (set `auth_jwks_url`, "
        "`auth_issuer`, `auth_audience` to it) and the gateway only validates.",
    )
    auth_token_ttl: int = Field(900, ge=60, le=86_400, description="Seconds a token is valid.")
    auth_key_rotation_days: float = Field(
        30.0, gt=0, description="Days a signing key signs before the next one takes over."
    )
    auth_key_secret: str = Field(
        "",
        description="Secret that encrypts the signing keys at rest (required when the gateway "
        "issues tokens). `cchc up` generates one in the state directory.",
    )
    admin_username: str = Field("admin", description="User name of the bootstrap administrator.")
    admin_password: str = Field(
        "",
        description="Password of the bootstrap administrator, created at first start if no such "
        "user exists (empty: no administrator is created). `cchc up` generates one.",
    )
    ioc_dashboard_secret: str = Field(
        "",
        description="Client secret of the `ioc-dashboard` client (viewer), created at first start "
        "if absent (empty: not created). `cchc up` generates one.",
    )
    rate_limit_per_second: float = Field(
        50.0, gt=0, description="Requests per second one client (token subject, else IP) may make."
    )
    rate_limit_burst: int = Field(200, ge=1, description="Requests one client may make at once.")
    token_rate_per_minute: float = Field(
        30.0, gt=0, description="Token requests per minute from one address (slows guessing)."
    )
    max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 beyond)."
    )
    hsts_seconds: int = Field(
        0,
        ge=0,
        description="`Strict-Transport-Security` max-age to send (0: none; set it when TLS "
        "terminates in front of the gateway).",
    )


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
