"""A draft order of any shape never produces a 5xx: every member of the sandbox's order-sign and order-select
drafts replaced by a value of another JSON type gets 200 (an info card when a covered drug cannot be read) or a 400
OperationOutcome for a context the schema refuses; never a stack trace."""

from __future__ import annotations

import json

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.validation import response_problems
from testkit.fhir import patient
from testkit.fuzz import _JSON_TYPES, _json_type, member_paths, replaced
from testkit.orders import (
    ALENDRONATE_70,
    DENOSUMAB_60,
    PREDNISONE_5,
    draft_orders,
    draft_request,
    order_prefetch,
    order_request,
)

PID = "fz-order"
CHART = [patient(PID)]
DRAFTS = draft_orders(
    draft_request("request-123", PID, PREDNISONE_5, supply_days=30, repeats=2),
    draft_request("request-124", PID, ALENDRONATE_70, shape="spec"),
    {**draft_request("request-125", PID, DENOSUMAB_60, shape="r4"), "status": "stopped"},
)
PATHS = [path for path in member_paths(DRAFTS)]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_a_draft_member_of_the_wrong_type_never_gives_a_5xx(app: Flask, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(PATHS), label="member")
    current = _json_type(_get(DRAFTS, path))
    kind = data.draw(st.sampled_from(sorted(set(_JSON_TYPES) - {current})), label="type")
    value = data.draw(_JSON_TYPES[kind], label="value")
    hook = data.draw(st.sampled_from(["order-sign", "order-select"]), label="hook")
    drafts = replaced(DRAFTS, path, value)
    selections = ["MedicationRequest/request-123", "MedicationRequest/request-124", "request-125"]
    body = order_request(hook, PID, drafts, selections=selections, prefetch=order_prefetch(CHART, PID))

    service = "bone-safety-order-sign" if hook == "order-sign" else "bone-safety-order-select"
    response = app.test_client().post(
        f"/cds-services/{service}", data=json.dumps(body), content_type="application/json"
    )

    assert response.status_code in (200, 400), response.get_data(as_text=True)[:500]
    answer = response.get_json()
    if response.status_code == 200:
        assert response_problems(answer) == []
    else:
        assert answer["resourceType"] == "OperationOutcome"


def _get(tree: object, path: tuple[str | int, ...]) -> object:
    for part in path:
        tree = tree[part]  # type: ignore[index]
    return tree
