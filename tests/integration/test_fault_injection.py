"""Fault injection: the service against a real FHIR server (sekmet-fhir) and a misbehaving one (a real HTTP server).

The test plays the EHR: it runs the discovery prefetch templates against sekmet and sends the answers as prefetch,
leaving out the keys it wants the service to fetch; `fhirServer` is the misbehaving server, so exactly those keys
meet the fault. The contract checked for every fault:
- a required key (patient, bmd, conditions) that cannot be obtained → 412 with an OperationOutcome naming it;
- an optional key → 200 with cards that say what could not be checked (DATA-03 "labs data: could not be retrieved"
  or "only partly retrieved"), and no card that advises on data that was never read;
- never a 500, never longer than the hook deadline plus a small slack, and the next healthy call is served normally;
- the bearer token reaches only URLs under `fhirServer`.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from cds_service.queries import queries_for
from fhir_mappings.terminology import load_terminology
from testkit import fhir
from testkit.cds_client import hook_request
from testkit.charts import osteoporosis_chart
from testkit.processes import ServiceProcess
from testkit.sekmet import SekmetServer
from tests.conftest import EVALUATION_TIME
from tests.support.misbehaving_fhir import (
    Behaviour,
    Exchange,
    MisbehavingFhirServer,
    bundle_with_error_outcome,
    connection_reset,
    endless_next,
    html_error_page,
    huge_bundle,
    malformed_json,
    next_loop,
    not_a_resource,
    ok,
    outcome,
    redirect,
    searchset,
    sequence,
    stall,
    status,
    trickle,
    wrong_patient,
)

SERVICE = "/cds-services/osteoporosis-management"
PID = "fi-1"
TOKEN = "fault-token-5e2a"
DEADLINE = 1.0  # OSTEO_CDS_HOOK_DEADLINE for these tests
SLACK = 0.75  # no-hang bound: the deadline plus scheduling and evaluation slack
SHORT_DEADLINE = 0.5  # where a test makes several calls that each run into the deadline
REQUIRED_KEYS = ("patient", "bmd", "conditions")
LABS_UNREAD = "labs data: could not be retrieved"
LABS_PARTIAL = "labs data: only partly retrieved"


def chart() -> list[dict[str, Any]]:
    """Osteoporosis by DXA and a low 25-OH vitamin D in the last year (so a VITD-01 card exists when labs are read)."""
    resources = osteoporosis_chart(PID)
    for resource in resources[1:]:
        resource["id"] = f"{PID}-{resource['id']}"
    return [*resources, vitamin_d("vitd", 12.0, "2026-09-01")]


def vitamin_d(oid: str, value: float, when: str, patient: str = PID) -> dict[str, Any]:
    return fhir.lab(f"{patient}-{oid}", patient, "1989-3", value, "ng/mL", when)


@pytest.fixture(scope="module")
def sekmet(fhir_server: SekmetServer) -> SekmetServer:
    """The real FHIR server, holding the chart."""
    fhir_server.load(fhir.transaction(chart()))
    return fhir_server


@pytest.fixture(scope="module")
def prefetch(sekmet: SekmetServer) -> dict[str, Any]:
    """What an EHR would prefetch for the chart: every discovery template run against sekmet."""
    answers = {}
    for query in queries_for(load_terminology()):  # the discovery prefetch templates, as an EHR reads them
        response = requests.get(
            f"{sekmet.base_url}/{query.url(PID)}", headers={"Accept": "application/fhir+json"}, timeout=10
        )
        response.raise_for_status()
        answers[query.key] = response.json()
    assert answers["bmd"]["entry"] and answers["observations"]["entry"] and answers["patient"]["id"] == PID
    return answers


def without(prefetch: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The prefetch minus `keys`: those are the ones the service must fetch from `fhirServer`."""
    return {k: v for k, v in prefetch.items() if k not in keys}


@pytest.fixture
def bad() -> Iterator[MisbehavingFhirServer]:
    with MisbehavingFhirServer() as server:
        yield server


@pytest.fixture
def attacker() -> Iterator[MisbehavingFhirServer]:
    """Another host: it must never be contacted with (or without) the token."""
    with MisbehavingFhirServer() as server:
        server.on("Observation", ok(searchset([vitamin_d("evil", 5.0, "2026-10-01")])))
        yield server


@pytest.fixture
def client(make_app: Callable[..., Flask]) -> FlaskClient:
    # A per-request timeout longer than the deadline: only the deadline can end a stalled fetch in time.
    return make_app(HOOK_DEADLINE=str(DEADLINE), FHIR_TIMEOUT="5").test_client()


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    elapsed: float

    @property
    def cards(self) -> dict[str, dict[str, Any]]:
        assert self.status == 200, self.body
        return {card["source"]["topic"]["code"]: card for card in self.body["cards"]}

    def data_issues(self) -> str:
        """The DATA-03 card's detail (what could not be checked), or "" without one."""
        card = self.cards.get("DATA-03")
        return card["detail"] if card else ""


def call(
    client: FlaskClient, prefetch: dict[str, Any] | None, fhir_server: str | None, token: str | None = TOKEN
) -> Answer:
    started = time.monotonic()
    response = client.post(
        SERVICE, json=hook_request(PID, prefetch=prefetch, fhir_server=fhir_server, access_token=token)
    )
    elapsed = time.monotonic() - started
    assert response.status_code != 500, response.get_data(as_text=True)
    return Answer(response.status_code, response.get_json(), elapsed)


def assert_serves_normally_afterwards(client: FlaskClient, sekmet: SekmetServer) -> None:
    """A healthy call right after a fault: everything fetched from sekmet, nothing missing."""
    answer = call(client, None, sekmet.base_url, token=None)
    assert {"DX-01", "VITD-01"} <= set(answer.cards), answer.cards.keys()
    assert answer.data_issues() == ""


def assert_labs_degraded(answer: Answer, what: str = LABS_UNREAD, *, within: float = DEADLINE + SLACK) -> None:
    """200; DATA-03 says which labs data could not be checked; no card advises on labs that were not read."""
    cards = answer.cards
    assert "DX-01" in cards  # the required data was used as usual
    assert what in answer.data_issues()
    assert "labs data" in cards["DATA-03"]["summary"]
    if what == LABS_UNREAD:
        assert "VITD-01" not in cards  # the chart's low vitamin D (an `observations` record) was never read
        assert "could not be checked" in cards["LAB-01"]["summary"]  # not "labs missing: order them"
    assert answer.elapsed < within


def assert_412_naming(answer: Answer, *keys: str) -> None:
    assert answer.status == 412, answer.body
    assert answer.body["resourceType"] == "OperationOutcome"
    (issue,) = answer.body["issue"]
    assert issue["code"] == "processing"
    assert issue["expression"] == [f"prefetch.{key}" for key in keys]
    for key in keys:
        assert key in issue["diagnostics"]
    assert answer.elapsed < DEADLINE + SLACK


def lab_page(page: int) -> list[dict[str, Any]]:
    """One older, normal 25-OH D per page: the chart's newer low value (on sekmet) stays the latest one."""
    return [vitamin_d(f"page-{page}", 30.0, "2026-01-15")]


# --- an optional key meets the fault: degraded cards ---------------------------------------------------------------

# Unreadable searchsets: they must count as "not retrieved", never as "the patient has no such records".
MALFORMED_BUNDLE = {
    "resourceType": "Bundle",
    "type": "searchset",
    "entry": {"resource": vitamin_d("x", 5.0, "2026-10-01")},
}
RESOURCELESS_BUNDLE = {"resourceType": "Bundle", "type": "searchset", "entry": [{"fullUrl": "urn:x"}, "junk", 7]}

# JSON FHIR forbids, and outcomes that cannot be read (issue 11): unreadable, so "could not be retrieved".
NESTED_TOO_DEEP = (
    b'{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": "Observation", '
    b'"extension": ' + b"[" * 5000 + b"]" * 5000 + b"}}]}"
)
REPEATED_NAMES = (
    b'{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": '
    + json.dumps(vitamin_d("dup", 5.0, "2026-10-01")).encode()[:-1]
    + b', "subject": {"reference": "Patient/someone-else"}}}]}'
)
UNREADABLE_OUTCOME = {
    "resourceType": "Bundle",
    "type": "searchset",
    "entry": [
        {"resource": vitamin_d("x", 5.0, "2026-10-01"), "search": {"mode": "match"}},
        {"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": ["error"]}]}, "search": "outcome"},
    ],
}


def raw(body: bytes) -> Behaviour:
    return lambda exchange: exchange.send(200, body)


# (fault, requests the server should see: one retry on 502/503/504 and on a connection error, none otherwise)
OPTIONAL_FAULTS: list[tuple[str, Callable[[], Behaviour], int]] = [
    ("nested-100000-deep", lambda: raw(b"[" * 100_000 + b"]" * 100_000), 1),
    ("resource-nested-5000-deep", lambda: raw(NESTED_TOO_DEEP), 1),
    ("repeated-member-names", lambda: raw(REPEATED_NAMES), 1),
    ("outcome-severity-not-a-string", lambda: ok(UNREADABLE_OUTCOME), 1),
    ("http-500", lambda: status(500), 1),
    ("http-401", lambda: status(401), 1),
    ("http-403", lambda: status(403), 1),
    ("http-404", lambda: status(404), 1),
    ("http-429", lambda: status(429, headers={"Retry-After": "1"}), 1),
    ("http-503-twice", lambda: status(503), 2),
    ("html-502-twice", lambda: html_error_page(502), 2),
    ("html-login-page-200", lambda: html_error_page(200), 1),
    ("malformed-json", malformed_json, 1),
    ("json-but-not-fhir", not_a_resource, 1),
    ("bundle-with-error-outcome", bundle_with_error_outcome, 1),
    ("bundle-entry-not-an-array", lambda: ok(MALFORMED_BUNDLE), 1),
    ("bundle-entries-without-resources", lambda: ok(RESOURCELESS_BUNDLE), 1),
    ("search-answered-with-a-patient", lambda: ok(fhir.patient(PID)), 1),
    ("connection-reset-twice", connection_reset, 2),
    ("stall-past-deadline", lambda: stall(30), 1),
    ("headers-then-trickle", lambda: trickle(searchset(lab_page(0)), interval=0.05), 1),
    ("stall-then-trickle", lambda: stall(0.5, then=trickle(searchset(lab_page(0)), interval=0.05)), 1),
]


@pytest.mark.parametrize(
    ("fault", "requests_seen"),
    [(make, n) for _, make, n in OPTIONAL_FAULTS],
    ids=[name for name, _, _ in OPTIONAL_FAULTS],
)
def test_an_optional_key_that_fails_gives_cards_that_say_labs_could_not_be_checked(
    client: FlaskClient,
    sekmet: SekmetServer,
    prefetch: dict[str, Any],
    bad: MisbehavingFhirServer,
    fault: Callable[[], Behaviour],
    requests_seen: int,
) -> None:
    bad.on("Observation", fault())

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    assert_labs_degraded(answer)
    assert len(bad.requests_to("Observation")) == requests_seen
    assert [r.route for r in bad.requests] == ["Observation"] * requests_seen  # the other keys came as prefetch
    assert bad.requests[0].authorization == f"Bearer {TOKEN}"
    assert_serves_normally_afterwards(client, sekmet)


@pytest.mark.parametrize("search", ["match", ["match"], 1, None, {"mode": ["outcome"]}])
def test_entries_whose_search_has_the_wrong_type_are_read_from_the_fhir_server(
    client: FlaskClient, prefetch: dict[str, Any], bad: MisbehavingFhirServer, search: Any
) -> None:
    """Issue 11: `search` as a string gave a 500. The member only matters for outcome entries (which are
    OperationOutcomes anyway), so the resource is used."""
    page = searchset([vitamin_d("low", 9.0, "2026-10-01")])
    page["entry"][0]["search"] = search
    bad.on("Observation", ok(page))

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    assert "VITD-01" in answer.cards and answer.data_issues() == ""


@pytest.mark.parametrize("url", ["https://[::1/fhir/Observation?page=2", "http://127.0.0.1:99999/fhir/x", ["next"]])
def test_a_next_link_that_is_not_a_url_leaves_the_labs_partly_retrieved(
    client: FlaskClient, prefetch: dict[str, Any], bad: MisbehavingFhirServer, url: Any
) -> None:
    page = searchset(lab_page(0))
    page["link"] = [{"relation": "next", "url": url}]
    bad.on("Observation", ok(page))

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    if isinstance(url, str):
        assert_labs_degraded(answer, LABS_PARTIAL)
    else:  # a link whose url is not a string is no link: the one page is the whole answer
        assert answer.data_issues() == ""


def test_an_optional_key_from_a_server_that_is_down_gives_degraded_cards(
    client: FlaskClient, sekmet: SekmetServer, prefetch: dict[str, Any]
) -> None:
    down = MisbehavingFhirServer().start()
    down.stop()  # nothing listens on its port any more: connections are refused

    answer = call(client, without(prefetch, "observations"), down.base_url)

    assert_labs_degraded(answer)
    assert_serves_normally_afterwards(client, sekmet)


@pytest.mark.parametrize(
    "first", [status(503), html_error_page(504), connection_reset()], ids=["503", "504-html", "connection-reset"]
)
def test_one_transient_failure_is_retried_and_then_nothing_is_missing(
    client: FlaskClient, prefetch: dict[str, Any], bad: MisbehavingFhirServer, first: Behaviour
) -> None:
    bad.on("Observation", sequence(first, ok(prefetch["observations"])))

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    assert "VITD-01" in answer.cards and answer.data_issues() == ""
    assert len(bad.requests_to("Observation")) == 2


def test_a_medication_search_that_fails_is_named_and_treatment_advice_says_medications_were_not_checked(
    client: FlaskClient, prefetch: dict[str, Any], bad: MisbehavingFhirServer
) -> None:
    bad.on("MedicationRequest", status(500))

    answer = call(client, without(prefetch, "medicationRequests"), bad.base_url)

    assert "medications data: could not be retrieved" in answer.data_issues()
    treatment = answer.cards["TX-01"]["detail"]
    assert "Not checked, data unavailable: medications." in treatment
    assert "medication list checked" in treatment  # named among the gates still needed: no drug draft
    assert answer.elapsed < DEADLINE + SLACK


# --- a required key meets the fault: 412 ---------------------------------------------------------------------------

REQUIRED_FAULTS: list[tuple[str, str, str, Callable[[], Behaviour]]] = [
    ("patient-401", "patient", "Patient", lambda: status(401)),
    (
        "patient-of-another-patient",
        "patient",
        "Patient",
        lambda: wrong_patient(fhir.patient(PID, birth_date="1955-04-02"), "someone-else"),
    ),
    ("patient-stall", "patient", "Patient", lambda: stall(30)),
    ("patient-200-operation-outcome", "patient", "Patient", lambda: ok(outcome("no such patient", code="not-found"))),
    ("bmd-malformed-json", "bmd", "Observation", malformed_json),
    ("bmd-trickle", "bmd", "Observation", lambda: trickle(searchset([]), interval=0.05)),
    ("conditions-500", "conditions", "Condition", lambda: status(500)),
    ("conditions-error-outcome", "conditions", "Condition", bundle_with_error_outcome),
    ("conditions-reset", "conditions", "Condition", connection_reset),
    ("conditions-html", "conditions", "Condition", lambda: html_error_page(200)),
    ("conditions-entry-not-an-array", "conditions", "Condition", lambda: ok(MALFORMED_BUNDLE)),
    (
        "conditions-answered-with-a-condition",
        "conditions",
        "Condition",
        lambda: ok(fhir.condition("c1", PID, fhir.SNOMED, "64859006", "Osteoporosis", "2020-01-01")),
    ),
]


@pytest.mark.parametrize(
    ("key", "route", "fault"),
    [(k, r, f) for _, k, r, f in REQUIRED_FAULTS],
    ids=[name for name, _, _, _ in REQUIRED_FAULTS],
)
def test_a_required_key_that_fails_gives_412_naming_it(
    client: FlaskClient,
    sekmet: SekmetServer,
    prefetch: dict[str, Any],
    bad: MisbehavingFhirServer,
    key: str,
    route: str,
    fault: Callable[[], Behaviour],
) -> None:
    bad.on(route, fault())

    answer = call(client, without(prefetch, key), bad.base_url)

    assert_412_naming(answer, key)
    assert bad.requests_to(route)
    assert TOKEN not in str(answer.body)
    assert_serves_normally_afterwards(client, sekmet)


def test_every_route_stalled_gives_412_naming_all_required_keys_within_the_deadline(
    client: FlaskClient, sekmet: SekmetServer, bad: MisbehavingFhirServer
) -> None:
    for route in (
        "Patient",
        "Observation",
        "Condition",
        "MedicationStatement",
        "MedicationRequest",
        "MedicationAdministration",
        "Procedure",
        "ServiceRequest",
    ):
        bad.on(route, stall(30))

    answer = call(client, None, bad.base_url)

    assert_412_naming(answer, *REQUIRED_KEYS)
    assert len(bad.requests) == 9  # every key fetched in parallel, once (a timeout is not retried)
    assert_serves_normally_afterwards(client, sekmet)


# --- paging -------------------------------------------------------------------------------------------------------


def test_endless_next_links_with_fresh_urls_stop_at_the_page_cap_and_labs_are_partial(
    make_app: Callable[..., Flask], prefetch: dict[str, Any], bad: MisbehavingFhirServer
) -> None:
    client = make_app(HOOK_DEADLINE=str(DEADLINE), FHIR_MAX_PAGES="6").test_client()
    bad.on("Observation", endless_next(lab_page))

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    assert_labs_degraded(answer, LABS_PARTIAL)
    paths = [r.path for r in bad.requests_to("Observation")]
    assert len(paths) == 6 and len(set(paths)) == 6  # no URL repeated: only the page cap stopped it
    assert all(r.authorization == f"Bearer {TOKEN}" for r in bad.requests)


def test_endless_next_links_from_a_prefetched_bundle_stop_at_the_page_cap(
    make_app: Callable[..., Flask], prefetch: dict[str, Any], bad: MisbehavingFhirServer
) -> None:
    client = make_app(HOOK_DEADLINE=str(DEADLINE), FHIR_MAX_PAGES="4").test_client()
    bad.on("Observation", endless_next(lab_page))
    first_page = [entry["resource"] for entry in prefetch["observations"]["entry"]]
    sent = dict(prefetch, observations=searchset(first_page, next_url=f"{bad.base_url}/Observation?page=1"))

    answer = call(client, sent, bad.base_url)

    assert_labs_degraded(answer, LABS_PARTIAL)
    assert "VITD-01" in answer.cards  # the first page, sent by the client, was used
    assert len(bad.requests_to("Observation")) == 3  # the prefetched page counts as the first of 4


def test_a_next_link_back_to_itself_is_detected_as_a_loop(
    client: FlaskClient, prefetch: dict[str, Any], bad: MisbehavingFhirServer
) -> None:
    bad.on("Observation", next_loop(lab_page(0)))

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    assert_labs_degraded(answer, LABS_PARTIAL)
    assert len(bad.requests_to("Observation")) == 2  # the search, then its next link once


def test_a_next_page_that_fails_keeps_the_first_page_and_marks_labs_partial(
    client: FlaskClient, prefetch: dict[str, Any], bad: MisbehavingFhirServer
) -> None:
    first = searchset(lab_page(0), next_url=f"{bad.base_url}/Observation?page=2")
    bad.on("Observation", sequence(ok(first), status(500)))

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    assert_labs_degraded(answer, LABS_PARTIAL)
    assert len(bad.requests_to("Observation")) == 2


# --- huge answers -------------------------------------------------------------------------------------------------


def test_a_searchset_of_50000_resources_is_capped_and_marked_partial(
    make_app: Callable[..., Flask], prefetch: dict[str, Any], bad: MisbehavingFhirServer
) -> None:
    # A long deadline: this is about the resource cap, and reading 18 MB on a busy machine can take a second.
    client = make_app(HOOK_DEADLINE="5", FHIR_MAX_RESOURCES="500", FHIR_MAX_BYTES=str(64 * 1024 * 1024)).test_client()
    bundle = huge_bundle(50_000, lambda i: vitamin_d(f"huge-{i}", 30.0, "2026-10-01"))
    assert bundle.size > 15_000_000
    bad.on("Observation", bundle)

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    assert_labs_degraded(answer, LABS_PARTIAL, within=5 + SLACK)


def spaces_bundle(megabytes: int, *, gzipped: bool) -> Behaviour:
    """A valid searchset padded with `megabytes` MB of JSON whitespace, optionally gzip-compressed (a small
    download that inflates to the full size)."""
    body = b'{"resourceType": "Bundle", "type": "searchset"' + b" " * (megabytes * 1024 * 1024) + b"}"
    if not gzipped:
        return lambda exchange: exchange.send(200, body)
    packed = gzip.compress(body, compresslevel=1)

    def behave(exchange: Exchange) -> None:
        exchange.send(200, packed, headers={"Content-Encoding": "gzip"})

    return behave


@pytest.mark.parametrize("gzipped", [False, True], ids=["40-MB-body", "gzip-inflating-to-40-MB"])
def test_a_body_over_the_byte_limit_is_refused_without_reading_it_all(
    client: FlaskClient, sekmet: SekmetServer, prefetch: dict[str, Any], bad: MisbehavingFhirServer, gzipped: bool
) -> None:
    bad.on("Observation", spaces_bundle(40, gzipped=gzipped))  # the default limit is 10 MiB

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    assert_labs_degraded(answer)
    assert len(bad.requests_to("Observation")) == 1
    assert_serves_normally_afterwards(client, sekmet)


def test_a_gzip_encoded_answer_within_the_limit_is_read_in_full(
    client: FlaskClient, prefetch: dict[str, Any], bad: MisbehavingFhirServer
) -> None:
    packed = gzip.compress(json.dumps(prefetch["observations"]).encode())
    bad.on("Observation", lambda exchange: exchange.send(200, packed, headers={"Content-Encoding": "gzip"}))

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    assert "VITD-01" in answer.cards and answer.data_issues() == ""


def test_a_prefetch_over_the_body_limit_is_413(make_app: Callable[..., Flask], prefetch: dict[str, Any]) -> None:
    client = make_app(MAX_BODY_BYTES=str(256 * 1024)).test_client()
    many = [vitamin_d(f"bulk-{i}", 30.0, "2026-10-01") for i in range(2_000)]

    too_big = client.post(SERVICE, json=hook_request(PID, prefetch=dict(prefetch, observations=searchset(many))))
    fine = client.post(SERVICE, json=hook_request(PID, prefetch=prefetch))

    assert too_big.status_code == 413
    assert too_big.get_json()["issue"][0]["code"] == "too-costly"
    assert fine.status_code == 200 and "DX-01" in {c["source"]["topic"]["code"] for c in fine.get_json()["cards"]}


# --- other patients' data, redirects, and where the token goes ------------------------------------------------------


def test_labs_of_another_patient_are_never_used(
    client: FlaskClient, prefetch: dict[str, Any], bad: MisbehavingFhirServer
) -> None:
    foreign = searchset([vitamin_d("theirs", 5.0, "2026-10-20", patient="someone-else")])
    bad.on("Observation", wrong_patient(foreign, "someone-else"))

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    # The other patient's very low vitamin D must not become ours: no VITD-01, and our 25-OH D counts as missing.
    assert "VITD-01" not in answer.cards
    assert "25-OH D" in answer.cards["LAB-01"]["summary"]


def test_a_redirect_is_not_followed_and_the_other_host_never_sees_the_token(
    client: FlaskClient, prefetch: dict[str, Any], bad: MisbehavingFhirServer, attacker: MisbehavingFhirServer
) -> None:
    bad.on("Observation", redirect(f"{attacker.base_url}/Observation?patient={PID}"))

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    assert_labs_degraded(answer)
    assert attacker.requests == []


@pytest.mark.parametrize(
    "next_path",
    [
        "{attacker}/Observation?page=2",  # another host
        "{origin}/other-app/Observation?page=2",  # same host, outside the FHIR base
        "{base}/../other-app/Observation?page=2",  # dot segments: sent as /other-app/...
        "{base}/%2e%2e/other-app/Observation?page=2",  # encoded dot segments, decoded by many servers
    ],
    ids=["other-host", "other-path", "dot-segments", "encoded-dot-segments"],
)
def test_a_next_link_outside_the_fhir_server_is_not_followed_and_gets_no_token(
    client: FlaskClient,
    prefetch: dict[str, Any],
    bad: MisbehavingFhirServer,
    attacker: MisbehavingFhirServer,
    next_path: str,
) -> None:
    next_url = next_path.format(attacker=attacker.base_url, origin=bad.origin, base=bad.base_url)
    bad.on("Observation", ok(searchset(lab_page(0), next_url=next_url)))
    bad.on("other-app", ok(searchset([vitamin_d("elsewhere", 5.0, "2026-10-01")])))

    answer = call(client, without(prefetch, "observations"), bad.base_url)

    assert_labs_degraded(answer, LABS_PARTIAL)
    assert attacker.requests == []
    assert [r.path.split("?")[0] for r in bad.requests] == ["/fhir/Observation"]
    assert bad.requests[0].authorization == f"Bearer {TOKEN}"


# --- a slow server cannot starve the worker -------------------------------------------------------------------------


def trickle_everything(server: MisbehavingFhirServer, interval: float = 0.1) -> None:
    for route in (
        "Patient",
        "Observation",
        "Condition",
        "MedicationStatement",
        "MedicationRequest",
        "MedicationAdministration",
        "Procedure",
        "ServiceRequest",
    ):
        server.on(route, trickle(searchset(lab_page(0)), interval=interval))


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_trickling_servers_release_the_fetch_threads_at_the_deadline(
    make_app: Callable[..., Flask], sekmet: SekmetServer, bad: MisbehavingFhirServer
) -> None:
    """Regression: the body was read in 64 KiB chunks, so a server sending a byte every 100 ms held the fetch thread
    for as long as it liked (each read was quick, the deadline was checked per chunk). Four such calls used up the
    worker's 32 fetch threads and every later call, to any FHIR server, lost its data."""
    client = make_app(HOOK_DEADLINE=str(SHORT_DEADLINE), FHIR_TIMEOUT="5").test_client()
    trickle_everything(bad)

    for _ in range(4):  # 4 x 9 fetches > 32 fetch threads
        answer = call(client, None, bad.base_url)
        assert answer.status == 412 and answer.elapsed < SHORT_DEADLINE + SLACK

    # The service hangs up on each trickle just after the deadline, so the server's handlers end.
    assert wait_until(lambda: bad.busy_handlers() == 0, timeout=2.0), bad.busy_handlers()
    assert_serves_normally_afterwards(client, sekmet)


# --- the deployed service (gunicorn) -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    directory: Path = tmp_path_factory.mktemp("faults-service")
    service = ServiceProcess(
        directory,
        {
            "OSTEO_CDS_NOW": EVALUATION_TIME,
            "OSTEO_CDS_HOOK_DEADLINE": str(SHORT_DEADLINE),
            "OSTEO_CDS_FHIR_TIMEOUT": "5",
            "OSTEO_CDS_MAX_BODY_BYTES": str(256 * 1024),
            "OSTEO_CDS_THREADS": "2",
        },
        workers=1,
    ).start()
    yield service
    service.stop()


def post(service: ServiceProcess, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    response = requests.post(f"{service.base_url}{SERVICE}", json=body, timeout=10)
    return response.status_code, response.json(), time.monotonic() - started


def test_deployed_service_stalled_and_trickling_servers_then_a_healthy_call(
    deployed: ServiceProcess, sekmet: SekmetServer, prefetch: dict[str, Any], bad: MisbehavingFhirServer
) -> None:
    bad.on("Condition", stall(30))
    code, body, elapsed = post(
        deployed,
        hook_request(PID, prefetch=without(prefetch, "conditions"), fhir_server=bad.base_url, access_token=TOKEN),
    )
    assert code == 412 and body["issue"][0]["expression"] == ["prefetch.conditions"]
    assert elapsed < SHORT_DEADLINE + SLACK

    trickle_everything(bad)
    for _ in range(4):  # one worker process: enough to use up its fetch threads if they were held
        code, body, elapsed = post(deployed, hook_request(PID, fhir_server=bad.base_url, access_token=TOKEN))
        assert code == 412 and elapsed < SHORT_DEADLINE + SLACK
    assert {r.authorization for r in bad.requests} == {f"Bearer {TOKEN}"}

    code, body, _ = post(deployed, hook_request(PID, fhir_server=sekmet.base_url))
    assert code == 200
    topics = {c["source"]["topic"]["code"] for c in body["cards"]}
    assert {"DX-01", "VITD-01"} <= topics and "DATA-03" not in topics
    assert TOKEN not in deployed.log_text() and PID not in deployed.log_text()


def test_deployed_service_refuses_a_huge_prefetch_with_413(deployed: ServiceProcess, prefetch: dict[str, Any]) -> None:
    many = [vitamin_d(f"bulk-{i}", 30.0, "2026-10-01") for i in range(2_000)]

    code, body, _ = post(deployed, hook_request(PID, prefetch=dict(prefetch, observations=searchset(many))))
    assert code == 413 and body["resourceType"] == "OperationOutcome"

    code, body, _ = post(deployed, hook_request(PID, prefetch=prefetch))
    assert code == 200 and "DX-01" in {c["source"]["topic"]["code"] for c in body["cards"]}
