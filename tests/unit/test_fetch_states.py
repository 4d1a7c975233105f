"""Fetch outcomes are typed: a FetchFailure (not a text) picks the metrics label, and the prefetch classification is
a PrefetchState."""

from __future__ import annotations

import pytest

from cds_service.fhir_client import Fetched, FetchFailure
from cds_service.metrics import failure_label
from cds_service.prefetch import PrefetchState, _classify
from cds_service.queries import build_queries

PATIENT_QUERY = build_queries(["http://loinc.org|38267-1"], ["http://loinc.org|1989-3"])[0]


@pytest.mark.parametrize(
    ("fetched", "label", "reason"),
    [
        (Fetched.failed(FetchFailure.HTTP_STATUS, status=503), "http-5xx", "HTTP 503"),
        (Fetched.failed(FetchFailure.HTTP_STATUS, status=404), "http-4xx", "HTTP 404"),
        (Fetched.failed(FetchFailure.TIMEOUT), "timeout", "timed out"),
        (Fetched.failed(FetchFailure.DEADLINE), "deadline", "hook deadline reached"),
        (Fetched.failed(FetchFailure.REQUEST_FAILED, detail="InvalidURL"), "other", "request failed (InvalidURL)"),
        (Fetched.failed(FetchFailure.ERROR_IN_BUNDLE), "other", "Bundle carries an error OperationOutcome"),
    ],
)
def test_the_metrics_label_comes_from_the_failure_not_its_wording(fetched: Fetched, label: str, reason: str) -> None:
    assert fetched.failure is not None
    assert failure_label(fetched.failure, fetched.status) == label
    assert fetched.reason == reason


def test_every_failure_is_worded_and_labelled_from_a_small_fixed_set() -> None:
    labels = {failure_label(f, 500) for f in FetchFailure}
    assert all(Fetched.failed(f, status=500).reason for f in FetchFailure)
    assert labels <= {
        "timeout",
        "connection",
        "deadline",
        "not-json",
        "not-fhir",
        "too-large",
        "malformed",
        "other",
    } | {"http-5xx"}


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (None, PrefetchState.NO_DATA),
        ({"resourceType": "Bundle", "type": "searchset", "entry": []}, PrefetchState.NO_DATA),
        ({"resourceType": "OperationOutcome", "issue": []}, PrefetchState.UNAVAILABLE),
        ("Patient/1", PrefetchState.UNAVAILABLE),
        ({"resourceType": "Observation", "id": "x"}, PrefetchState.UNAVAILABLE),  # wrong type for the key
        ({"resourceType": "Patient", "id": "1"}, PrefetchState.DATA),
    ],
)
def test_prefetch_values_are_classified_as_states(value: object, state: PrefetchState) -> None:
    assert _classify(value, PATIENT_QUERY)[0] is state
