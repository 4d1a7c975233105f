"""Issue 11, point 6: no 5xx from any input. Each defect the issue names (and the fuzzer found), reproduced on the
real app: deep nesting, repeated member names, wrong JSON types in Bundle members, unusable URLs, far-future dates.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.json_body import MAX_JSON_DEPTH
from testkit.fuzz import (
    FEEDBACK_PATH,
    FUZZ_PATIENT,
    SERVICE_PATH,
    discovery_templates,
    encode_with_duplicate,
    member_paths,
    nested_text,
    realistic_request,
)
from tests.service.test_service_call import assert_outcome

FEEDBACK = {
    "feedback": [
        {
            "card": "9f1c1d1e-8a53-4f5e-9a59-3c0b2f6c4d11",
            "outcome": "overridden",
            "outcomeTimestamp": "2026-11-25T10:15:00Z",
            "overrideReason": {"reason": {"system": "http://example.org/reasons", "code": "patient-declined"}},
        }
    ]
}


def request_body(*, fhir_server: str | None = None) -> dict[str, Any]:
    """A complete realistic request (every prefetch key, as an EHR server encodes it) without a FHIR server."""
    body = realistic_request(discovery_templates(), "https://ehr.example.org/fhir")
    del body["fhirAuthorization"]
    del body["fhirServer"]
    body["prefetch"]["observations"]["link"] = body["prefetch"]["observations"]["link"][:1]  # no next page
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
    return body


def post(client: FlaskClient, path: str, raw: bytes | str) -> Any:
    return client.post(path, data=raw, content_type="application/json")


def rules(response: Any) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return {card["source"]["topic"]["code"] for card in response.get_json()["cards"]}


def data_issues(response: Any) -> str:
    cards = {card["source"]["topic"]["code"]: card for card in response.get_json()["cards"]}
    return cards["DATA-03"]["detail"] if "DATA-03" in cards else ""


# --- deep nesting ---------------------------------------------------------------------------------------------


def with_nested(body: dict[str, Any], path: tuple[str | int, ...], depth: int) -> tuple[str, int]:
    """JSON text of `body` with `depth` levels of nesting at `path`, and the total depth of that text."""
    holder = copy.deepcopy(body)
    target = holder
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = "__nested__"
    return json.dumps(holder).replace('"__nested__"', nested_text(depth, "oa"), 1), len(path) + depth


OBSERVATION = ("prefetch", "bmd", "entry", 0, "resource")
PLACES = {
    "hook-body": (SERVICE_PATH, None),
    "hook-context": (SERVICE_PATH, ("context", "extension")),
    "prefetch-resource-extension": (SERVICE_PATH, (*OBSERVATION, "extension")),
    "prefetch-coding": (SERVICE_PATH, (*OBSERVATION, "code", "coding", 0, "extension")),
    "feedback-body": (FEEDBACK_PATH, None),
    "feedback-override-reason": (FEEDBACK_PATH, ("feedback", 0, "overrideReason", "reason", "extension")),
}


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 1_001, 100_000])
@pytest.mark.parametrize("place", sorted(PLACES))
def test_nesting_deeper_than_the_limit_gets_400_on_every_endpoint(client: FlaskClient, place: str, depth: int) -> None:
    path, member = PLACES[place]
    base = request_body() if path == SERVICE_PATH else FEEDBACK
    text = nested_text(depth, "oa") if member is None else with_nested(base, member, depth)[0]

    body = assert_outcome(post(client, path, text), 400)

    assert f"deeper than {MAX_JSON_DEPTH} levels" in body["issue"][0]["diagnostics"]


ORDER_SIGN_PATH = "/cds-services/bone-safety-order-sign"
ORDER_SIGN = json.loads((Path(__file__).resolve().parents[2] / "examples" / "order-sign-request.json").read_text())


@pytest.mark.parametrize(
    ("path", "base", "answered"),
    [
        pytest.param(SERVICE_PATH, request_body(), {200, 400, 412}, id="patient-view"),
        pytest.param(ORDER_SIGN_PATH, ORDER_SIGN, {200, 400, 412}, id="order-sign"),
        pytest.param(FEEDBACK_PATH, FEEDBACK, {400}, id="feedback"),  # every member has a schema type
    ],
)
def test_nesting_down_to_the_limit_in_any_member_never_costs_a_5xx(
    client: FlaskClient, path: str, base: dict[str, Any], answered: set[int]
) -> None:
    """Every member of a realistic request (each resource of every prefetch key, the context, the drafts, the
    feedback: about 500 places) holding arrays and objects down to exactly MAX_JSON_DEPTH levels, as deep as the
    parser lets through. Each answer is a 200, or an OperationOutcome: 400 where the member must be of another type,
    412 where a required prefetch key cannot be read. Never a 5xx: nothing that reads the value later runs out of
    Python's recursion limit."""
    statuses: Counter[int] = Counter()
    for member in member_paths(base):
        text, _ = with_nested(base, member, MAX_JSON_DEPTH - len(member))
        response = post(client, path, text)
        status = response.status_code
        assert status in answered, (member, status, response.get_data(as_text=True)[:300])
        if status != 200:  # about the member's type or the data, never the nesting itself
            assert "deeper than" not in assert_outcome(response, status)["issue"][0]["diagnostics"], member
        statuses[status] += 1
    assert set(statuses) == answered, statuses


def test_nesting_up_to_the_limit_is_read_as_usual(client: FlaskClient) -> None:
    base = request_body()
    member = (*OBSERVATION, "extension")
    text, total = with_nested(base, member, MAX_JSON_DEPTH - len(member))
    assert total == MAX_JSON_DEPTH

    assert "DX-01" in rules(post(client, SERVICE_PATH, text))


# --- repeated member names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "holder", "name", "second"),
    [
        pytest.param(SERVICE_PATH, (), "hook", "patient-view", id="same-value-top-level"),
        pytest.param(SERVICE_PATH, ("context",), "patientId", "someone-else", id="two-patients-in-context"),
        pytest.param(SERVICE_PATH, (*OBSERVATION,), "subject", {"reference": "Patient/x"}, id="resource-subject"),
        pytest.param(SERVICE_PATH, (*OBSERVATION, "valueQuantity"), "value", -0.5, id="t-score-value"),
        pytest.param(FEEDBACK_PATH, ("feedback", 0), "outcome", "accepted", id="feedback-outcome"),
    ],
)
@pytest.mark.parametrize("escaped", [False, True], ids=["plain", "unicode-escaped"])
def test_a_member_name_repeated_in_one_object_gets_400(
    client: FlaskClient, path: str, holder: tuple[str | int, ...], name: str, second: Any, escaped: bool
) -> None:
    base = request_body() if path == SERVICE_PATH else FEEDBACK
    text = encode_with_duplicate(base, holder, name, second, escaped)

    body = assert_outcome(post(client, path, text), 400)

    assert "repeats a member name" in body["issue"][0]["diagnostics"]


def test_the_same_names_in_different_objects_and_inside_strings_are_fine(client: FlaskClient) -> None:
    base = request_body()
    observation = base["prefetch"]["bmd"]["entry"][0]["resource"]
    observation["note"] = [{"text": 'a "quoted" note: {"value": 1, "value": 2} [[[[ \\ '}]  # names inside a string

    assert "DX-01" in rules(post(client, SERVICE_PATH, json.dumps(base)))


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"hook": NaN}', id="NaN"),
        pytest.param(b'{"hook": "patient-view", "x": -Infinity}', id="Infinity"),
        pytest.param('{"hook": "patient-view"}'.encode("utf-16"), id="utf-16"),
        pytest.param(b'{"hook": "\xff"}', id="not-utf-8"),
    ],
)
def test_text_that_json_or_fhir_forbids_gets_400(client: FlaskClient, raw: bytes) -> None:
    assert_outcome(post(client, SERVICE_PATH, raw), 400)


def test_a_utf8_byte_order_mark_is_tolerated(client: FlaskClient) -> None:
    assert "DX-01" in rules(post(client, SERVICE_PATH, b"\xef\xbb\xbf" + json.dumps(request_body()).encode()))


# --- wrong JSON types in Bundle members -------------------------------------------------------------------------


@pytest.mark.parametrize("search", ["match", ["match"], 1, True, None])
def test_an_entry_whose_search_is_not_an_object_still_gives_its_resource(client: FlaskClient, search: Any) -> None:
    body = request_body()
    body["prefetch"]["bmd"]["entry"][0]["search"] = search  # the lumbar T-score -2.7

    response = post(client, SERVICE_PATH, json.dumps(body))

    assert "DX-01" in rules(response)
    assert "-2.7" in next(c["summary"] for c in response.get_json()["cards"] if c["source"]["topic"]["code"] == "DX-01")


@pytest.mark.parametrize("severity", [["error"], {"code": "error"}, 7, None])
def test_an_outcome_entry_whose_severity_cannot_be_read_makes_the_search_unreadable(
    client: FlaskClient, severity: Any
) -> None:
    """It may say the search failed: the key is not "no records" (a required key without a FHIR server: 412; an
    optional one: DATA-03)."""
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": "exception"}]}
    required, optional = request_body(), request_body()
    required["prefetch"]["bmd"]["entry"].append({"resource": outcome, "search": {"mode": "outcome"}})
    optional["prefetch"]["observations"]["entry"].append({"resource": outcome, "search": {"mode": "outcome"}})

    assert_outcome(post(client, SERVICE_PATH, json.dumps(required)), 412)
    answer = post(client, SERVICE_PATH, json.dumps(optional))
    assert "labs data: could not be retrieved" in data_issues(answer)
    summaries = " ".join(card["summary"] for card in answer.get_json()["cards"])
    assert "eGFR 28" not in summaries  # the eGFR in that searchset was not read


@pytest.mark.parametrize("link", ["next", {"relation": ["next"], "url": 1}, {"relation": "next", "url": ["x"]}, []])
def test_links_of_the_wrong_type_are_ignored(client: FlaskClient, link: Any) -> None:
    body = request_body()
    body["prefetch"]["observations"]["link"] = [link]

    answer = post(client, SERVICE_PATH, json.dumps(body))

    assert {"DX-01", "SAFE-03"} <= rules(answer)


@pytest.mark.parametrize("server", ["https://[ehr.example.org/fhir", "https://ehr.example.org:99999/fhir", "https://"])
def test_a_fhir_server_that_is_not_a_url_gets_400(client: FlaskClient, server: str) -> None:
    body = assert_outcome(post(client, SERVICE_PATH, json.dumps(request_body(fhir_server=server))), 400)

    assert body["issue"][0]["expression"] == ["fhirServer"]


@pytest.mark.parametrize("url", ["https://[::1/fhir/Observation?page=2", "//[x", "https://ehr:99999/fhir/x"])
def test_a_next_link_that_is_not_a_url_leaves_the_labs_partly_retrieved(client: FlaskClient, url: str) -> None:
    body = request_body(fhir_server="https://127.0.0.1:9/fhir")
    body["prefetch"]["observations"]["link"].append({"relation": "next", "url": url})

    answer = post(client, SERVICE_PATH, json.dumps(body))

    assert "labs data: only partly retrieved" in data_issues(answer)


# --- far-future dates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["9999-12-31", "9999-12-31T23:59:59Z", "0001-01-01"])
@pytest.mark.parametrize(
    "member",
    [
        ("prefetch", "medicationAdministrations", "entry", 0, "resource", "effectiveDateTime"),  # denosumab dose
        ("prefetch", "bmd", "entry", 0, "resource", "effectiveDateTime"),
        ("prefetch", "medicationRequests", "entry", 0, "resource", "authoredOn"),
        ("prefetch", "patient", "birthDate"),
    ],
    ids=lambda m: m[1] if len(m) < 4 else m[1] + "." + m[-1],
)
def test_dates_at_the_ends_of_the_calendar_never_give_a_5xx(
    client: FlaskClient, member: tuple[str | int, ...], when: str
) -> None:
    body = request_body()
    target: Any = body
    for part in member[:-1]:
        target = target[part]
    target[member[-1]] = when

    response = post(client, SERVICE_PATH, json.dumps(body))

    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert body["context"]["patientId"] == FUZZ_PATIENT


@pytest.mark.parametrize("value", [1e308, -1e308, 10**40])
def test_an_absurd_number_is_named_as_implausible_not_skipped(client: FlaskClient, value: float) -> None:
    """A value too large for exact conversion used to fail unit conversion; the record was silently counted as
    unreadable. It is now read and named with its value."""
    body = request_body()
    body["prefetch"]["observations"]["entry"][0]["resource"]["valueQuantity"]["value"] = value  # the eGFR

    detail = data_issues(post(client, SERVICE_PATH, json.dumps(body)))

    assert "eGFR 2026-10-30: value" in detail and "is implausible" in detail
