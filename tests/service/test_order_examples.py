"""The order-hook example requests in examples/ are what the README says they are, through `osteo-cds evaluate`
(the service's own pipeline, offline) and through the app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cds_service.cli import main
from cds_service.validation import response_problems

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXPECTED = {
    "order-select-empty-request.json": ("bone-safety-order-select", []),
    "order-select-request.json": ("bone-safety-order-select", ["ORD-08"]),
    "order-sign-request.json": ("bone-safety-order-sign", ["ORD-01"]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_osteo_cds_evaluate_sends_an_order_request_to_its_service(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OSTEO_CDS_AUTH_MODE", "development")

    assert main(["evaluate", str(EXAMPLES / name), "--now", "2026-11-25", "--json"]) == 0

    cards = json.loads(capsys.readouterr().out)["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == EXPECTED[name][1]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_order_examples_get_the_cards_the_readme_names(name: str, client: FlaskClient) -> None:
    service_id, rules = EXPECTED[name]

    response = client.post(f"/cds-services/{service_id}", json=json.loads((EXAMPLES / name).read_text("utf-8")))

    assert response.status_code == 200
    assert response_problems(response.get_json()) == []
    assert [c["source"]["topic"]["code"] for c in response.get_json()["cards"]] == rules


def test_the_terminal_view_of_an_order_card_shows_the_delete_of_the_draft(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OSTEO_CDS_AUTH_MODE", "development")

    assert main(["evaluate", str(EXAMPLES / "order-sign-request.json"), "--now", "2026-11-25"]) == 0

    out = capsys.readouterr().out
    assert "delete MedicationRequest/request-123" in out and "[CRITICAL] Alendronate order with eGFR 32" in out
