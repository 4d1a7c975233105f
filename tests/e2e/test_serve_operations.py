"""Issue 15: `osteo-cds serve` (gunicorn, started as the image starts it) as an operator and a sandbox tester meet
it: clear start-up failures, one line per warning, JSON logs throughout, a logged reason for every refused call,
discovery URLs typed with a trailing slash, and the image's health check."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from testkit.jwt_clients import claims_for, generate_key, write_trusted_clients
from testkit.processes import REPO, ServiceProcess, dockerfile_command, free_port

OSTEO_CDS = str(Path(sys.executable).parent / "osteo-cds")
SERVICE = "/cds-services/osteoporosis-management"
SANDBOX_LIKE_ISSUER = "https://sandbox.example.test"


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def start_failure(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        dockerfile_command("127.0.0.1"),
        env={"PATH": os.environ["PATH"], "OSTEO_CDS_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_port_in_use_is_one_clear_message_and_a_failure_status(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        result = start_failure({"OSTEO_CDS_AUTH_MODE": "development", "OSTEO_CDS_PORT": str(port)}, tmp_path)

    assert result.returncode != 0
    assert f"port {port} is in use" in result.stderr
    assert "Retrying" not in result.stderr and "Can't connect" not in result.stderr and "Traceback" not in result.stderr


def test_required_mode_without_its_settings_names_all_of_them_and_the_development_switch(tmp_path: Path) -> None:
    result = start_failure({"OSTEO_CDS_PORT": str(free_port())}, tmp_path)

    assert result.returncode == 2
    assert "OSTEO_CDS_PUBLIC_BASE_URL is not set" in result.stderr
    assert "OSTEO_CDS_TRUSTED_CLIENTS is not set" in result.stderr
    assert "OSTEO_CDS_AUTH_MODE=development" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def development_service(tmp_path: Path) -> Iterator[ServiceProcess]:
    service = ServiceProcess(
        tmp_path,
        {
            "OSTEO_CDS_ALLOW_HTTP_FHIR": "false",
            "OSTEO_CDS_CORS_ORIGINS": "https://ehr.example.org",
            "OSTEO_CDS_MAX_BODY_BYTES": "4096",
        },
        workers=2,
    ).start()
    yield service
    service.stop()


def test_start_up_warnings_appear_once_and_every_line_gunicorns_included_is_json(
    development_service: ServiceProcess,
) -> None:
    assert requests.get(development_service.base_url + "/healthz", timeout=5).status_code == 200
    development_service.stop()

    lines = json_lines(development_service.log_text())  # json.loads fails on any plain-text line
    warnings = [line for line in lines if line.get("event") == "startup" and line["level"] == "WARNING"]
    assert [w["msg"] for w in warnings].count(warnings[0]["msg"]) == 1 and "development" in warnings[0]["msg"]
    gunicorn = [line["msg"] for line in lines if line["logger"] == "gunicorn.error"]
    assert any(msg.startswith("Listening at:") for msg in gunicorn)
    assert sum(msg.startswith("Booting worker") for msg in gunicorn) == 2
    (serving,) = [line for line in lines if line["msg"].startswith("serving on")]
    assert serving["workers"] == 2 and "from OSTEO_CDS_WORKERS" in serving["msg"]


def test_every_refused_call_logs_one_line_with_its_reason(development_service: ServiceProcess) -> None:
    base = development_service.base_url
    example = json.loads((REPO / "examples" / "patient-view-request.json").read_text())
    http_fhir = {**example, "fhirServer": "http://fhir.example.org/r4"}
    http_fhir.pop("prefetch")
    answers = [
        requests.post(base + SERVICE, json={}, timeout=5),
        requests.post(base + SERVICE, json=http_fhir, timeout=5),
        requests.post(base + "/cds-services/no-such-service", json=example, timeout=5),
        requests.post(base + SERVICE, data=b"{" + b" " * 8000 + b"}", timeout=5),
        requests.post(base + SERVICE, json={**example, "prefetch": {}}, timeout=10),
        requests.get(base + "/cds-services", headers={"Origin": "https://elsewhere.example"}, timeout=5),
        requests.options(base + SERVICE, headers={"Origin": "https://elsewhere.example"}, timeout=5),
    ]
    assert [a.status_code for a in answers] == [400, 400, 404, 413, 412, 200, 204]
    development_service.stop()

    refused = [line for line in json_lines(development_service.log_text()) if line.get("event") == "refused"]
    assert sorted((line["status"], line["reason"]) for line in refused) == [
        (200, "cors-origin-not-allowed"),
        (204, "cors-origin-not-allowed"),
        (400, "invalid-request"),
        (400, "invalid-request"),
        (404, "not-found"),
        (412, "required-data-unavailable"),
        (413, "body-too-large"),
    ]
    details = [line["detail"] for line in refused if line["status"] == 400]
    assert any(d == "'hook' is required. 'hookInstance' is required. 'context' is required." for d in details)
    assert any("'fhirServer' must use https." in detail for detail in details)
    assert [line["path"] for line in refused if line["status"] == 404] == ["/cds-services/<service_id>"]
    cors = [line for line in refused if line["reason"] == "cors-origin-not-allowed"]
    assert {line["method"] for line in cors} == {"GET", "OPTIONS"}
    assert all(line["origin"] == "https://elsewhere.example" for line in cors)
    assert "OSTEO_CDS_CORS_ORIGINS" in cors[0]["detail"]


def test_a_discovery_url_with_a_trailing_slash_works_for_discovery_and_the_service(
    development_service: ServiceProcess,
) -> None:
    base = development_service.base_url
    canonical = requests.get(base + "/cds-services", timeout=5)
    with_slash = requests.get(base + "/cds-services/", timeout=5, allow_redirects=False)

    assert with_slash.status_code == 200 and with_slash.json() == canonical.json()
    example = json.loads((REPO / "examples" / "patient-view-request.json").read_text())
    doubled = requests.post(base + "/cds-services//osteoporosis-management", json=example, allow_redirects=False)
    assert doubled.status_code == 200 and doubled.json()["cards"]
    item = {
        "card": doubled.json()["cards"][0]["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-25T10:00:00Z",
        "overrideReason": {"userComment": "discussed with the patient"},
    }
    feedback = {"feedback": [item]}
    acknowledged = requests.post(base + "/cds-services//osteoporosis-management/feedback", json=feedback, timeout=5)
    assert acknowledged.status_code == 200 and acknowledged.json() == {"received": 1, "stored": 1}


def test_the_root_page_points_to_discovery_the_catalog_health_and_the_api_description(
    development_service: ServiceProcess,
) -> None:
    base = development_service.base_url
    about = requests.get(base + "/", timeout=5)
    page = requests.get(base + "/", headers={"Accept": "text/html"}, timeout=5)

    assert about.status_code == 200 and about.json()["name"] == "osteo-cds"
    for name, link in about.json()["links"].items():
        if name != "service":  # the service is POST only
            assert requests.get(base + link, timeout=10).status_code == 200, name
    assert page.headers["Content-Type"].startswith("text/html") and 'href="/cds-services"' in page.text


def test_the_image_healthcheck_follows_the_configured_port(development_service: ServiceProcess) -> None:
    env = {"PATH": os.environ["PATH"], "OSTEO_CDS_PORT": str(development_service.port)}
    healthy = subprocess.run([OSTEO_CDS, "healthcheck"], env=env, capture_output=True, text=True, timeout=30)
    development_service.stop()
    stopped = subprocess.run([OSTEO_CDS, "healthcheck"], env=env, capture_output=True, text=True, timeout=30)

    assert healthy.returncode == 0, healthy.stderr
    assert stopped.returncode == 1 and "did not answer" in stopped.stderr


def test_in_required_mode_an_unreachable_jku_is_logged_as_jwks_unavailable_not_just_a_401(tmp_path: Path) -> None:
    """The sandbox case: the issuer is trusted by its jku allow-list only, and the jku host cannot be reached."""
    jku = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"  # nothing listens there
    trusted = write_trusted_clients(
        tmp_path / "trusted-clients.yaml",
        [{"issuer": SANDBOX_LIKE_ISSUER, "jku_allowlist": [jku], "algorithms": ["ES384"]}],
    )
    service = ServiceProcess(
        tmp_path,
        {"OSTEO_CDS_AUTH_MODE": "required", "OSTEO_CDS_TRUSTED_CLIENTS": str(trusted), "OSTEO_CDS_WORKERS": "1"},
        workers=1,
    )
    service.env["OSTEO_CDS_PUBLIC_BASE_URL"] = service.base_url
    service.start()
    try:
        key = generate_key("ES384")
        token = key.sign(claims_for(service.base_url + "/cds-services", SANDBOX_LIKE_ISSUER), headers={"jku": jku})
        answer = requests.get(service.base_url + "/cds-services", headers={"Authorization": f"Bearer {token}"})
        anonymous = requests.get(service.base_url + "/cds-services", timeout=5)
    finally:
        service.stop()

    assert answer.status_code == 401 and anonymous.status_code == 401
    refused = [line for line in json_lines(service.log_text()) if line.get("event") == "refused"]
    assert [(line["status"], line["reason"]) for line in refused] == [
        (401, "jwks-unavailable"),
        (401, "no-bearer-token"),
    ]
    assert token not in service.log_text()
