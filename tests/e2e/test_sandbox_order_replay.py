"""A scripted client replays what the CDS Hooks sandbox sends for Rx View (order-select) and Rx Sign (order-sign)
against the deployed service (gunicorn, production auth): ES384 JWTs from the sandbox issuer with `aud` = the
exact URL called, a browser Origin (CORS), the empty first order-select, the one-entry `draftOrders` Bundle without
`type` (`request-123`, no intent, single-object category and reasonCode, `1 {pill}`), then feedback on the cards.

The requests are the files in examples/ (order-select-empty-request.json, order-select-request.json,
order-sign-request.json); the README shows how to send them by hand."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from cds_service.validation import response_problems
from testkit import traffic_secrets
from testkit.jwt_clients import SigningKey, claims_for, generate_key, jwks, write_trusted_clients
from testkit.processes import ServiceProcess

ISSUER = "https://sandbox.cds-hooks.org"
ORIGIN = "http://127.0.0.1:8080"  # where the sandbox build is served in a manual check
EXAMPLE_DATE = date(2026, 11, 25)  # the examples' evaluation date
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _example(name: str) -> dict[str, Any]:
    """An example request, its lab dates moved so that they keep their age relative to today (a production-mode
    service evaluates at the real time; the examples are written for 2026-11-25)."""
    body = json.loads((EXAMPLES / name).read_text("utf-8"))
    traffic_secrets.register("patient id", body["context"]["patientId"])
    body["hookInstance"] = str(uuid.uuid4())  # the sandbox sends a fresh one per call
    shift = datetime.now(UTC).date() - EXAMPLE_DATE
    for entry in body["prefetch"]["observations"]["entry"]:
        observation = entry["resource"]
        when = date.fromisoformat(observation["effectiveDateTime"][:10]) + shift
        observation["effectiveDateTime"] = when.isoformat()
    return body


@dataclass
class Sandbox:
    service: ServiceProcess
    key: SigningKey

    def _headers(self, url: str) -> dict[str, str]:
        token = self.key.sign(claims_for(url, ISSUER), headers={"jku": f"{ISSUER}/.well-known/jwks.json"})
        return {"Authorization": f"Bearer {token}", "Origin": ORIGIN, "Content-Type": "application/json"}

    def get(self, path: str) -> requests.Response:
        url = self.service.base_url + path
        return requests.get(url, headers=self._headers(url), timeout=30)

    def post(self, path: str, body: Any, *, audience: str | None = None) -> requests.Response:
        url = self.service.base_url + path
        headers = self._headers(audience or url)
        return requests.post(url, data=json.dumps(body), headers=headers, timeout=30)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    tmp_path = tmp_path_factory.mktemp("sandbox-orders")
    key = generate_key("ES384", kid="44823f3d-0b01-4a6c-a80e-b9d3e8a7226f")
    # The sandbox's keys pinned (its jku host is unreachable here), its jku allowed as it sends it.
    client = {"issuer": ISSUER, "jwks": jwks(key), "jku_allowlist": [f"{ISSUER}/.well-known/jwks.json"]}
    trusted = write_trusted_clients(tmp_path / "trusted-clients.yaml", [client])
    service = ServiceProcess(
        tmp_path,
        {
            "OSTEO_CDS_AUTH_MODE": "required",
            "OSTEO_CDS_TRUSTED_CLIENTS": str(trusted),
            "OSTEO_CDS_CORS_ORIGINS": ORIGIN,
        },
        workers=1,
    )
    service.env["OSTEO_CDS_PUBLIC_BASE_URL"] = service.base_url
    service.start()
    try:
        yield Sandbox(service, key)
    finally:
        service.stop()


def _codes(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response_problems(response.json()) == []
    return [card["source"]["topic"]["code"] for card in response.json()["cards"]]


def _feedback_report(data_dir: Path) -> list[dict[str, Any]]:
    env = {**os.environ, "OSTEO_CDS_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "cds_service", "feedback-report", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def test_rx_view_then_rx_sign_as_the_sandbox_sends_them(sandbox: Sandbox) -> None:
    discovery = sandbox.get("/cds-services")
    assert discovery.status_code == 200
    services = {s["id"]: s for s in discovery.json()["services"]}
    assert services["bone-safety-order-select"]["hook"] == "order-select"
    assert services["bone-safety-order-sign"]["hook"] == "order-sign"
    assert set(services["bone-safety-order-sign"]["prefetch"]) >= {"patient", "observations", "medicationRequests"}

    # Rx View loads with an empty draft (no medication yet): 200, no card.
    assert (
        _codes(sandbox.post("/cds-services/bone-safety-order-select", _example("order-select-empty-request.json")))
        == []
    )

    # A drug is chosen: prednisone 5 mg (SCD 312617) 1 {pill} daily, 30 days x 3 fills.
    select = sandbox.post("/cds-services/bone-safety-order-select", _example("order-select-request.json"))
    assert _codes(select) == ["ORD-08"]
    (gc_card,) = select.json()["cards"]
    assert gc_card["summary"].startswith("Long-term glucocorticoid (5 mg/d prednisone-eq)")
    assert "MedicationRequest/request-123" in gc_card["detail"]

    # Rx Sign: alendronate 70 mg (SCD 904431) with eGFR 32 on file.
    sign = sandbox.post("/cds-services/bone-safety-order-sign", _example("order-sign-request.json"))
    assert _codes(sign) == ["ORD-01"]
    (card,) = sign.json()["cards"]
    assert card["indicator"] == "critical"
    assert card["summary"] == "Alendronate order with eGFR 32 (<35): bisphosphonate not recommended"
    replace, remove = card["suggestions"]
    # The sandbox applies only the first action it can handle: the alternative's create comes first.
    assert [a["type"] for a in replace["actions"]] == ["create", "delete"]
    assert replace["actions"][0]["resource"]["medicationCodeableConcept"]["coding"][0]["code"] == "993452"
    assert replace["actions"][1]["resourceId"] == "MedicationRequest/request-123"
    assert [(a["type"], a["resourceId"]) for a in remove["actions"]] == [("delete", "MedicationRequest/request-123")]
    assert card["selectionBehavior"] == "at-most-one"

    # Feedback: the denosumab alternative accepted on the sign card; the glucocorticoid card overridden.
    accepted = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": replace["uuid"]}],
        "outcomeTimestamp": "2026-11-25T09:05:00Z",
    }
    overridden = {
        "card": gc_card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": next(r for r in gc_card["overrideReasons"] if r["code"] == "specialist-directed")},
        "outcomeTimestamp": "2026-11-25T09:06:00Z",
    }
    to_sign = sandbox.post("/cds-services/bone-safety-order-sign/feedback", {"feedback": [accepted]})
    to_select = sandbox.post("/cds-services/bone-safety-order-select/feedback", {"feedback": [overridden]})
    assert to_sign.status_code == 200 and to_sign.json() == {"received": 1, "stored": 1}
    assert to_select.status_code == 200 and to_select.json() == {"received": 1, "stored": 1}

    rows = {row["rule_id"]: row for row in _feedback_report(sandbox.service.log_path.parent)}
    assert rows["ORD-01"]["accepted"] == 1
    assert rows["ORD-08"]["overridden"] == 1 and rows["ORD-08"]["override_reasons"] == {"specialist-directed": 1}


def test_a_token_for_another_service_is_refused(sandbox: Sandbox) -> None:
    body = _example("order-sign-request.json")
    other = sandbox.service.base_url + "/cds-services/osteoporosis-management"

    response = sandbox.post("/cds-services/bone-safety-order-sign", body, audience=other)

    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"


def test_the_sandbox_draft_with_a_malformed_entry_still_gets_its_check(sandbox: Sandbox) -> None:
    body = _example("order-sign-request.json")
    good = body["context"]["draftOrders"]["entry"][0]
    broken = copy.deepcopy(good)
    broken["resource"]["id"] = "request-124"
    broken["resource"]["dosageInstruction"] = [{"doseAndRate": "one pill"}]
    broken["resource"]["medicationCodeableConcept"] = {"coding": "904431"}
    body["context"]["draftOrders"]["entry"] = [broken, good]

    codes = _codes(sandbox.post("/cds-services/bone-safety-order-sign", body))

    assert "ORD-01" in codes
