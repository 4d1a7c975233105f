"""The FHIR client's error paths, with `responses` standing in for misbehaving servers."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses

from cds_service.fhir_client import Deadline, FhirClient
from testkit import fhir

BASE = "https://ehr.example.org/fhir"


@pytest.fixture
def client() -> FhirClient:
    return FhirClient(timeout=1.0, max_pages=5, max_resources=50)


def page(ids: list[str], next_url: str | None = None) -> dict[str, Any]:
    return fhir.searchset([fhir.patient(i) for i in ids], next_url=next_url)


@responses.activate
def test_a_read_returns_the_resource(client: FhirClient) -> None:
    responses.get(f"{BASE}/Patient/1", json=fhir.patient("1"))

    fetched = client.get(BASE, "Patient/1", None, Deadline.after(5))

    assert fetched.ok and fetched.resources == [fhir.patient("1")]


@pytest.mark.parametrize("status", [401, 403, 404, 410, 429, 500])
@responses.activate
def test_http_errors_are_unavailable_with_a_reason_and_not_retried(client: FhirClient, status: int) -> None:
    responses.get(f"{BASE}/Patient/1", status=status, json=fhir.operation_outcome())

    fetched = client.get(BASE, "Patient/1", None, Deadline.after(5))

    assert not fetched.ok and fetched.reason == f"HTTP {status}"
    assert len(responses.calls) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
@responses.activate
def test_gateway_errors_are_retried_once(client: FhirClient, status: int) -> None:
    responses.get(f"{BASE}/Patient/1", status=status)
    responses.get(f"{BASE}/Patient/1", json=fhir.patient("1"))

    fetched = client.get(BASE, "Patient/1", None, Deadline.after(5))

    assert fetched.ok and len(responses.calls) == 2


@responses.activate
def test_retries_are_bounded(client: FhirClient) -> None:
    responses.get(f"{BASE}/Patient/1", status=503)

    fetched = client.get(BASE, "Patient/1", None, Deadline.after(5))

    assert not fetched.ok and len(responses.calls) == 2


@responses.activate
def test_a_connection_error_is_retried_then_unavailable(client: FhirClient) -> None:
    responses.get(f"{BASE}/Patient/1", body=requests.ConnectionError("refused"))

    fetched = client.get(BASE, "Patient/1", None, Deadline.after(5))

    assert not fetched.ok and fetched.reason == "connection failed" and len(responses.calls) == 2


@responses.activate
def test_a_timeout_is_unavailable(client: FhirClient) -> None:
    responses.get(f"{BASE}/Patient/1", body=requests.ReadTimeout("slow"))

    fetched = client.get(BASE, "Patient/1", None, Deadline.after(5))

    assert not fetched.ok and fetched.reason == "timed out"


@pytest.mark.parametrize("body", ["<html>oops</html>", '{"not": "fhir"}', "[1, 2]"])
@responses.activate
def test_non_fhir_bodies_are_unavailable(client: FhirClient, body: str) -> None:
    responses.get(f"{BASE}/Patient/1", body=body, content_type="application/json")

    assert not client.get(BASE, "Patient/1", None, Deadline.after(5)).ok


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Bundle", "type": "searchset", "entry": {"resource": {"resourceType": "Patient"}}},
        {"resourceType": "Bundle", "type": "searchset", "entry": [{"fullUrl": "urn:a"}]},
        {"resourceType": "Bundle", "type": "searchset", "entry": ["junk"]},
        {"resourceType": "Bundle", "type": "searchset", "link": {"relation": "next", "url": f"{BASE}/Patient?p=2"}},
        {"resourceType": "Patient", "id": "1"},  # a resource where a search result was asked for
    ],
)
@responses.activate
def test_an_unreadable_search_answer_is_unavailable_not_empty(client: FhirClient, body: dict[str, Any]) -> None:
    responses.get(f"{BASE}/Patient?x=1", json=body)

    fetched = client.get(BASE, "Patient?x=1", None, Deadline.after(5))

    assert not fetched.ok and fetched.reason in ("malformed Bundle", "search answered without a Bundle")


@responses.activate
def test_an_unreadable_next_page_keeps_the_first_page_as_partial(client: FhirClient) -> None:
    responses.get(f"{BASE}/Patient?x=1", json=page(["a"], next_url=f"{BASE}/Patient?page=2"))
    responses.get(f"{BASE}/Patient?page=2", json={"resourceType": "Bundle", "type": "searchset", "entry": {}})

    fetched = client.get(BASE, "Patient?x=1", None, Deadline.after(5))

    assert fetched.ok and fetched.partial and [r["id"] for r in fetched.resources] == ["a"]
    assert fetched.reason == "next page: malformed Bundle"


@responses.activate
def test_no_request_is_made_after_the_deadline(client: FhirClient) -> None:
    fetched = client.get(BASE, "Patient/1", None, Deadline.after(0))

    assert not fetched.ok and len(responses.calls) == 0


@responses.activate
def test_next_links_are_followed_and_outcome_entries_dropped(client: FhirClient) -> None:
    first = page(["a", "b"], next_url=f"{BASE}/Patient?page=2")
    first["entry"].append(
        {
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "warning", "code": "not-supported", "diagnostics": "unknown parameter"}],
            },
            "search": {"mode": "outcome"},
        }
    )
    responses.get(f"{BASE}/Patient?x=1", json=first)
    responses.get(f"{BASE}/Patient?page=2", json=page(["c"]))

    fetched = client.get(BASE, "Patient?x=1", None, Deadline.after(5))

    assert fetched.ok and not fetched.partial
    assert [r["id"] for r in fetched.resources] == ["a", "b", "c"]


@responses.activate
def test_a_paging_loop_is_detected(client: FhirClient) -> None:
    responses.get(f"{BASE}/Patient?x=1", json=page(["a"], next_url=f"{BASE}/Patient?page=2"))
    responses.get(f"{BASE}/Patient?page=2", json=page(["b"], next_url=f"{BASE}/Patient?page=2"))

    fetched = client.get(BASE, "Patient?x=1", None, Deadline.after(5))

    assert fetched.ok and fetched.partial and fetched.reason == "paging loop detected"
    assert len(responses.calls) == 2


@responses.activate
def test_endless_paging_stops_at_the_page_cap(client: FhirClient) -> None:
    responses.get(f"{BASE}/Patient?x=1", json=page(["p0"], next_url=f"{BASE}/Patient?page=1"))
    for n in range(1, 10):
        responses.get(f"{BASE}/Patient?page={n}", json=page([f"p{n}"], next_url=f"{BASE}/Patient?page={n + 1}"))

    fetched = client.get(BASE, "Patient?x=1", None, Deadline.after(5))

    assert fetched.partial and fetched.reason == "page cap reached" and len(fetched.resources) == 5


@responses.activate
def test_the_resource_cap_is_honoured(client: FhirClient) -> None:
    responses.get(f"{BASE}/Patient?x=1", json=page([str(i) for i in range(80)]))

    fetched = client.get(BASE, "Patient?x=1", None, Deadline.after(5))

    assert fetched.partial and len(fetched.resources) == 50


@responses.activate
def test_the_token_goes_only_to_the_fhir_server(client: FhirClient) -> None:
    responses.get(f"{BASE}/Patient?x=1", json=page(["a"], next_url="https://elsewhere.example/fhir/Patient?p=2"))
    responses.get("https://elsewhere.example/fhir/Patient?p=2", json=page(["b"]))

    fetched = client.get(BASE, "Patient?x=1", "tok-123", Deadline.after(5))

    assert responses.calls[0].request.headers["Authorization"] == "Bearer tok-123"
    assert len(responses.calls) == 1  # the foreign next link is not followed at all
    assert fetched.partial and "tok-123" not in json.dumps(fetched.__dict__)


@pytest.mark.parametrize(
    "next_url",
    [
        f"{BASE}/../admin/Patient?p=2",
        f"{BASE}/./Patient/%2E%2E/%2e%2e/admin?p=2",
        f"{BASE}/..%2Fadmin/Patient?p=2",
        f"{BASE}/Patient/..%5C..%5Cadmin?p=2",
    ],
)
@responses.activate
def test_a_next_link_that_climbs_out_of_the_base_by_dot_segments_is_not_followed(
    client: FhirClient, next_url: str
) -> None:
    responses.get(f"{BASE}/Patient?x=1", json=page(["a"], next_url=next_url))

    fetched = client.get(BASE, "Patient?x=1", "tok-123", Deadline.after(5))

    assert fetched.partial and fetched.reason == "next link points outside the FHIR server"
    assert len(responses.calls) == 1


@responses.activate
def test_a_body_over_the_byte_limit_is_refused() -> None:
    small = FhirClient(timeout=1.0, max_pages=5, max_resources=50, max_bytes=4096)
    responses.get(f"{BASE}/Patient?x=1", json=page([str(i) for i in range(40)]))
    responses.get(f"{BASE}/Patient?x=2", json=page(["a"]))

    assert small.get(BASE, "Patient?x=1", None, Deadline.after(5)).reason == "response too large"
    assert small.get(BASE, "Patient?x=2", None, Deadline.after(5)).ok


@responses.activate
def test_an_error_operation_outcome_in_a_bundle_makes_the_search_unavailable(client: FhirClient) -> None:
    responses.get(f"{BASE}/Patient?x=1", json=fhir.searchset([fhir.operation_outcome()]))

    assert not client.get(BASE, "Patient?x=1", None, Deadline.after(5)).ok


@responses.activate
def test_redirects_are_not_followed(client: FhirClient) -> None:
    responses.get(f"{BASE}/Patient/1", status=302, headers={"Location": "https://attacker.example/steal"})

    fetched = client.get(BASE, "Patient/1", "tok-123", Deadline.after(5))

    assert not fetched.ok and len(responses.calls) == 1
