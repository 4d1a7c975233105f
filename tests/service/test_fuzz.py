"""Hostile input never produces a 5xx, a hang or an error body that is not an OperationOutcome.

A bounded number of cases runs here; `python bench/fuzz.py` runs 10,000.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.test_service_call import SERVICE, full_request
from tests.support import fhir
from tests.support.cds_client import hook_request
from tests.support.fuzz import damaged_requests, json_values, prefetch_values

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ALLOWED = {200, 400, 404, 412, 413}


def check(response: Any) -> None:
    assert response.status_code in ALLOWED, response.get_data(as_text=True)[:500]
    body = response.get_json()
    if response.status_code == 200:
        assert isinstance(body["cards"], list)
    else:
        assert body["resourceType"] == "OperationOutcome" and body["issue"]


@FUZZ
@given(body=json_values)
def test_arbitrary_json_bodies(app: Flask, body: Any) -> None:
    check(app.test_client().post(SERVICE, data=json.dumps(body), content_type="application/json"))


@FUZZ
@given(data=st.data())
def test_valid_requests_with_random_damage(app: Flask, data: st.DataObject) -> None:
    client = app.test_client()
    body = data.draw(damaged_requests(full_request(client)))
    check(client.post(SERVICE, data=json.dumps(body), content_type="application/json"))


KEYS = ["bmd", "observations", "conditions", "medicationStatements", "medicationRequests",
        "medicationAdministrations", "procedures", "serviceRequests", "unknownKey"]


@FUZZ
@given(prefetch=st.fixed_dictionaries({key: prefetch_values for key in KEYS}),
       patient=st.one_of(st.just(fhir.patient("fz-1")), prefetch_values))
def test_junk_prefetch_values_reach_extraction_without_a_crash(app: Flask, prefetch: dict[str, Any],
                                                               patient: Any) -> None:
    """The Patient is usually valid, so the junk really flows through extraction and the decision core."""
    check(app.test_client().post(SERVICE, json=hook_request("fz-1", prefetch={"patient": patient, **prefetch})))


@FUZZ
@given(body=st.one_of(json_values, st.fixed_dictionaries({"feedback": st.lists(
    st.dictionaries(st.sampled_from(["card", "outcome", "outcomeTimestamp", "acceptedSuggestions",
                                     "overrideReason"]), json_values), max_size=3)})))
def test_junk_feedback(app: Flask, body: Any) -> None:
    check(app.test_client().post(SERVICE + "/feedback", data=json.dumps(body), content_type="application/json"))
