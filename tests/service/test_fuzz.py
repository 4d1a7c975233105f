"""Hostile input never produces a 5xx, a hang or an error body that is not an OperationOutcome.

A bounded number of cases per kind runs here; `python -m bench.fuzz` runs 10,000 from the same strategies
(testkit/fuzz.py).
"""

from __future__ import annotations

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkit.fuzz import (
    SERVICE_PATH,
    FuzzCase,
    discovery_templates,
    foreign_record_pairs,
    fuzz_targets,
    realistic_request,
    response_problem,
)
from testkit.processes import free_port
from tests.service.test_service_call import full_request

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KINDS = sorted(fuzz_targets({}))


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data())
def test_hostile_requests_get_documented_answers(app: Flask, kind: str, data: st.DataObject) -> None:
    client = app.test_client()
    case = data.draw(fuzz_targets(full_request(client))[kind], label=kind)
    headers = {"Content-Type": "application/json", **case.headers}
    response = client.post(case.path, data=case.body, headers=headers)
    problem = response_problem(case, response.status_code, response.content_type, response.get_data())
    assert problem is None, f"{problem}: {response.get_data(as_text=True)[:500]}"


@FUZZ
@given(data=st.data())
def test_another_patients_records_nested_anywhere_never_give_a_5xx(app: Flask, data: st.DataObject) -> None:
    """Both requests of each pair answer as documented. Once foreign data is dropped at every depth (issue 11,
    point 2), the property becomes `same_cards(first, second)`: another patient's record changes no card."""
    client = app.test_client()
    request = realistic_request(discovery_templates(), f"https://127.0.0.1:{free_port()}/fhir")
    pair = data.draw(foreign_record_pairs(request), label="pair")
    for body in pair:
        response = client.post(SERVICE_PATH, json=body)
        problem = response_problem(
            FuzzCase(SERVICE_PATH, b""), response.status_code, response.content_type, response.get_data()
        )
        assert problem is None, f"{problem}: {response.get_data(as_text=True)[:500]}"
