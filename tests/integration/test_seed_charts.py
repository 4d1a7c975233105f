"""The seed articles' patients and generated Synthea patients, end to end: FHIR bundles loaded into a real FHIR
server, the service called over its real HTTP interface with prefetch and with FHIR queries only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.validation import response_problems
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.sekmet import SekmetServer
from tests.conftest import EVALUATION_TIME

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEEDS = sorted((FIXTURES / "seeds").glob("*.json"))
SYNTHEA = sorted((FIXTURES / "synthea").glob("*.json"))
SERVICE = "/cds-services/osteoporosis-management"


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle["entry"]]


def cards_by_both_routes(client: FlaskClient, server: SekmetServer, bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Cards via full prefetch, after checking that FHIR queries alone give the same cards."""
    server.load(bundle)
    chart = resources(bundle)
    pid = next(r["id"] for r in chart if r["resourceType"] == "Patient")
    templates = client.get("/cds-services").get_json()["services"][0]["prefetch"]
    by_prefetch = client.post(SERVICE, json=hook_request(pid, prefetch=prefetch_from_chart(templates, chart, pid)))
    by_queries = client.post(SERVICE, json=hook_request(pid, fhir_server=server.base_url))
    assert by_prefetch.status_code == 200 and by_queries.status_code == 200
    assert response_problems(by_prefetch.get_json()) == []

    def comparable(response: Any) -> list[tuple[str, str, str]]:
        return [(c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in response.get_json()["cards"]]

    assert comparable(by_prefetch) == comparable(by_queries)
    return by_prefetch.get_json()["cards"]


@pytest.mark.parametrize("path", SEEDS, ids=[p.stem for p in SEEDS])
def test_seed_patient_gets_exactly_the_expected_cards(
    client: FlaskClient, fhir_server: SekmetServer, path: Path
) -> None:
    fixture = json.loads(path.read_text())

    cards = cards_by_both_routes(client, fhir_server, fixture["bundle"])

    assert sorted((c["source"]["topic"]["code"], c["indicator"]) for c in cards) == sorted(
        tuple(pair) for pair in fixture["expected"]
    )


@pytest.mark.parametrize("path", SYNTHEA, ids=[p.stem for p in SYNTHEA])
def test_synthea_patient_gets_the_same_cards_by_prefetch_and_by_queries(
    client: FlaskClient, fhir_server: SekmetServer, path: Path
) -> None:
    bundle = json.loads(path.read_text())
    cards = cards_by_both_routes(client, fhir_server, bundle)

    (patient,) = [r for r in resources(bundle) if r["resourceType"] == "Patient"]
    if patient.get("deceasedDateTime", "9999") <= EVALUATION_TIME:
        assert cards == []  # decision table §6 (rev 2): no cards for a deceased patient
    else:
        assert cards  # every one of these living women has bone findings to report
