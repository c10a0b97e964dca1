"""``cchc indicators …``: operator commands of the indicators service."""

from __future__ import annotations

import asyncio
import time

import typer

from cchc_indicators.service.rebuild import rebuild_aggregates
from cchc_shared.db import create_engine, create_sessionmaker, transaction
from cchc_shared.settings import IndicatorsSettings

app = typer.Typer(help="The indicators service.", no_args_is_help=True, add_completion=False)


async def run_rebuild(database_url: str) -> int:
    engine = create_engine(database_url, pool_size=1, application_name="indicators-rebuild")
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            return await rebuild_aggregates(session)
    finally:
        await engine.dispose()


@app.command()
def rebuild(
    database_url: str = typer.Option(
        None, envvar="CCHC_DATABASE_URL", help="PostgreSQL URL (postgresql+asyncpg://...)"
    ),
) -> None:
    """Recompute every aggregate from the stored dossier facts (consumers wait meanwhile)."""
    url = database_url or IndicatorsSettings().database_url
    started = time.monotonic()
    count = asyncio.run(run_rebuild(url))
    typer.echo(f"rebuilt the aggregates of {count} dossiers in {time.monotonic() - started:.1f}s")
