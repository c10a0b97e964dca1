"""The production overlays' rules (issue acceptance 3), checked on what `kustomize build` renders.

Every container of every workload: a non-root user, a read-only root file system, no privilege
escalation and no capabilities, CPU and memory requests and limits, an image pinned to a tag that
is not `latest` (or a digest); every container of a Deployment or StatefulSet: start-up, liveness
and readiness probes. The same rules hold in the dev overlay. Each rule is also shown to fail on a
manifest that breaks it.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest


def test_production_workloads_are_hardened(k: SimpleNamespace, production_overlay: str) -> None:
    docs = k.render(production_overlay)
    assert list(k.pod_templates(docs)), "no workloads rendered"
    assert k.hardening_violations(docs) == []


def test_dev_workloads_are_hardened_too(k: SimpleNamespace) -> None:
    assert k.hardening_violations(k.render("dev")) == []


def test_every_container_has_all_three_probes(k: SimpleNamespace, production_overlay: str) -> None:
    """Spelled out, apart from the aggregate check above."""
    docs = k.render(production_overlay)
    seen = 0
    for workload, template in k.pod_templates(docs):
        if workload["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for container in template["spec"]["containers"]:
            seen += 1
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                spec = container.get(probe)
                assert spec, f"{workload['metadata']['name']}/{container['name']}: no {probe}"
                assert "httpGet" in spec or "tcpSocket" in spec or "exec" in spec or "grpc" in spec
    assert seen >= 8  # 7 CCHC Deployments and NATS


def test_images_are_pinned(k: SimpleNamespace, production_overlay: str) -> None:
    docs = k.render(production_overlay)
    images = [c["image"] for _, t in k.pod_templates(docs) for c in t["spec"]["containers"]]
    images += [c["spec"]["imageName"] for c in k.by_kind(docs, "Cluster")]
    assert images
    for image in images:
        assert k.image_problem(image) is None, image
        assert not image.startswith("cchc/"), f"{image}: the overlay did not set the registry"
    policies = {
        c.get("imagePullPolicy")
        for w, t in k.pod_templates(docs)
        if w["kind"] in ("Deployment", "Job")
        for c in t["spec"]["containers"]
        if "/cchc/" in c["image"]
    }
    assert policies == {"Always"}


def test_image_reference_rules(k: SimpleNamespace) -> None:
    bad = ["cchc/plans", "registry.example:5000/cchc/plans", "nats:latest", "x/y:latest"]
    good = [
        "nats:2.15.1-alpine",
        "registry.example:5000/cchc/plans:0.1.0",
        "registry.example/cchc/plans@sha256:" + "0" * 64,
    ]
    assert all(k.image_problem(i) for i in bad)
    assert not any(k.image_problem(i) for i in good)


def test_namespace_enforces_restricted_pod_security(
    k: SimpleNamespace, production_overlay: str
) -> None:
    docs = k.render(production_overlay)
    (namespace,) = k.by_kind(docs, "Namespace")
    assert namespace["metadata"]["name"] == k.namespace_of(docs)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_secrets_are_only_referenced(k: SimpleNamespace, production_overlay: str) -> None:
    docs = k.render(production_overlay)
    assert k.by_kind(docs, "Secret") == [], "production must not carry secret values"
    for workload, template in k.pod_templates(docs):
        for container in template["spec"]["containers"]:
            for env in container.get("env", []):
                name = env["name"]
                if any(word in name for word in ("PASSWORD", "SECRET", "KEY")):
                    assert "valueFrom" in env, (
                        f"{workload['metadata']['name']}: {name} given as a literal"
                    )


def _first_app_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "plans"
    )
    return deployment["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


BREAKAGES = {
    "startup probe removed": ("no startupProbe", lambda c, p: c.pop("startupProbe")),
    "liveness probe removed": ("no livenessProbe", lambda c, p: c.pop("livenessProbe")),
    "readiness probe removed": ("no readinessProbe", lambda c, p: c.pop("readinessProbe")),
    "latest tag": (
        "latest tag",
        lambda c, p: c.update(image="registry.example.invalid/cchc/plans:latest"),
    ),
    "no tag": ("no tag", lambda c, p: c.update(image="registry.example.invalid/cchc/plans")),
    "writable root": (
        "root file system is writable",
        lambda c, p: c["securityContext"].update(readOnlyRootFilesystem=False),
    ),
    "root user": ("runs as uid 0", lambda c, p: c["securityContext"].update(runAsUser=0)),
    "runAsNonRoot off": (
        "runAsNonRoot not set",
        lambda c, p: c["securityContext"].update(runAsNonRoot=False),
    ),
    "no cpu limit": ("no limits.cpu", lambda c, p: c["resources"]["limits"].pop("cpu")),
    "no memory limit": ("no limits.memory", lambda c, p: c["resources"]["limits"].pop("memory")),
    "no requests": ("no requests.memory", lambda c, p: c["resources"].pop("requests")),
    "privilege escalation": (
        "privilege escalation allowed",
        lambda c, p: c["securityContext"].pop("allowPrivilegeEscalation"),
    ),
    "capabilities kept": (
        "capabilities not dropped",
        lambda c, p: c["securityContext"].pop("capabilities"),
    ),
    "no seccomp": ("no seccomp profile", lambda c, p: p["securityContext"].pop("seccompProfile")),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_hardening_check_fails_on_a_broken_manifest(
    k: SimpleNamespace, mutate: Any, breakage: str
) -> None:
    expected, breaking = BREAKAGES[breakage]
    docs = mutate(k.render("production"))
    container = _first_app_container(docs)
    pod = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "plans")[
        "spec"
    ]["template"]["spec"]
    breaking(container, pod)
    violations = k.hardening_violations(docs)
    assert any(v.startswith("Deployment/plans/app: ") and expected in v for v in violations), (
        violations
    )


def test_hardening_check_covers_other_workload_kinds(k: SimpleNamespace, mutate: Any) -> None:
    docs = mutate(k.render("production"))
    nats = next(d for d in docs if d["kind"] == "StatefulSet")
    nats["spec"]["template"]["spec"]["containers"][0]["image"] = "nats:latest"
    job = next(d for d in docs if d["kind"] == "Job")
    job["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "readOnlyRootFilesystem"
    ] = False
    cluster = next(d for d in docs if d["kind"] == "Cluster")
    cluster["spec"]["resources"].pop("limits")
    violations = k.hardening_violations(docs)
    assert any(v.startswith("StatefulSet/nats/nats: ") and "latest" in v for v in violations)
    assert any(v.startswith("Job/cchc-migrate/app: ") and "writable" in v for v in violations)
    assert any(v.startswith("Cluster/cchc-db: no resource limits") for v in violations)
