"""The `cchc` command."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import typer

from cchc_shared.settings import ALL_SETTINGS, LauncherSettings

PACKAGES = (
    "cchc_shared",
    "cchc_plans",
    "cchc_ingest",
    "cchc_indicators",
    "cchc_gateway",
    "cchc_simulator",
    "cchc_launcher",
)

app = typer.Typer(
    help="CCHC: a province's administrative-reform plans against its one-stop data.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def up() -> None:
    """Start the whole system: PostgreSQL, NATS, simulator, services, gateway, demo data."""
    from cchc_launcher.launcher import run_up

    raise typer.Exit(run_up())


@app.command()
def migrate(
    database_url: str = typer.Option(
        None, envvar="CCHC_DATABASE_URL", help="PostgreSQL URL (postgresql+asyncpg://...)"
    ),
) -> None:
    """Apply every service's migrations to the database."""
    from cchc_launcher.migrate import migrate_all

    if not database_url:
        typer.echo("set CCHC_DATABASE_URL or --database-url", err=True)
        raise typer.Exit(2)
    migrate_all(database_url)
    typer.echo("migrations applied")


@app.command()
def status() -> None:
    """Show whether a running `cchc up` is ready, service by service."""
    run_file = LauncherSettings().state_dir / "run.json"
    if not run_file.exists():
        typer.echo("not running (no run.json in the state directory)")
        raise typer.Exit(1)
    run = json.loads(run_file.read_text())
    try:
        resp = httpx.get(run["gateway"] + "/readyz", timeout=5.0)
        body = resp.json()
    except httpx.HTTPError as exc:
        typer.echo(f"gateway {run['gateway']} unreachable: {exc}")
        raise typer.Exit(1) from exc
    typer.echo(f"gateway {run['gateway']}: {body.get('status')}")
    for name, ok in body.get("checks", {}).items():
        typer.echo(f"  {name}: {'ready' if ok else 'NOT READY'}")
    raise typer.Exit(0 if resp.status_code == 200 else 1)


@app.command("settings")
def show_settings() -> None:
    """List every environment variable CCHC reads, with its description."""
    seen: set[str] = set()
    for cls in ALL_SETTINGS:
        prefix = cls.model_config.get("env_prefix", "")
        for name, info in cls.model_fields.items():
            var = f"{prefix}{name}".upper()
            if var not in seen:
                seen.add(var)
                typer.echo(f"{var:<32} {info.description or ''}")


@app.command()
def test(pytest_args: list[str] = typer.Argument(None, help="Extra arguments for pytest.")) -> None:
    """Run every check: ruff, mypy, import-linter, then the whole test suite."""
    root = Path(__file__).resolve().parent.parent
    bin_dir = Path(sys.executable).parent
    steps = [
        [str(bin_dir / "ruff"), "check", "."],
        [str(bin_dir / "ruff"), "format", "--check", "."],
        [str(bin_dir / "mypy"), *(f"-p{package}" for package in PACKAGES)],
        [str(bin_dir / "lint-imports")],
        [str(bin_dir / "pytest"), *(pytest_args or [])],
    ]
    for step in steps:
        typer.echo(
            f"==> {' '.join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step))}"
        )
        code = subprocess.call(step, cwd=root, env={**os.environ})
        if code != 0:
            raise typer.Exit(code)


@app.command()
def bench(
    only: str = typer.Option("", help="Run only benchmarks whose file name contains this."),
) -> None:
    """Run the benchmarks in bench/ and write their results to docs/benchmarks.md."""
    root = Path(__file__).resolve().parent.parent
    scripts = sorted(
        p for p in (root / "bench").glob("*.py") if p.stem not in {"report", "__init__"}
    )
    failed = 0
    for script in scripts:
        if only and only not in script.name:
            continue
        typer.echo(f"==> {script.name}")
        env = {**os.environ, "PYTHONPATH": str(root)}
        failed += subprocess.call([sys.executable, str(script)], cwd=root, env=env) != 0
    raise typer.Exit(1 if failed else 0)


def _mount_service_commands() -> None:
    """Each service may offer commands (``cchc plans import``...) from its ``cli`` module."""
    for name, module in (
        ("plans", "cchc_plans.cli"),
        ("ingest", "cchc_ingest.cli"),
        ("indicators", "cchc_indicators.cli"),
        ("simulate", "cchc_simulator.cli"),
    ):
        try:
            sub = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        app.add_typer(sub.app, name=name)


_mount_service_commands()
