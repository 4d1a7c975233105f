"""POST /cds-services/{id}/feedback: validated, idempotent, durable, attributable to the card's rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.service.test_service_call import SERVICE, assert_outcome, full_request

FEEDBACK = SERVICE + "/feedback"


def issue_cards(client: FlaskClient) -> list[dict[str, Any]]:
    response = client.post(SERVICE, json=full_request(client))
    assert response.status_code == 200
    return response.get_json()["cards"]


def overridden(card_uuid: str, **extra: Any) -> dict[str, Any]:
    item = {
        "card": card_uuid,
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-25T10:15:00Z",
        "overrideReason": {
            "reason": {
                "system": "urn:osteo-cds:override-reason",
                "code": "patient-declined",
                "display": "Patient declined",
            }
        },
    }
    item.update(extra)
    return item


def test_feedback_is_stored_and_reported_per_rule(app: Flask, client: FlaskClient) -> None:
    card = issue_cards(client)[0]

    response = client.post(FEEDBACK, json={"feedback": [overridden(card["uuid"])]})

    assert response.status_code == 200
    assert response.get_json() == {"received": 1, "stored": 1}
    (row,) = app.extensions["osteo_cds"].store.feedback_report()
    assert (row.rule_id, row.overridden, row.accepted) == (card["source"]["topic"]["code"], 1, 0)
    assert row.override_reasons == {"patient-declined": 1}


def test_repeated_feedback_is_stored_once(app: Flask, client: FlaskClient) -> None:
    card = issue_cards(client)[0]
    body = {"feedback": [overridden(card["uuid"])]}

    first, second = client.post(FEEDBACK, json=body), client.post(FEEDBACK, json=body)

    assert first.get_json()["stored"] == 1
    assert second.status_code == 200 and second.get_json()["stored"] == 0
    assert app.extensions["osteo_cds"].store.feedback_report()[0].overridden == 1


def test_feedback_for_an_unknown_card_is_kept_as_unknown(app: Flask, client: FlaskClient) -> None:
    response = client.post(FEEDBACK, json={"feedback": [overridden("5f0c3a43-2f1e-4e43-9a53-0c9a4c7e1d10")]})

    assert response.status_code == 200
    assert [r.rule_id for r in app.extensions["osteo_cds"].store.feedback_report()] == ["unknown"]


def test_feedback_survives_a_restart(make_app: Callable[..., Flask]) -> None:
    first = make_app()
    client = first.test_client()
    card = issue_cards(client)[0]
    assert client.post(FEEDBACK, json={"feedback": [overridden(card["uuid"])]}).status_code == 200
    first.extensions["osteo_cds"].close()

    restarted = make_app()  # same data directory, new engine and connections

    (row,) = restarted.extensions["osteo_cds"].store.feedback_report()
    assert row.rule_id == card["source"]["topic"]["code"] and row.overridden == 1


INVALID: list[tuple[str, Any]] = [
    ("no feedback member", {}),
    ("empty feedback list", {"feedback": []}),
    ("missing card", {"feedback": [{"outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:15:00Z"}]}),
    ("bad outcome", {"feedback": [{"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-25T10:15:00Z"}]}),
    (
        "accepted without suggestions",
        {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-25T10:15:00Z"}]},
    ),
    (
        "timestamp without offset",
        {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:15:00"}]},
    ),
    ("timestamp not a date", {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "yesterday"}]}),
    (
        "empty override reason",
        {
            "feedback": [
                {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:15:00Z", "overrideReason": {}}
            ]
        },
    ),
    (
        "reason without system",
        {
            "feedback": [
                {
                    "card": "c",
                    "outcome": "overridden",
                    "outcomeTimestamp": "2026-11-25T10:15:00Z",
                    "overrideReason": {"reason": {"code": "x"}},
                }
            ]
        },
    ),
]


@pytest.mark.parametrize(("case", "body"), INVALID, ids=[c for c, _ in INVALID])
def test_invalid_feedback_is_400_and_nothing_is_stored(app: Flask, client: FlaskClient, case: str, body: Any) -> None:
    assert_outcome(client.post(FEEDBACK, json=body), 400)
    assert app.extensions["osteo_cds"].store.feedback_report() == []


def test_a_valid_item_is_not_stored_when_another_in_the_same_request_is_invalid(
    app: Flask, client: FlaskClient
) -> None:
    body = {"feedback": [overridden("c1"), overridden("c2", outcomeTimestamp="not-a-time")]}

    assert_outcome(client.post(FEEDBACK, json=body), 400)
    assert app.extensions["osteo_cds"].store.feedback_report() == []


def test_accepted_feedback_with_a_user_comment_keeps_no_comment_text(app: Flask, client: FlaskClient) -> None:
    item = {
        "card": "c3",
        "outcome": "accepted",
        "outcomeTimestamp": "2026-11-25T10:15:00.52Z",
        "acceptedSuggestions": [{"id": "s1"}],
        "overrideReason": {"userComment": "Mrs Example declined, see note"},
    }

    assert client.post(FEEDBACK, json={"feedback": [item]}).status_code == 200
    engine = app.extensions["osteo_cds"].store.engine
    with engine.connect() as connection:
        flags = connection.exec_driver_sql("SELECT has_user_comment, accepted_suggestions FROM feedback").fetchall()
        everything = repr(connection.exec_driver_sql("SELECT * FROM feedback").fetchall())
    assert flags == [(1, '["s1"]')]
    assert "Mrs Example" not in everything


def test_issued_cards_reach_the_database_without_a_feedback_call(app: Flask, client: FlaskClient) -> None:
    """The hook queues the card → rule mapping; the background writer stores it shortly after."""
    import time

    card = issue_cards(client)[0]
    engine = app.extensions["osteo_cds"].store.engine
    deadline = time.monotonic() + 5
    stored: list[Any] = []
    while time.monotonic() < deadline and not stored:
        with engine.connect() as connection:
            stored = connection.exec_driver_sql("SELECT rule_id FROM issued WHERE uuid = ?", (card["uuid"],)).fetchall()
        time.sleep(0.05)
    assert stored == [(card["source"]["topic"]["code"],)]
