"""POST /cds-services/{id}: every status code with a real request; errors are always OperationOutcomes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.validation import response_problems
from testkit import fhir
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import PATIENT_ID, osteoporosis_chart

SERVICE = "/cds-services/osteoporosis-management"


def templates(client: FlaskClient) -> dict[str, str]:
    return client.get("/cds-services").get_json()["services"][0]["prefetch"]


def full_request(client: FlaskClient, **extra: Any) -> dict[str, Any]:
    prefetch = prefetch_from_chart(templates(client), osteoporosis_chart(), PATIENT_ID)
    return hook_request(PATIENT_ID, prefetch=prefetch, **extra)


def assert_outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"] and all(i["severity"] in ("error", "fatal") and i["diagnostics"] for i in body["issue"])
    return body


def test_a_complete_prefetch_gets_spec_valid_cards(client: FlaskClient) -> None:
    response = client.post(SERVICE, json=full_request(client))

    assert response.status_code == 200
    body = response.get_json()
    assert response_problems(body) == []
    dx01 = [c for c in body["cards"] if c["source"]["topic"]["code"] == "DX-01"]
    assert len(dx01) == 1
    assert "-2.7" in dx01[0]["summary"] and "2026-06-15" in dx01[0]["summary"]


def test_unknown_members_and_extensions_are_ignored(client: FlaskClient) -> None:
    body = full_request(client, extension={"com.example.x": {"a": 1}}, somethingNew=[1, 2])
    body["context"]["extension"] = {"com.example.y": True}

    assert client.post(SERVICE, json=body).status_code == 200


@pytest.mark.parametrize("payload", [b"not json", b'{"hook": ', b"\xff\xfe", b"[]", b"42", b""])
def test_a_body_that_is_not_a_json_object_is_400(client: FlaskClient, payload: bytes) -> None:
    assert_outcome(client.post(SERVICE, data=payload, content_type="application/json"), 400)


@pytest.mark.parametrize("member", ["hook", "hookInstance", "context"])
def test_a_missing_required_member_is_400_naming_it(client: FlaskClient, member: str) -> None:
    body = full_request(client)
    del body[member]

    outcome = assert_outcome(client.post(SERVICE, json=body), 400)
    assert any(member in issue["diagnostics"] for issue in outcome["issue"])


@pytest.mark.parametrize("member", ["patientId", "userId"])
def test_a_missing_context_member_is_400(client: FlaskClient, member: str) -> None:
    body = full_request(client)
    del body["context"][member]

    outcome = assert_outcome(client.post(SERVICE, json=body), 400)
    assert outcome["issue"][0]["expression"] == [f"context.{member}"]


def test_a_patient_id_that_is_not_a_fhir_id_is_400(client: FlaskClient) -> None:
    body = full_request(client)
    body["context"]["patientId"] = "1&code=x"

    assert_outcome(client.post(SERVICE, json=body), 400)


def test_another_hook_is_400(client: FlaskClient) -> None:
    body = full_request(client)
    body["hook"] = "order-sign"

    outcome = assert_outcome(client.post(SERVICE, json=body), 400)
    assert outcome["issue"][0]["expression"] == ["hook"]


def test_fhir_authorization_without_fhir_server_is_400_and_never_echoes_the_token(client: FlaskClient) -> None:
    body = full_request(client, access_token="secret-token-abc123")
    body["fhirAuthorization"]["expires_in"] = "secret-token-abc123"

    response = client.post(SERVICE, json=body)

    outcome = assert_outcome(response, 400)
    assert "fhirServer" in json.dumps(outcome)
    assert "secret-token-abc123" not in response.get_data(as_text=True)


def test_http_fhir_server_is_refused_when_not_allowed(make_app: Callable[..., Flask]) -> None:
    client = make_app(ALLOW_HTTP_FHIR="false").test_client()
    body = full_request(client, fhir_server="http://ehr.example.org/fhir")

    outcome = assert_outcome(client.post(SERVICE, json=body), 400)
    assert outcome["issue"][0]["expression"] == ["fhirServer"]


def test_an_unknown_service_is_404(client: FlaskClient) -> None:
    assert_outcome(client.post("/cds-services/no-such-service", json=full_request(client)), 404)
    assert_outcome(client.post("/cds-services/no-such-service/feedback", json={"feedback": []}), 404)
    assert_outcome(client.get("/nothing-here"), 404)


def test_the_wrong_method_is_405(client: FlaskClient) -> None:
    response = client.get(SERVICE)

    assert_outcome(response, 405)
    assert "POST" in response.headers["Allow"]
    assert_outcome(client.post("/cds-services"), 405)


def test_a_body_over_the_size_limit_is_413(make_app: Callable[..., Flask]) -> None:
    client = make_app(MAX_BODY_BYTES="4096").test_client()
    body = full_request(client, padding="x" * 5000)

    assert_outcome(client.post(SERVICE, json=body), 413)


def test_required_data_missing_everywhere_is_412_naming_the_keys(client: FlaskClient) -> None:
    body = hook_request(PATIENT_ID, prefetch={"observations": None})

    outcome = assert_outcome(client.post(SERVICE, json=body), 412)
    text = outcome["issue"][0]["diagnostics"]
    assert "patient" in text and "bmd" in text and "conditions" in text


def test_no_prefetch_and_no_fhir_server_is_412_not_500(client: FlaskClient) -> None:
    assert_outcome(client.post(SERVICE, json=hook_request(PATIENT_ID)), 412)


def test_an_internal_error_is_a_500_operation_outcome_without_details(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("boom with patient osteo-1")

    monkeypatch.setattr("cds_service.hooks.run_hook", broken)
    response = client.post(SERVICE, json=full_request(client))

    outcome = assert_outcome(response, 500)
    assert "osteo-1" not in json.dumps(outcome) and "Traceback" not in response.get_data(as_text=True)


def test_a_malformed_prefetch_bundle_is_unreadable_not_empty(client: FlaskClient) -> None:
    body = full_request(client)
    body["prefetch"]["conditions"] = {"resourceType": "Bundle", "type": "searchset", "entry": {"oops": 1}}

    outcome = assert_outcome(client.post(SERVICE, json=body), 412)
    assert outcome["issue"][0]["expression"] == ["prefetch.conditions"]


def test_records_of_another_patient_are_dropped_and_named_in_data03(client: FlaskClient) -> None:
    body = full_request(client)
    stranger = fhir.lab("other-vitd", "someone-else", "62292-8", 8, "ng/mL", "2026-11-01")
    body["prefetch"]["observations"] = fhir.searchset([stranger])

    cards = client.post(SERVICE, json=body).get_json()["cards"]

    texts = " ".join(c["summary"] + c.get("detail", "") for c in cards)
    assert "VITD-01" not in {c["source"]["topic"]["code"] for c in cards}  # her 8 ng/mL is not this patient's
    assert "record of another patient: ignored" in texts  # decision table §6 (rev 2)


def test_a_treatment_card_does_not_claim_no_medication_when_the_list_was_unavailable(client: FlaskClient) -> None:
    body = full_request(client)
    for key in ("medicationStatements", "medicationRequests", "medicationAdministrations"):
        body["prefetch"][key] = fhir.operation_outcome()

    cards = {c["source"]["topic"]["code"]: c for c in client.post(SERVICE, json=body).get_json()["cards"]}

    assert "medication list could not be checked" in cards["TX-01"]["summary"]
    assert "not on osteoporosis medication" not in cards["TX-01"]["summary"]
    assert "suggestions" not in cards["TX-01"] or all(
        s["actions"][0]["resource"]["resourceType"] != "MedicationRequest" for s in cards["TX-01"]["suggestions"]
    )
