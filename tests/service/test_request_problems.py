"""Issue 15: a malformed request names each problem once."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_an_empty_object_as_hook_body_names_each_missing_member_once(client: FlaskClient) -> None:
    response = client.post("/cds-services/osteoporosis-management", json={})

    assert response.status_code == 400
    assert [issue["diagnostics"] for issue in response.get_json()["issue"]] == [
        "'hook' is required.",
        "'hookInstance' is required.",
        "'context' is required.",
    ]


def test_a_context_missing_both_members_names_both_once(client: FlaskClient) -> None:
    body = {"hook": "patient-view", "hookInstance": "i-1", "context": {}}

    issues = client.post("/cds-services/osteoporosis-management", json=body).get_json()["issue"]

    assert sorted(issue["expression"][0] for issue in issues) == ["context.patientId", "context.userId"]


def test_an_empty_object_as_feedback_names_the_feedback_member_once(client: FlaskClient) -> None:
    response = client.post("/cds-services/osteoporosis-management/feedback", json={})

    assert [issue["diagnostics"] for issue in response.get_json()["issue"]] == ["'feedback' is required."]
