"""Feedback on a suggestion is attributed to the rule of the card that carried it, in the store and the CLI report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.cli import main
from tests.service.test_service_call import SERVICE, full_request

FEEDBACK = SERVICE + "/feedback"
WHEN = "2026-11-25T10:15:00Z"


def cards_with_suggestions(client: FlaskClient) -> list[dict[str, Any]]:
    response = client.post(SERVICE, json=full_request(client))
    assert response.status_code == 200
    cards = [card for card in response.get_json()["cards"] if card.get("suggestions")]
    assert cards, "the osteoporosis chart should yield at least one card with draft orders"
    return cards


def accepted(card: dict[str, Any], suggestion: dict[str, Any]) -> dict[str, Any]:
    return {
        "card": card["uuid"],
        "outcome": "accepted",
        "outcomeTimestamp": WHEN,
        "acceptedSuggestions": [{"id": suggestion["uuid"]}],
    }


def report(app: Flask) -> dict[str, Any]:
    return {row.rule_id: row for row in app.extensions["osteo_cds"].store.feedback_report()}


def test_accepted_suggestion_is_attributed_to_the_cards_rule(app: Flask, client: FlaskClient) -> None:
    card = cards_with_suggestions(client)[0]
    rule_id = card["source"]["topic"]["code"]

    response = client.post(FEEDBACK, json={"feedback": [accepted(card, card["suggestions"][0])]})

    assert response.status_code == 200 and response.get_json() == {"received": 1, "stored": 1}
    row = report(app)[rule_id]
    assert (row.accepted, row.overridden) == (1, 0)


def test_every_card_with_drafts_gets_its_own_attribution(app: Flask, client: FlaskClient) -> None:
    cards = cards_with_suggestions(client)

    items = [accepted(card, suggestion) for card in cards for suggestion in card["suggestions"]]
    assert client.post(FEEDBACK, json={"feedback": items}).status_code == 200

    rows = report(app)
    for card in cards:
        assert rows[card["source"]["topic"]["code"]].accepted == len(card["suggestions"])
    assert "unknown" not in rows


def test_an_override_with_the_cards_coded_reason_is_counted_per_rule(app: Flask, client: FlaskClient) -> None:
    response = client.post(SERVICE, json=full_request(client))
    card = next(c for c in response.get_json()["cards"] if c.get("overrideReasons"))
    reason = card["overrideReasons"][0]

    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": WHEN,
        "overrideReason": {"reason": reason, "userComment": "discussed at visit"},
    }
    assert client.post(FEEDBACK, json={"feedback": [item]}).status_code == 200

    row = report(app)[card["source"]["topic"]["code"]]
    assert row.overridden == 1 and row.override_reasons == {reason["code"]: 1}


def test_a_known_suggestion_attributes_feedback_even_when_the_card_uuid_is_not_ours(
    app: Flask, client: FlaskClient
) -> None:
    card = cards_with_suggestions(client)[0]
    item = accepted(card, card["suggestions"][0]) | {"card": "3b1f8a52-93c4-4e55-8f0e-2b9f4d0a7c61"}

    assert client.post(FEEDBACK, json={"feedback": [item]}).status_code == 200

    assert report(app)[card["source"]["topic"]["code"]].accepted == 1


def test_feedback_report_command_attributes_the_suggestion_to_the_rule(
    app: Flask, client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    card = cards_with_suggestions(client)[0]
    assert client.post(FEEDBACK, json={"feedback": [accepted(card, card["suggestions"][0])]}).status_code == 200
    app.extensions["osteo_cds"].store.dispose()
    monkeypatch.setenv("OSTEO_CDS_AUTH_MODE", "development")
    monkeypatch.setenv("OSTEO_CDS_DATA_DIR", str(tmp_path / "data"))  # the app fixture's data directory

    assert main(["feedback-report", "--json"]) == 0

    rows = {row["rule_id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows[card["source"]["topic"]["code"]]["accepted"] == 1
