"""The OpenAPI document the service serves describes what it really answers: real answers of every documented
operation and status, from `osteo-cds serve` over HTTP, validated against the document with openapi-core."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.exceptions import OpenAPIError
from openapi_spec_validator import validate

from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import PATIENT_ID, osteoporosis_chart
from testkit.jwt_clients import generate_key, jwks, write_trusted_clients
from testkit.processes import REPO, ServiceProcess, free_port

SERVICE = "/cds-services/osteoporosis-management"
METRICS_TOKEN = "openapi-test-metrics-token"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """A development instance (most answers) and a required-mode one whose Redis is down (401s, /readyz 503)."""
    directory = tmp_path_factory.mktemp("openapi")
    development = ServiceProcess(
        directory / "development",
        {"OSTEO_CDS_NOW": "2026-11-25T09:00:00Z", "OSTEO_CDS_MAX_BODY_BYTES": "65536"},
        workers=1,
    )
    trusted = write_trusted_clients(
        directory / "trusted-clients.yaml", [{"issuer": "https://ehr.example.org", "jwks": jwks(generate_key("ES384"))}]
    )
    required = ServiceProcess(
        directory / "required",
        {
            "OSTEO_CDS_AUTH_MODE": "required",
            "OSTEO_CDS_TRUSTED_CLIENTS": str(trusted),
            "OSTEO_CDS_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: not ready
            "OSTEO_CDS_METRICS_TOKEN": METRICS_TOKEN,
        },
        workers=1,
    )
    required.env["OSTEO_CDS_PUBLIC_BASE_URL"] = required.base_url
    for service in (development, required):
        service.log_path.parent.mkdir(parents=True, exist_ok=True)
        service.start()
    yield development, required
    for service in (development, required):
        service.stop()


def real_answers(development: ServiceProcess, required: ServiceProcess) -> list[tuple[str, str, requests.Response]]:
    """(documented path, method, real answer) for every operation and status of the document."""
    dev, req = development.base_url, required.base_url
    definition = requests.get(dev + "/cds-services", timeout=5).json()["services"][0]
    body = hook_request(
        PATIENT_ID, prefetch=prefetch_from_chart(definition["prefetch"], osteoporosis_chart(), PATIENT_ID)
    )
    call = requests.post(dev + SERVICE, json=body, timeout=10)
    feedback = {
        "feedback": [
            {
                "card": call.json()["cards"][0]["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-25T10:00:00Z",
                "overrideReason": {"userComment": "not today"},
            }
        ]
    }
    too_large = b'{"hook": "' + b"x" * 70_000 + b'"}'
    item = "/cds-services/{service_id}"
    return [
        ("/", "get", requests.get(dev + "/", timeout=5)),
        ("/", "get", requests.get(dev + "/", headers={"Accept": "text/html"}, timeout=5)),
        ("/openapi.json", "get", requests.get(dev + "/openapi.json", timeout=5)),
        ("/cds-services", "get", requests.get(dev + "/cds-services", timeout=5)),
        ("/cds-services", "get", requests.get(req + "/cds-services", timeout=5)),
        (item, "post", call),
        (item, "post", requests.post(dev + SERVICE, json={}, timeout=5)),
        (item, "post", requests.post(req + SERVICE, json=body, timeout=5)),
        (item, "post", requests.post(dev + "/cds-services/unknown", json=body, timeout=5)),
        (item, "post", requests.post(dev + SERVICE, json={**body, "prefetch": {}}, timeout=10)),
        (item, "post", requests.post(dev + SERVICE, data=too_large, timeout=5)),
        (item + "/feedback", "post", requests.post(dev + SERVICE + "/feedback", json=feedback, timeout=5)),
        (item + "/feedback", "post", requests.post(dev + SERVICE + "/feedback", json={"feedback": []}, timeout=5)),
        (item + "/feedback", "post", requests.post(req + SERVICE + "/feedback", json=feedback, timeout=5)),
        (item + "/feedback", "post", requests.post(dev + "/cds-services/x/feedback", json=feedback, timeout=5)),
        (item + "/feedback", "post", requests.post(dev + SERVICE + "/feedback", data=too_large, timeout=5)),
        (item + "/catalog", "get", requests.get(dev + SERVICE + "/catalog", timeout=10)),
        (item + "/catalog", "get", requests.get(dev + "/cds-services/x/catalog", timeout=5)),
        ("/healthz", "get", requests.get(dev + "/healthz", timeout=5)),
        ("/readyz", "get", requests.get(dev + "/readyz", timeout=5)),
        ("/readyz", "get", requests.get(req + "/readyz", timeout=5)),
        ("/metrics", "get", requests.get(dev + "/metrics", timeout=5)),
        ("/metrics", "get", requests.get(req + "/metrics", timeout=5)),
    ]


def documented(document: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {
        (path, method, int(status))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post")
        for status in operation["responses"]
    }


def test_the_served_document_is_valid_openapi_and_matches_the_shipped_description(
    services: tuple[ServiceProcess, ServiceProcess],
) -> None:
    development, required = services
    served = requests.get(development.base_url + "/openapi.json", timeout=5).json()
    behind_proxy = requests.get(required.base_url + "/openapi.json", timeout=5).json()

    validate(served)
    from importlib.metadata import version

    assert served["info"]["version"] == version("osteo-cds")
    assert "servers" not in served and behind_proxy["servers"] == [{"url": required.base_url}]
    schemas = served["components"]["schemas"]
    shipped = json.loads((REPO / "cds_service" / "schemas" / "hook-request.schema.json").read_text())
    assert schemas["HookRequest"]["required"] == shipped["required"]  # the very schemas the service validates with


def test_every_operation_and_status_of_the_document_validates_against_a_real_answer(
    services: tuple[ServiceProcess, ServiceProcess],
) -> None:
    development, required = services
    document = requests.get(development.base_url + "/openapi.json", timeout=5).json()
    answers = real_answers(development, required)

    seen = set()
    for path, method, answer in answers:
        origin = "/".join(answer.url.split("/", 3)[:3])  # http://127.0.0.1:PORT of the instance that answered
        openapi = OpenAPI.from_dict({**document, "servers": [{"url": origin}]})
        openapi.validate_response(RequestsOpenAPIRequest(answer.request), RequestsOpenAPIResponse(answer))
        seen.add((path, method, answer.status_code))

    assert seen == documented(document)  # nothing documented goes unchecked, nothing answered is undocumented


def test_an_answer_that_breaks_the_document_is_caught(services: tuple[ServiceProcess, ServiceProcess]) -> None:
    """The check above can fail: the same real answer, with its body altered, is refused."""
    development, _ = services
    document = requests.get(development.base_url + "/openapi.json", timeout=5).json()
    answer = requests.get(development.base_url + "/healthz", timeout=5)
    answer._content = b'{"status": "maybe"}'

    openapi = OpenAPI.from_dict({**document, "servers": [{"url": development.base_url}]})
    with pytest.raises(OpenAPIError):
        openapi.validate_response(RequestsOpenAPIRequest(answer.request), RequestsOpenAPIResponse(answer))


def test_the_example_request_is_valid_against_the_document(services: tuple[ServiceProcess, ServiceProcess]) -> None:
    development, _ = services
    document = requests.get(development.base_url + "/openapi.json", timeout=5).json()
    body = json.loads(Path(REPO / "examples" / "patient-view-request.json").read_text())
    headers = {"Authorization": "Bearer a.client.jwt"}  # the document requires one; its value is not checked here
    prepared = requests.Request("POST", development.base_url + SERVICE, json=body, headers=headers).prepare()

    OpenAPI.from_dict({**document, "servers": [{"url": development.base_url}]}).validate_request(
        RequestsOpenAPIRequest(prepared)
    )
