"""Hostile input never produces a 5xx, a hang or an error body that is not an OperationOutcome.

A bounded number of cases per kind runs here; `python -m bench.fuzz` runs 10,000 from the same strategies
(testkit/fuzz.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkit.fuzz import (
    ORDER_SELECT_PATH,
    ORDER_SIGN_PATH,
    SERVICE_PATH,
    FuzzCase,
    data03_names,
    discovery_templates,
    foreign_record_pairs,
    future_dated_copy_pairs,
    fuzz_targets,
    realistic_order_request,
    realistic_request,
    response_problem,
    same_cards,
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
def test_another_patients_record_nested_anywhere_changes_no_card(app: Flask, data: st.DataObject) -> None:
    """Issue 11 point 2 (decision table §6, §7.19): another patient's record, at any depth (nested searchset or
    collection, twice nested, contained, top level) and however its subject is written, changes no card; DATA-03
    names it."""
    client = app.test_client()
    request = realistic_request(discovery_templates(), f"https://127.0.0.1:{free_port()}/fhir")
    first, second = (answer(client, body) for body in data.draw(foreign_record_pairs(request), label="pair"))
    assert same_cards(first, second, apart_from=frozenset({"DATA-03"}))
    assert data03_names(second, "record of another patient")


@FUZZ
@given(data=st.data())
def test_a_future_dated_copy_of_any_record_changes_no_card(app: Flask, data: st.DataObject) -> None:
    """A copy of any dated record, dated after NOW + 1 day, is not used: no card changes but DATA-03, which names
    it "dated in the future"."""
    client = app.test_client()
    request = realistic_request(discovery_templates(), f"https://127.0.0.1:{free_port()}/fhir")
    first, second = (answer(client, body) for body in data.draw(future_dated_copy_pairs(request), label="pair"))
    assert same_cards(first, second, apart_from=frozenset({"DATA-03"}))
    assert data03_names(second, "dated in the future")


ORDER_PATHS = {"order-sign": ORDER_SIGN_PATH, "order-select": ORDER_SELECT_PATH}


@pytest.mark.parametrize("hook", sorted(ORDER_PATHS))
@FUZZ
@given(data=st.data())
def test_another_patients_record_nested_anywhere_changes_no_order_card(
    app: Flask, hook: str, data: st.DataObject
) -> None:
    """The order hooks screen their prefetch as patient-view does: another patient's eGFR 20, denosumab or fracture,
    at any depth and however its subject is written, changes no order card (an order card speaks only about the
    order, so no DATA-03 names it there)."""
    client = app.test_client()
    request = realistic_order_request(hook, f"https://127.0.0.1:{free_port()}/fhir")
    first, second = (
        answer(client, body, ORDER_PATHS[hook]) for body in data.draw(foreign_record_pairs(request), label="pair")
    )
    assert first["cards"] and same_cards(first, second)


def answer(client: Any, body: dict[str, Any], path: str = SERVICE_PATH) -> dict[str, Any]:
    response = client.post(path, json=body)
    problem = response_problem(FuzzCase(path, b""), response.status_code, response.content_type, response.get_data())
    assert problem is None and response.status_code == 200, f"{problem}: {response.get_data(as_text=True)[:500]}"
    result: dict[str, Any] = response.get_json()
    return result
