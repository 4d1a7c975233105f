"""The service registry is the one place a CDS service is defined: a second service registered beside the bone-health
one gets discovery, routing, its own prefetch and rule set, feedback and its catalog page from the same app and the
same pipeline (the seam the order hooks are built in)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service import create_app
from cds_service.config import Settings
from cds_service.queries import DataQuery
from cds_service.services import PATIENT_VIEW, SERVICES, CdsService, ServiceRegistry
from decision_core import evaluate
from decision_core.facts import PatientFacts
from decision_core.recommendation import Recommendation
from fhir_mappings.terminology import Terminology
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import PATIENT_ID, osteoporosis_chart

SECOND_RULES = frozenset({"DX-01", "UNIV-01"})


def _second_rules(facts: PatientFacts, now: datetime, context: Mapping[str, Any]) -> list[Recommendation]:
    assert context["patientId"] == PATIENT_ID  # the request's validated context reaches the rule set
    return [r for r in evaluate(facts, now) if r.rule_id in SECOND_RULES]


def _second_queries(terminology: Terminology) -> tuple[DataQuery, ...]:
    return tuple(q for q in PATIENT_VIEW.queries(terminology) if q.key in ("patient", "bmd", "conditions"))


SECOND = dataclasses.replace(
    PATIENT_VIEW,
    id="bone-density-summary",
    title="Bone density summary",
    description="WHO classification and universal measures only.",
    queries=_second_queries,
    rule_set=_second_rules,
    rule_ids=SECOND_RULES,
)


@pytest.fixture
def two_services(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def make(**env: str) -> Flask:
        app = create_app(make_settings(**env), services=ServiceRegistry([PATIENT_VIEW, SECOND]))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["osteo_cds"].close()


def _call(client: FlaskClient, service: CdsService) -> list[dict[str, Any]]:
    templates = next(s for s in client.get("/cds-services").get_json()["services"] if s["id"] == service.id)
    prefetch = prefetch_from_chart(templates["prefetch"], osteoporosis_chart(), PATIENT_ID)
    response = client.post(f"/cds-services/{service.id}", json=hook_request(PATIENT_ID, prefetch=prefetch))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["cards"]


def test_discovery_lists_every_registered_service_with_its_own_prefetch(two_services: Callable[..., Flask]) -> None:
    services = two_services().test_client().get("/cds-services").get_json()["services"]

    assert [s["id"] for s in services] == ["osteoporosis-management", "bone-density-summary"]
    assert set(services[1]["prefetch"]) == {"patient", "bmd", "conditions"}
    assert services[1]["title"] == "Bone density summary" and services[1]["hook"] == "patient-view"
    assert len(services[0]["prefetch"]) > len(services[1]["prefetch"])


def test_each_service_answers_with_its_own_rule_set(two_services: Callable[..., Flask]) -> None:
    client = two_services(PUBLIC_BASE_URL="https://cds.example.org").test_client()

    full = {c["source"]["topic"]["code"] for c in _call(client, PATIENT_VIEW)}
    second = _call(client, SECOND)

    assert {c["source"]["topic"]["code"] for c in second} == SECOND_RULES
    assert full > SECOND_RULES  # the same chart gives the bone-health service more cards
    for card in second:  # each card links to the catalog page of the service that sent it
        rule = card["source"]["topic"]["code"]
        assert card["source"]["url"] == f"https://cds.example.org/cds-services/{SECOND.id}/catalog#{rule}"


def test_feedback_and_the_catalog_page_follow_the_registry(two_services: Callable[..., Flask]) -> None:
    client = two_services().test_client()
    card = _call(client, SECOND)[0]

    feedback = client.post(
        f"/cds-services/{SECOND.id}/feedback",
        json={
            "feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:15:00Z"}]
        },
    )
    page = client.get(f"/cds-services/{SECOND.id}/catalog").get_data(as_text=True)

    assert feedback.status_code == 200 and feedback.get_json() == {"received": 1, "stored": 1}
    assert page.count('class="ehr-card') == len(SECOND_RULES)
    assert 'id="UNIV-01"' in page and 'id="TX-01"' not in page


def test_an_unregistered_service_is_404_and_a_wrong_hook_400(two_services: Callable[..., Flask]) -> None:
    client = two_services().test_client()

    missing = client.post("/cds-services/order-sign-checks", json=hook_request(PATIENT_ID))
    wrong_hook = client.post(f"/cds-services/{SECOND.id}", json={**hook_request(PATIENT_ID), "hook": "order-sign"})

    assert missing.status_code == 404
    assert "'osteoporosis-management', 'bone-density-summary'" in missing.get_json()["issue"][0]["diagnostics"]
    assert wrong_hook.status_code == 400


def test_every_registered_catalog_is_public_and_every_service_needs_a_jwt(
    two_services: Callable[..., Flask], required_auth_env: dict[str, str]
) -> None:
    client = two_services(**required_auth_env).test_client()

    assert client.get(f"/cds-services/{SECOND.id}/catalog").status_code == 200
    assert client.post(f"/cds-services/{SECOND.id}", json=hook_request(PATIENT_ID)).status_code == 401
    assert client.post(f"/cds-services/{SECOND.id}/feedback", json={"feedback": []}).status_code == 401


def test_the_default_registry_offers_the_bone_health_service_and_the_order_hooks() -> None:
    assert SERVICES.ids == ("osteoporosis-management", "bone-safety-order-select", "bone-safety-order-sign")
    assert SERVICES.get("osteoporosis-management") is PATIENT_VIEW
