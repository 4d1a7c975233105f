"""The Kubernetes manifests in deploy/kubernetes and the deployment docs agree with the code they deploy: they parse,
the container runs the Dockerfile's CMD, every OSTEO_CDS_* name is a real setting, and the service's own loaders
accept the settings and the trusted-clients file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from flask import Flask

from cds_service.auth.trusted_clients import load_trusted_clients
from cds_service.config import PREFIX, SETTINGS, Settings

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
DOCS = [REPO / "README.md", KUBERNETES / "README.md"]
MANIFESTS = sorted(KUBERNETES.glob("*.yaml"))


def documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc is not None]


def one(kind: str, name: str = "osteo-cds") -> dict[str, Any]:
    (found,) = [d for d in documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def container() -> dict[str, Any]:
    (only,) = one("Deployment")["spec"]["template"]["spec"]["containers"]
    return only


def dockerfile_cmd() -> list[str]:
    match = re.search(r"^CMD (\[.*\])\s*$", (REPO / "Dockerfile").read_text("utf-8"), re.MULTILINE)
    assert match is not None
    return json.loads(match.group(1))


def test_every_manifest_parses_and_names_its_kind() -> None:
    assert {p.name for p in MANIFESTS} >= {
        "configmap.yaml",
        "deployment.yaml",
        "service.yaml",
        "pdb.yaml",
        "kustomization.yaml",
    }
    for doc in documents():
        assert doc.get("apiVersion") and doc.get("kind"), doc
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"]
    listed = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text("utf-8"))["resources"]
    assert all((KUBERNETES / name).is_file() for name in listed)
    assert "secret.example.yaml" not in listed  # placeholders must never be applied


def dockerfile_port() -> int:
    """The port the image's CMD listens on: OSTEO_CDS_PORT from its ENV (the CMD passes no --port)."""
    match = re.search(r"^\s*OSTEO_CDS_PORT=(\d+)", (REPO / "Dockerfile").read_text("utf-8"), re.MULTILINE)
    assert match is not None and "--port" not in dockerfile_cmd()
    return int(match.group(1))


def test_the_container_runs_the_dockerfile_command_on_the_probed_port() -> None:
    spec = container()
    assert spec["command"] == dockerfile_cmd()
    port = int(one("ConfigMap")["data"].get("OSTEO_CDS_PORT", dockerfile_port()))
    assert [p["containerPort"] for p in spec["ports"] if p["name"] == "http"] == [port]
    assert re.search(rf"^EXPOSE {port}$", (REPO / "Dockerfile").read_text("utf-8"), re.MULTILINE)


def test_probes_use_the_service_health_endpoints(app: Flask) -> None:
    spec = container()
    assert spec["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert spec["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/readyz", "/healthz", "/metrics"} <= routes


def test_replicas_are_several_non_root_read_only_and_bounded() -> None:
    deployment = one("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    spec = container()
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["securityContext"]["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in spec["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]  # gunicorn and the metrics directory write only there
    assert spec["resources"]["requests"]["cpu"] and spec["resources"]["requests"]["memory"]
    assert spec["resources"]["limits"]["memory"]


def test_service_and_disruption_budget_select_the_deployment_pods() -> None:
    labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    service = one("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert one("PodDisruptionBudget")["spec"]["minAvailable"] < one("Deployment")["spec"]["replicas"]


def test_every_osteo_cds_name_in_the_manifests_and_docs_is_a_setting() -> None:
    known = {PREFIX + s.name for s in SETTINGS}
    everything: set[str] = set()
    for path in [*MANIFESTS, *DOCS]:
        named = set(re.findall(r"OSTEO_CDS_[A-Z_]+[A-Z]", path.read_text("utf-8")))
        assert named <= known, f"{path.name}: unknown settings {sorted(named - known)}"
        everything |= named
    # The production essentials are all there (and this test is reading the right files).
    assert {
        PREFIX + name
        for name in (
            "AUTH_MODE",
            "PUBLIC_BASE_URL",
            "TRUSTED_CLIENTS",
            "DATABASE_URL",
            "REDIS_URL",
            "METRICS_TOKEN",
            "WORKERS",
        )
    } <= everything


def test_configmap_and_secret_give_the_service_a_configuration_it_accepts(tmp_path: Path) -> None:
    env = dict(one("ConfigMap")["data"])
    secret = one("Secret")  # from secret.example.yaml: the names the real Secret must have
    env.update(secret["stringData"])
    assert {"OSTEO_CDS_DATABASE_URL", "OSTEO_CDS_REDIS_URL", "OSTEO_CDS_METRICS_TOKEN"} <= secret["stringData"].keys()
    # The trusted-clients file is where the ConfigMap volume puts it.
    spec = container()
    mount = next(m for m in spec["volumeMounts"] if m["name"] == "trusted-clients")
    trusted = Path(env["OSTEO_CDS_TRUSTED_CLIENTS"])
    assert trusted.parent == Path(mount["mountPath"])
    files = one("ConfigMap", "osteo-cds-trusted-clients")["data"]
    local = tmp_path / trusted.name
    local.write_text(files[trusted.name], "utf-8")
    assert load_trusted_clients(local)  # the service's own loader: refuses a malformed file with a ConfigError

    settings = Settings.from_env({**env, "OSTEO_CDS_TRUSTED_CLIENTS": str(local)})
    assert settings.auth_mode == "required" and settings.warnings == ()
    assert settings.public_base_url is not None and settings.public_base_url.startswith("https://")
    assert settings.database_url.startswith("postgresql+psycopg://") and settings.redis_url
    sources = {next(iter(s)): s[next(iter(s))]["name"] for s in spec["envFrom"]}
    assert sources == {"configMapRef": "osteo-cds", "secretRef": "osteo-cds"}


def test_the_ingress_host_is_the_public_base_url_and_its_body_limit_the_services() -> None:
    ingress = one("Ingress")
    (rule,) = ingress["spec"]["rules"]
    assert one("ConfigMap")["data"]["OSTEO_CDS_PUBLIC_BASE_URL"] == f"https://{rule['host']}"
    assert rule["host"] in ingress["spec"]["tls"][0]["hosts"]
    annotations = ingress["metadata"]["annotations"]
    # Bodies buffered, and none larger than the service reads (see "Behind a reverse proxy" in the docs).
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"
    body_limit = annotations["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert int(body_limit.rstrip("m")) * 1024 * 1024 == int(one("ConfigMap")["data"]["OSTEO_CDS_MAX_BODY_BYTES"])
