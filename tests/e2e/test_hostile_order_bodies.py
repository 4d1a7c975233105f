"""The order hooks under gunicorn, as deployed, given the bodies the fuzzer found dangerous: a draft nested deeper
than any FHIR resource, and a draft that repeats a member name. Each gets a 400 with an OperationOutcome that says
what is wrong (never a 5xx, never a dead worker), and the same worker then checks a well-formed order as usual.

In-process tests (tests/service/test_hostile_input.py) cover every place in a patient-view body; this covers what
only the deployed server shows: gunicorn's workers survive, and the answer on the wire is the service's own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cds_service.json_body import MAX_JSON_DEPTH
from testkit.fuzz import encode_with_duplicate, nested_text
from testkit.processes import ServiceProcess

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ORDER_SIGN = "/cds-services/bone-safety-order-sign"
ORDER_SELECT = "/cds-services/bone-safety-order-select"
PATHS = {"order-sign": ORDER_SIGN, "order-select": ORDER_SELECT}
EXAMPLE_FILES = {"order-sign": "order-sign-request.json", "order-select": "order-select-request.json"}
DRAFT = ("context", "draftOrders", "entry", 0, "resource")


def example(hook: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / EXAMPLE_FILES[hook]).read_text("utf-8"))
    return body


def nested_at(body: dict[str, Any], path: tuple[str | int, ...], depth: int) -> str:
    """JSON text of `body` with `depth` levels of arrays and objects at `path`."""
    holder: Any = json.loads(json.dumps(body))
    target = holder
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = "__nested__"
    return json.dumps(holder).replace('"__nested__"', nested_text(depth, "oa"), 1)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One worker, so every request below meets the same process: a crash would show as a failed next call."""
    process = ServiceProcess(
        tmp_path_factory.mktemp("hostile-orders"), {"OSTEO_CDS_NOW": "2026-11-25T09:00:00Z"}, workers=1
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def post(service: ServiceProcess, path: str, text: str) -> requests.Response:
    return requests.post(
        service.base_url + path, data=text.encode(), headers={"Content-Type": "application/json"}, timeout=30
    )


def assert_outcome_400(response: requests.Response) -> str:
    assert response.status_code == 400, response.text[:300]
    assert response.headers["Content-Type"] == "application/json", response.headers["Content-Type"]
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert all(issue["severity"] in ("error", "fatal") for issue in outcome["issue"])
    diagnostics: str = outcome["issue"][0]["diagnostics"]
    assert "Traceback" not in response.text
    return diagnostics


def assert_still_checks_orders(service: ServiceProcess) -> None:
    """The example order-sign (alendronate with eGFR 32) still gets its ORD-01 card from the same worker."""
    response = post(service, ORDER_SIGN, json.dumps(example("order-sign")))
    assert response.status_code == 200, response.text[:300]
    assert [card["source"]["topic"]["code"] for card in response.json()["cards"]] == ["ORD-01"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
@pytest.mark.parametrize("place", ["draft-extension", "draft-dose", "selections"])
@pytest.mark.parametrize("hook", sorted(PATHS))
def test_a_draft_nested_deeper_than_any_resource_gets_400_and_the_worker_lives(
    service: ServiceProcess, hook: str, place: str, depth: int
) -> None:
    member = {
        "draft-extension": (*DRAFT, "extension"),
        "draft-dose": (*DRAFT, "dosageInstruction", 0, "doseAndRate", 0, "doseQuantity", "extension"),
        "selections": ("context", "selections"),
    }[place]
    body = example(hook)
    if place == "draft-dose":
        draft = body["context"]["draftOrders"]["entry"][0]["resource"]
        draft["dosageInstruction"] = [{"doseAndRate": [{"doseQuantity": {"value": 1}}]}]

    diagnostics = assert_outcome_400(post(service, PATHS[hook], nested_at(body, member, depth)))

    assert f"deeper than {MAX_JSON_DEPTH} levels" in diagnostics
    assert_still_checks_orders(service)


@pytest.mark.parametrize(
    ("holder", "name", "second"),
    [
        pytest.param(DRAFT, "status", "draft", id="draft-status"),
        pytest.param((*DRAFT, "medicationCodeableConcept"), "coding", [], id="draft-drug"),
        pytest.param(("context",), "patientId", "someone-else", id="two-patients"),
    ],
)
@pytest.mark.parametrize("escaped", [False, True], ids=["plain", "unicode-escaped"])
@pytest.mark.parametrize("hook", sorted(PATHS))
def test_a_draft_that_repeats_a_member_name_gets_400_and_the_worker_lives(
    service: ServiceProcess, hook: str, holder: tuple[str | int, ...], name: str, second: Any, escaped: bool
) -> None:
    text = encode_with_duplicate(example(hook), holder, name, second, escaped)

    diagnostics = assert_outcome_400(post(service, PATHS[hook], text))

    assert "repeats a member name" in diagnostics
    assert_still_checks_orders(service)
