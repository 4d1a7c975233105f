"""The Helm chart (deploy/helm/osteo-cds), linted and rendered by the real helm binary that scripts/test.sh installs,
agrees with the image, the settings and the plain manifests it mirrors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from cds_service.auth.trusted_clients import load_trusted_clients
from cds_service.config import PREFIX, SETTINGS, Settings
from tests.unit.test_container_image import exec_form, image_env, instructions

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "osteo-cds"
PLAIN = REPO / "deploy" / "kubernetes"
HELM = Path(sys.executable).parent / "helm"  # scripts/install_helm.py puts it there


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    assert HELM.is_file(), f"{HELM} is missing: run bash scripts/test.sh, which installs it"
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=120)


def render(*overrides: str) -> list[dict[str, Any]]:
    result = helm("template", "osteo-cds", str(CHART), *overrides)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def one(documents: list[dict[str, Any]], kind: str, name: str = "osteo-cds") -> dict[str, Any]:
    (found,) = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    (only,) = one(documents, "Deployment")["spec"]["template"]["spec"]["containers"]
    return only


def test_helm_lint_strict_passes() -> None:
    result = helm("lint", "--strict", str(CHART))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_the_default_render_has_the_plain_manifests_kinds() -> None:
    kinds = {d["kind"] for d in render()}
    plain = {d["kind"] for p in PLAIN.glob("*.yaml") for d in yaml.safe_load_all(p.read_text()) if d}

    assert kinds == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "Ingress"}
    assert kinds <= plain
    optional = {
        d["kind"] for d in render("--set", "networkPolicy.enabled=true", "--set", "serviceMonitor.enabled=true")
    }
    assert {"NetworkPolicy", "ServiceMonitor"} <= optional


def test_the_container_runs_the_image_command_as_its_user_on_the_configured_port() -> None:
    documents = render("--set", "port=9090")
    spec = container(documents)
    pod = one(documents, "Deployment")["spec"]["template"]["spec"]
    (user,) = [rest for keyword, rest in instructions() if keyword == "USER"]

    assert spec["command"] == exec_form("CMD")
    assert [p["containerPort"] for p in spec["ports"]] == [9090]
    assert one(documents, "ConfigMap")["data"]["OSTEO_CDS_PORT"] == "9090"  # what serve and the healthcheck read
    assert f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" == user
    assert spec["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert spec["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert spec["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in spec["volumeMounts"]}
    assert "emptyDir" in {v["name"]: v for v in pod["volumes"]}[mounts["/tmp"]]
    assert image_env()["OSTEO_CDS_PORT"] == str(yaml.safe_load((CHART / "values.yaml").read_text())["port"])


def test_the_rendered_configuration_is_one_the_service_accepts(tmp_path: Path) -> None:
    documents = render()
    env = dict(one(documents, "ConfigMap")["data"])
    known = {PREFIX + s.name for s in SETTINGS}
    assert set(env) <= known

    trusted = one(documents, "ConfigMap", "osteo-cds-trusted-clients")["data"]["trusted-clients.yaml"]
    local = tmp_path / "trusted-clients.yaml"
    local.write_text(trusted)
    assert load_trusted_clients(local)
    spec = container(documents)
    mount = next(m for m in spec["volumeMounts"] if m["name"] == "trusted-clients")
    assert Path(env["OSTEO_CDS_TRUSTED_CLIENTS"]).parent == Path(mount["mountPath"])

    secret = yaml.safe_load((PLAIN / "secret.example.yaml").read_text())["stringData"]
    settings = Settings.from_env({**env, **secret, "OSTEO_CDS_TRUSTED_CLIENTS": str(local)})
    assert settings.auth_mode == "required" and settings.warnings == ()
    sources = {next(iter(s)): s[next(iter(s))]["name"] for s in spec["envFrom"]}
    assert sources == {"configMapRef": "osteo-cds", "secretRef": "osteo-cds"}


def test_the_chart_defaults_are_the_plain_manifests_settings() -> None:
    plain = next(
        d for d in yaml.safe_load_all((PLAIN / "configmap.yaml").read_text()) if d["metadata"]["name"] == "osteo-cds"
    )
    rendered = one(render(), "ConfigMap")["data"]

    assert {k: v for k, v in rendered.items() if k != "OSTEO_CDS_PORT"} == plain["data"]


def test_the_ingress_host_is_the_public_base_url_and_its_body_limit_the_services() -> None:
    documents = render()
    ingress = one(documents, "Ingress")
    data = one(documents, "ConfigMap")["data"]
    (rule,) = ingress["spec"]["rules"]

    assert urlsplit(data["OSTEO_CDS_PUBLIC_BASE_URL"]).hostname == rule["host"] == ingress["spec"]["tls"][0]["hosts"][0]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == data["OSTEO_CDS_MAX_BODY_BYTES"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"


def test_values_accept_exactly_the_settings_the_chart_does_not_manage_itself() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    allowed = set(schema["properties"]["settings"]["propertyNames"]["enum"])
    secret = set(schema["properties"]["secret"]["properties"]["values"]["propertyNames"]["enum"])

    assert allowed | secret | {"TRUSTED_CLIENTS", "PORT"} == {s.name for s in SETTINGS}
    assert secret == {s.name for s in SETTINGS if s.secret} | {"DATABASE_URL", "REDIS_URL"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["--set", "settings.NO_SUCH_SETTING=1"], "value must be one of"),
        (["--set", "settings.DATABASE_URL=postgresql://u:pw@db/osteo"], "value must be one of"),  # a secret
        (["--set-string", "settings.PUBLIC_BASE_URL="], "settings.PUBLIC_BASE_URL is required"),
    ],
)
def test_a_release_the_service_would_refuse_is_refused_at_render_time(overrides: list[str], message: str) -> None:
    result = helm("template", "osteo-cds", str(CHART), *overrides)

    assert result.returncode != 0 and message in result.stderr


def test_a_trial_release_can_create_its_secret_from_values() -> None:
    documents = render(
        "--set", "secret.create=true", "--set", "secret.values.METRICS_TOKEN=trial-token", "--set", "secret.name=trial"
    )
    secret = one(documents, "Secret", "trial")

    assert secret["stringData"] == {"OSTEO_CDS_METRICS_TOKEN": "trial-token"}
    assert {"secretRef": {"name": "trial"}} in container(documents)["envFrom"]
    assert "Secret" not in {d["kind"] for d in render()}  # never by default
