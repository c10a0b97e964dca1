"""`cchc ingest ...`: backfill and reconcile through the running system's API.

Both commands ask the gateway (`POST /api/v1/ingest/backfill`, `/reconciliations`), then follow
the job it started until it ends: the same authorisation, audit and code path as any client, and
nothing written behind the service's back. Ctrl-C stops following; the job goes on.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import httpx
import typer

from cchc_shared.settings import LauncherSettings

app = typer.Typer(help="Dossier ingest: backfill and reconciliation.", no_args_is_help=True)

DEFAULT_GATEWAY = "http://127.0.0.1:8000"
TERMINAL = ("done", "failed")

Url = Annotated[str | None, typer.Option(envvar="CCHC_GATEWAY_URL", help="Gateway URL.")]
Token = Annotated[str | None, typer.Option(envvar="CCHC_TOKEN", help="Bearer token (admin).")]
Wait = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job until it ends.")]
Every = Annotated[float, typer.Option(help="Seconds between progress checks.", min=0.05)]


def gateway_url() -> str:
    """The gateway of a running `cchc up` (its run file), or the default address."""
    run_file = LauncherSettings().state_dir / "run.json"
    try:
        return str(json.loads(run_file.read_text())["gateway"])
    except (OSError, ValueError, KeyError):
        return DEFAULT_GATEWAY


def _client(url: str | None, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url or gateway_url(), timeout=60.0, headers=headers)


@app.command()
def backfill(
    range_from: Annotated[
        datetime,
        typer.Option(
            "--from",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            help="Start (inclusive), local time: a date or a date-time.",
        ),
    ],
    range_to: Annotated[
        datetime | None,
        typer.Option(
            "--to",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            help="End (exclusive), local time; a date means its start. Default: open (now).",
        ),
    ] = None,
    url: Url = None,
    token: Token = None,
    wait: Wait = True,
    every: Every = 1.0,
) -> None:
    """Re-read a time range of the one-stop system's change feed, with a progress bar."""
    body = {"from": _local(range_from)} | ({"to": _local(range_to)} if range_to else {})
    with _client(url, token) as client:
        job = _post(client, "/api/v1/ingest/backfill", body)
        typer.echo(f"backfill {job['id']}: {job['slices_total']} slices from {job['from']}")
        if wait:
            job = _follow_backfill(client, f"/api/v1/ingest/backfill/{job['id']}", every)
            _summarise_backfill(job)
    raise typer.Exit(1 if job["status"] == "failed" else 0)


@app.command()
def reconcile(
    day_from: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First local day (default: 7 days ago)."),
    ] = None,
    day_to: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last local day (default: today)."),
    ] = None,
    url: Url = None,
    token: Token = None,
    wait: Wait = True,
    every: Every = 1.0,
) -> None:
    """Compare the source's daily counts with ours, re-read the days that differ, report."""
    last = day_to.date() if day_to else _today()
    first = day_from.date() if day_from else last - timedelta(days=6)
    with _client(url, token) as client:
        run = _post(
            client,
            "/api/v1/ingest/reconciliations",
            {"from": first.isoformat(), "to": last.isoformat()},
        )
        typer.echo(f"reconciliation {run['id']}: {first} to {last}")
        if wait:
            run = _follow(client, f"/api/v1/ingest/reconciliations/{run['id']}", every, None)
            _summarise_reconciliation(run)
    raise typer.Exit(1 if run["status"] == "failed" or run["differences_remaining"] else 0)


def _local(moment: datetime) -> str:
    """The API reads an instant without an offset as local (Vietnam) time."""
    return moment.isoformat()


def _today() -> date:
    return (datetime.now(UTC) + timedelta(hours=7)).date()


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        resp = client.post(path, json=body)
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach {client.base_url}: {exc}", err=True)
        raise typer.Exit(2) from exc
    if resp.status_code >= 400:
        typer.echo(f"refused ({resp.status_code})", err=True)
        _echo_problem(resp)
        raise typer.Exit(1)
    answer: dict[str, Any] = resp.json()
    return answer


def _get(client: httpx.Client, path: str) -> dict[str, Any]:
    resp = client.get(path)
    resp.raise_for_status()
    answer: dict[str, Any] = resp.json()
    return answer


def _follow_backfill(client: httpx.Client, path: str, every: float) -> dict[str, Any]:
    steps = 1000
    with typer.progressbar(length=steps, label="reading", show_eta=True) as bar:
        shown = 0

        def show(job: dict[str, Any]) -> None:
            nonlocal shown
            target = round(job["progress"] * steps)
            bar.label = (
                f"{job['slices_done']}/{job['slices_total']} days, {job['records_taken']:,} read, "
                f"{job['stored']:,} stored"
            )
            if target > shown:
                bar.update(target - shown)
                shown = target

        return _follow(client, path, every, show)


def _follow(client: httpx.Client, path: str, every: float, show: Any | None) -> dict[str, Any]:
    while True:
        job = _get(client, path)
        if show is not None:
            show(job)
        if job["status"] in TERMINAL:
            return job
        time.sleep(every)


def _summarise_backfill(job: dict[str, Any]) -> None:
    typer.echo(
        f"{job['status']}: {job['records_taken']:,} records read, {job['stored']:,} stored, "
        f"{job['duplicates_skipped']:,} duplicates skipped, {job['quarantined']:,} quarantined"
    )
    if job["error"]:
        typer.echo(f"error: {job['error']}", err=True)


def _summarise_reconciliation(run: dict[str, Any]) -> None:
    typer.echo(
        f"{run['status']}: {run['days_checked']} days checked, "
        f"{run['differences_found']} differences found, "
        f"{run['differences_remaining']} remaining"
    )
    for finding in run["findings"]:
        state = "repaired" if finding["repaired"] else "STILL DIFFERENT"
        typer.echo(
            f"  {finding['day']} {finding['agency_code']}: received source "
            f"{finding['source_received']} / ours {finding['ours_received']}, updated source "
            f"{finding['source_updated']} / ours {finding['ours_updated']}: {state}"
        )
    if run["error"]:
        typer.echo(f"error: {run['error']}", err=True)


def _echo_problem(resp: httpx.Response) -> None:
    try:
        problem = resp.json()
    except ValueError:
        typer.echo(f"  {resp.text[:500]}", err=True)
        return
    if problem.get("detail"):
        typer.echo(f"  {problem['detail']}", err=True)
    for error in problem.get("errors") or []:
        typer.echo(f"  {error['field']}: {error['message']}", err=True)
