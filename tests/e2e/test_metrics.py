"""GET /metrics, scraped from the real multi-worker service after a few calls."""

from __future__ import annotations

import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import PATIENT_ID, osteoporosis_chart
from testkit.processes import ServiceProcess


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def wait_until_issued(database: Path, card_uuid: str) -> None:
    """The worker that issued a card records its rule within a fraction of a second; wait until it has."""
    engine = create_engine(f"sqlite:///{database}")
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if connection.execute(text("SELECT 1 FROM issued WHERE uuid = :u"), {"u": card_uuid}).first():
                    return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise TimeoutError("the issued card was never recorded")


def test_metrics_show_requests_cards_fetches_and_feedback_without_phi(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path, {"OSTEO_CDS_NOW": "2026-11-25T09:00:00Z"}, workers=2).start()
    try:
        base = service.base_url
        definition = requests.get(base + "/cds-services", timeout=5).json()["services"][0]
        prefetch = prefetch_from_chart(definition["prefetch"], osteoporosis_chart(), PATIENT_ID)
        cards = []
        for _ in range(4):  # several calls, so both workers are likely to have served some
            response = requests.post(
                base + "/cds-services/osteoporosis-management",
                json=hook_request(PATIENT_ID, prefetch=prefetch),
                timeout=10,
            )
            cards = response.json()["cards"]
        wait_until_issued(tmp_path / "feedback.db", cards[0]["uuid"])  # feedback follows a clinician's action
        requests.post(
            base + "/cds-services/osteoporosis-management/feedback",
            timeout=10,
            json={
                "feedback": [
                    {"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:00:00Z"}
                ]
            },
        )
        unreachable = requests.post(
            base + "/cds-services/osteoporosis-management",
            timeout=10,
            json=hook_request(PATIENT_ID, fhir_server="http://127.0.0.1:9/fhir"),
        )
        assert unreachable.status_code == 412

        scraped = requests.get(base + "/metrics", timeout=5)
    finally:
        service.stop()

    assert scraped.status_code == 200
    found = samples(scraped.text)
    service_endpoint = "/cds-services/<service_id>"
    assert found[("osteo_cds_requests_total", (("endpoint", service_endpoint), ("status", "200")))] == 4
    assert found[("osteo_cds_requests_total", (("endpoint", service_endpoint), ("status", "412")))] == 1
    assert found[("osteo_cds_request_duration_seconds_count", (("endpoint", service_endpoint),))] == 5
    assert found[("osteo_cds_cards_total", (("rule", "DX-01"),))] == 4
    rule = cards[0]["source"]["topic"]["code"]
    assert found[("osteo_cds_feedback_total", (("outcome", "overridden"), ("rule", rule)))] == 1
    assert found[("osteo_cds_fhir_fetch_failures_total", (("reason", "connection"), ("resource_type", "Patient")))] == 1
    assert found[("osteo_cds_fhir_fetch_duration_seconds_count", (("resource_type", "Observation"),))] >= 2
    assert PATIENT_ID not in scraped.text
