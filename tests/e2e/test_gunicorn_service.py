"""The service as deployed: `osteo-cds serve` (gunicorn) driven over HTTP by a small CDS client."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cds_service.validation import response_problems
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import PATIENT_ID, osteoporosis_chart
from testkit.processes import ServiceProcess

NOW = "2026-11-25T09:00:00Z"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(tmp_path, {"OSTEO_CDS_NOW": NOW}).start()
    yield process
    process.stop()


def test_discovery_call_and_feedback_over_http_and_feedback_survives_a_restart(
    service: ServiceProcess, tmp_path: Path
) -> None:
    session = requests.Session()
    discovery = session.get(service.base_url + "/cds-services", timeout=5)
    assert discovery.status_code == 200
    definition = discovery.json()["services"][0]
    assert definition["id"] == "osteoporosis-management"

    prefetch = prefetch_from_chart(definition["prefetch"], osteoporosis_chart(), PATIENT_ID)
    call = session.post(
        f"{service.base_url}/cds-services/{definition['id']}",
        json=hook_request(PATIENT_ID, prefetch=prefetch),
        timeout=10,
    )
    assert call.status_code == 200
    cards = call.json()["cards"]
    assert response_problems(call.json()) == []
    assert "DX-01" in {c["source"]["topic"]["code"] for c in cards}

    item = {
        "card": cards[0]["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-25T10:00:00Z",
        "overrideReason": {
            "reason": {
                "system": "urn:osteo-cds:override-reason",
                "code": "already-addressed",
                "display": "Already addressed elsewhere",
            }
        },
    }
    feedback = session.post(
        f"{service.base_url}/cds-services/{definition['id']}/feedback", json={"feedback": [item]}, timeout=10
    )
    assert feedback.status_code == 200

    service.stop()
    service.start()
    assert requests.get(service.base_url + "/readyz", timeout=5).status_code == 200
    report = subprocess.run(
        [sys.executable, "-m", "cds_service", "feedback-report", "--json"],
        env=service.env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(report.stdout)
    assert rows == [
        {
            "rule_id": cards[0]["source"]["topic"]["code"],
            "accepted": 0,
            "overridden": 1,
            "override_reasons": {"already-addressed": 1},
        }
    ]


def test_logs_carry_one_line_per_request_and_no_token_patient_or_body(service: ServiceProcess) -> None:
    definition = requests.get(service.base_url + "/cds-services", timeout=5).json()["services"][0]
    prefetch = prefetch_from_chart(definition["prefetch"], osteoporosis_chart(), PATIENT_ID)
    body = hook_request(
        PATIENT_ID, prefetch=prefetch, access_token="tok-SECRET-9f8e7d", fhir_server="http://127.0.0.1:9/fhir"
    )
    response = requests.post(
        f"{service.base_url}/cds-services/osteoporosis-management",
        json=body,
        timeout=10,
        headers={"Authorization": "Bearer eyJhbGciOiJFUzM4NCJ9.e30.c2ln"},
    )
    assert response.status_code == 200
    service.stop()

    lines = [json.loads(line) for line in service.log_text().splitlines() if line.startswith("{")]
    requests_logged = [entry for entry in lines if entry.get("event") == "request" and entry.get("method") == "POST"]
    assert len(requests_logged) == 1
    (entry,) = requests_logged
    assert entry["status"] == 200 and entry["hook_instance"] == body["hookInstance"]
    assert entry["service"] == "osteoporosis-management" and entry["cards"] >= 1 and entry["duration_ms"] > 0
    text = service.log_text()
    for secret in ("tok-SECRET-9f8e7d", "eyJhbGciOiJFUzM4NCJ9", PATIENT_ID, "1955-04-02", "-2.7"):
        assert secret not in text
