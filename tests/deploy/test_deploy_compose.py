"""docker-compose.yml: valid against the Compose specification's schema, and complete.

The schema is the one check-jsonschema vendors (check_jsonschema/builtin_schemas/vendor/
compose-spec.json), read from the installed package, so the check runs offline.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
import yaml

from cchc_shared.settings import ALL_SETTINGS

APP_SERVICES = ("plans", "ingest", "indicators", "gateway", "simulator")
DATA_SERVICES = ("plans", "ingest", "indicators")


@pytest.fixture(scope="module")
def compose(k: SimpleNamespace) -> dict[str, Any]:
    return yaml.safe_load((k.REPO / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def compose_schema() -> jsonschema.protocols.Validator:
    text = (
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text()
    )
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)  # type: ignore[no-any-return]


def test_compose_file_matches_the_compose_specification(
    compose: dict[str, Any], compose_schema: Any
) -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
        for e in compose_schema.iter_errors(compose)
    ]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize(
    "breakage", ["unknown service key", "bad depends_on condition", "bad healthcheck"]
)
def test_compose_schema_rejects_broken_files(
    compose: dict[str, Any], compose_schema: Any, breakage: str
) -> None:
    broken = json.loads(json.dumps(compose))
    plans = broken["services"]["plans"]
    if breakage == "unknown service key":
        plans["restart_policy"] = "always"
    elif breakage == "bad depends_on condition":
        plans["depends_on"]["migrate"]["condition"] = "service_finished"
    else:
        plans["healthcheck"]["timeout_seconds"] = 3
    assert list(compose_schema.iter_errors(broken))


def test_every_process_is_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "nats", "migrate", *APP_SERVICES} <= set(services)


def test_images_are_pinned(k: SimpleNamespace, compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        assert k.image_problem(re.sub(r"\$\{[^}:]+:-([^}]*)\}", r"\1", image)) is None, (
            f"{name}: {image}"
        )
    nats = compose["services"]["nats"]["image"]
    assert tuple(int(x) for x in re.match(r"nats:(\d+)\.(\d+)\.(\d+)", nats).groups()) >= (2, 12, 3)  # type: ignore[union-attr]


def test_nats_has_jetstream_on_disk_with_fsync_always(
    k: SimpleNamespace, compose: dict[str, Any], tmp_path: Path
) -> None:
    nats = compose["services"]["nats"]
    (config,) = nats["configs"]
    path = k.REPO / compose["configs"][config["source"]]["file"]
    text = path.read_text()
    assert re.search(r"^\s*sync_interval:\s*always\s*$", text, re.M)
    store = re.search(r"^\s*store_dir:\s*(\S+)\s*$", text, re.M).group(1)  # type: ignore[union-attr]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in nats["volumes"]}
    assert any(store.startswith(target) for target in mounts), (
        "JetStream store is not on the volume"
    )
    assert set(mounts.values()) <= set(compose["volumes"]), "not a named volume"
    assert nats["command"][-1] == config["target"]
    result = k.run(k.tool("nats-server"), "-c", str(path), "-t", cwd=tmp_path, env=dict(os.environ))
    assert result.returncode == 0, result.stderr + result.stdout
    assert "js-enabled-only" in " ".join(nats["healthcheck"]["test"])


def test_postgres_keeps_data_in_a_named_volume(compose: dict[str, Any]) -> None:
    pg = compose["services"]["postgres"]
    source, target = pg["volumes"][0].split(":")[:2]
    assert source in compose["volumes"] and target == "/var/lib/postgresql"
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])


def test_start_order_is_health_gated(compose: dict[str, Any]) -> None:
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no" and migrate["command"] == ["cchc", "migrate"]
    for name in DATA_SERVICES:
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["nats"]["condition"] == "service_healthy", name
        assert deps["postgres"]["condition"] == "service_healthy", name
    assert services["ingest"]["depends_on"]["simulator"]["condition"] == "service_healthy"
    gateway_deps = services["gateway"]["depends_on"]
    assert {n: d["condition"] for n, d in gateway_deps.items()} == {
        n: "service_healthy" for n in DATA_SERVICES
    }
    for name in ("postgres", "nats", *APP_SERVICES):
        assert services[name].get("healthcheck", {}).get("test"), f"{name}: no health check"
        assert not services[name]["healthcheck"].get("disable"), name


def test_simulator_is_the_default_source(compose: dict[str, Any]) -> None:
    env = compose["services"]["ingest"]["environment"]
    assert env["CCHC_LGSP_URL"] == "${CCHC_LGSP_URL:-http://simulator:8080}"
    sim = compose["services"]["simulator"]["environment"]
    assert env["CCHC_LGSP_CLIENT_SECRET"] == sim["CCHC_SIMULATOR_CLIENT_SECRET"]
    assert env["CCHC_LGSP_CLIENT_ID"] == sim["CCHC_SIMULATOR_CLIENT_ID"]


def test_services_verify_tokens_with_the_gateway_keys(compose: dict[str, Any]) -> None:
    for name in DATA_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["CCHC_AUTH_JWKS_URL"] == "http://gateway:8080/.well-known/jwks.json", name
        assert env["CCHC_RUN_BACKGROUND_WORKERS"] == "true", name
    gateway = compose["services"]["gateway"]["environment"]
    for secret in ("CCHC_AUTH_KEY_SECRET", "CCHC_ADMIN_PASSWORD", "CCHC_IOC_DASHBOARD_SECRET"):
        assert gateway[secret].startswith("${" + secret + ":-"), secret


def test_gateway_is_the_only_published_port(compose: dict[str, Any]) -> None:
    published = {name for name, s in compose["services"].items() if s.get("ports")}
    assert published == {"gateway"}


def test_app_containers_are_locked_down(compose: dict[str, Any]) -> None:
    for name in ("migrate", *APP_SERVICES):
        service = compose["services"][name]
        assert service["read_only"] is True, name
        assert service["user"].split(":")[0] not in ("0", "root"), name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name


def test_builds_use_the_one_dockerfile_and_real_packages(
    k: SimpleNamespace, compose: dict[str, Any]
) -> None:
    lock = tomllib.loads((k.REPO / "uv.lock").read_text())
    packages = {p["name"] for p in lock["package"]}
    root = tomllib.loads((k.REPO / "pyproject.toml").read_text())
    built = 0
    for name, service in compose["services"].items():
        build = service.get("build")
        if not build:
            continue
        built += 1
        assert build["context"] == "." and build["dockerfile"] == "deploy/docker/Dockerfile", name
        package, command = build["args"]["PACKAGE"], build["args"]["COMMAND"].split()
        assert package in packages, f"{name}: {package} is not in uv.lock"
        if command[:2] == ["python", "-m"]:
            module = command[2]
            members = root["tool"]["uv"]["workspace"]["members"]
            found = [m for m in members if (k.REPO / m / module / "__main__.py").exists()]
            assert found, f"{name}: no workspace member has {module}/__main__.py"
        else:
            assert (
                command[0] in root["project"]["scripts"] and package == root["project"]["name"]
            ), name
    assert built == 6


def test_every_cchc_variable_is_a_real_setting(compose: dict[str, Any]) -> None:
    known = {f"CCHC_{name.upper()}" for cls in ALL_SETTINGS for name in cls.model_fields}
    used = {
        key
        for service in compose["services"].values()
        for key in (service.get("environment") or {})
        if key.startswith("CCHC_")
    }
    assert used - known == set()
