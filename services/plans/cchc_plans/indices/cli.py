"""`cchc plans indices load FILE...`: load index results (CSV, YAML, JSON) and framework files
(a YAML or JSON document with `nodes`) through the gateway, like any client: the same
validation, audit trail, events and authorisation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml

app = typer.Typer(help="Index frameworks and results (PAR INDEX, SIPAS, PAPI).")

CONTENT_TYPES = {".csv": "text/csv", ".json": "application/json"}


def _endpoint(path: Path, body: bytes) -> str:
    """Frameworks have `nodes`; everything else (and every CSV) is results."""
    if path.suffix.lower() != ".csv":
        try:
            document: Any = yaml.safe_load(body)  # JSON is YAML too
        except yaml.YAMLError:
            document = None  # the service names the fault
        if isinstance(document, dict) and "nodes" in document:
            return "/api/v1/indices/frameworks/import"
    return "/api/v1/indices/results/import"


@app.command("load")
def load(
    files: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, help="CSV, YAML or JSON files.")
    ],
    url: Annotated[str | None, typer.Option(envvar="CCHC_GATEWAY_URL", help="Gateway URL.")] = None,
    token: Annotated[str | None, typer.Option(envvar="CCHC_TOKEN", help="Bearer token.")] = None,
) -> None:
    """Load index results (one framework and year per file) or framework files."""
    from cchc_plans.cli import gateway_url  # the plans CLI mounts this one: no import cycle

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    failed = 0
    with httpx.Client(base_url=url or gateway_url(), timeout=60.0, headers=headers) as client:
        for path in files:
            failed += not _load_one(client, path)
    raise typer.Exit(1 if failed else 0)


def _load_one(client: httpx.Client, path: Path) -> bool:
    body = path.read_bytes()
    content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/yaml")
    try:
        resp = client.post(
            _endpoint(path, body), content=body, headers={"content-type": content_type}
        )
    except httpx.HTTPError as exc:
        typer.echo(f"{path}: cannot reach {client.base_url}: {exc}", err=True)
        return False
    if resp.status_code >= 400:
        from cchc_plans.cli import echo_problem

        typer.echo(f"{path}: refused ({resp.status_code})", err=True)
        echo_problem(resp)
        return False
    answer = resp.json()
    if "framework" in answer:
        framework = answer["framework"]
        typer.echo(f"{path}: {answer['result']} {framework['code']} {framework['version']}")
    else:
        typer.echo(
            f"{path}: {answer['framework_code']} {answer['year']}: {answer['created']} created, "
            f"{answer['changed']} changed, {answer['unchanged']} unchanged"
        )
    return True
