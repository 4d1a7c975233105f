"""GET /cds-services: a conformant discovery document whose prefetch templates come from the terminology data."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from cds_service.validation import validator


def test_discovery_lists_the_bone_health_service(client: FlaskClient) -> None:
    response = client.get("/cds-services")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(validator("discovery").iter_errors(body)) == []
    service, order_select, order_sign = body["services"]
    assert service["id"] == "osteoporosis-management"
    assert service["hook"] == "patient-view"
    assert (order_select["id"], order_select["hook"]) == ("bone-safety-order-select", "order-select")
    assert (order_sign["id"], order_sign["hook"]) == ("bone-safety-order-sign", "order-sign")
    assert service["title"] and service["description"] and service["usageRequirements"]


def test_prefetch_templates_use_only_r4_syntax_and_context_tokens(client: FlaskClient) -> None:
    prefetch = client.get("/cds-services").get_json()["services"][0]["prefetch"]

    assert {
        "patient",
        "bmd",
        "observations",
        "conditions",
        "medicationStatements",
        "medicationRequests",
        "medicationAdministrations",
    } <= set(prefetch)
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    for key, template in prefetch.items():
        tokens = re.findall(r"{{(.*?)}}", template)
        assert tokens and set(tokens) == {"context.patientId"}, key
        assert "sort:" not in template and "sort=" not in template.replace("_sort=", ""), key
        query = parse_qs(urlsplit(template).query)
        if "Observation" in template:
            assert query["_sort"] == ["-date"], key
            assert all("|" in token for token in query["code"][0].split(",")), key


def test_prefetch_code_lists_are_generated_from_the_terminology(app, client: FlaskClient) -> None:
    terminology = app.extensions["osteo_cds"].terminology
    prefetch = client.get("/cds-services").get_json()["services"][0]["prefetch"]

    bmd_codes = parse_qs(urlsplit(prefetch["bmd"]).query)["code"][0].split(",")
    observation_codes = parse_qs(urlsplit(prefetch["observations"]).query)["code"][0].split(",")

    dxa_codes = {entry.token for entry in terminology.entries("dxa")}
    assert set(bmd_codes) == dxa_codes - {e.token for e in terminology.entries("dxa") if e.prefix}
    assert sorted(bmd_codes + observation_codes) == terminology.search_codes("observation")
    assert "http://loinc.org|38267-1" in bmd_codes  # lumbar spine T-score (not the often-miscopied 38267-5)
