"""`cchc plans ...`: commands of the plans service.

`cchc plans import FILE...` posts each plan document to the running system through the gateway
(`POST /api/v1/plans/import`): the same validation, audit trail, events and authorisation as any
client, and nothing written behind the service's back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import httpx
import typer

from cchc_shared.settings import LauncherSettings

app = typer.Typer(help="Plans, targets, tasks and org units.", no_args_is_help=True)

DEFAULT_GATEWAY = "http://127.0.0.1:8000"


def gateway_url() -> str:
    """The gateway of a running `cchc up` (its run file), or the default address."""
    run_file = LauncherSettings().state_dir / "run.json"
    try:
        return str(json.loads(run_file.read_text())["gateway"])
    except (OSError, ValueError, KeyError):
        return DEFAULT_GATEWAY


def _content_type(path: Path) -> str:
    return "application/json" if path.suffix.lower() == ".json" else "application/yaml"


@app.command("import")
def import_plans(
    files: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, help="Plan documents.")
    ],
    url: Annotated[str | None, typer.Option(envvar="CCHC_GATEWAY_URL", help="Gateway URL.")] = None,
    token: Annotated[str | None, typer.Option(envvar="CCHC_TOKEN", help="Bearer token.")] = None,
    reason: Annotated[
        str | None, typer.Option(help="Amend issued plans with this reason (lý do điều chỉnh).")
    ] = None,
) -> None:
    """Import plan documents (YAML or JSON, the form of shared/domain/plans/)."""
    base = url or gateway_url()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    params = {"reason": reason} if reason else {}
    failed = 0
    with httpx.Client(base_url=base, timeout=60.0, headers=headers) as client:
        for path in files:
            failed += not _import_one(client, path, params)
    raise typer.Exit(1 if failed else 0)


def _import_one(client: httpx.Client, path: Path, params: dict[str, str]) -> bool:
    try:
        resp = client.post(
            "/api/v1/plans/import",
            content=path.read_bytes(),
            headers={"content-type": _content_type(path)},
            params=params,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"{path}: cannot reach {client.base_url}: {exc}", err=True)
        return False
    if resp.status_code >= 400:
        typer.echo(f"{path}: refused ({resp.status_code})", err=True)
        echo_problem(resp)
        return False
    body = resp.json()
    plan = body["plan"]
    typer.echo(
        f"{path}: {body['result']} {plan['code']} ({plan['status']}): "
        f"{len(plan['targets'])} targets, {len(plan['tasks'])} tasks, id {plan['id']}"
    )
    return True


def echo_problem(resp: httpx.Response) -> None:
    try:
        problem = resp.json()
    except ValueError:
        typer.echo(f"  {resp.text[:500]}", err=True)
        return
    if problem.get("detail"):
        typer.echo(f"  {problem['detail']}", err=True)
    for error in problem.get("errors") or []:
        typer.echo(f"  {error['field']}: {error['message']}", err=True)


def _mount_indices() -> None:
    from cchc_plans.indices.cli import app as indices_app

    app.add_typer(indices_app, name="indices")


_mount_indices()
