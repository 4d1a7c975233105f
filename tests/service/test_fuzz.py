"""Hostile input never produces a 5xx, a hang or an error body that is not an OperationOutcome.

A bounded number of cases per kind runs here; `python -m bench.fuzz` runs 10,000 from the same strategies
(tests/support/fuzz.py).
"""

from __future__ import annotations

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.test_service_call import full_request
from tests.support.fuzz import fuzz_targets, response_problem

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
