"""Prometheus metrics at GET /metrics. Labels carry endpoints, statuses, rule ids and resource types — never PHI.

Under gunicorn every worker is a process, so the client library's multiprocess mode is used when
PROMETHEUS_MULTIPROC_DIR is set (`osteo-cds serve` sets it up); a single process (tests, `flask run`) uses the
default registry.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

REQUESTS = Counter("osteo_cds_requests_total", "HTTP requests answered", ["endpoint", "status"])
REQUEST_SECONDS = Histogram(
    "osteo_cds_request_duration_seconds", "Time to answer an HTTP request", ["endpoint"], buckets=_LATENCY_BUCKETS
)
CARDS = Counter("osteo_cds_cards_total", "Cards returned, per decision-table rule", ["rule"])
FHIR_FETCH_SECONDS = Histogram(
    "osteo_cds_fhir_fetch_duration_seconds",
    "Time to fetch one prefetch key from the FHIR server (all pages)",
    ["resource_type"],
    buckets=_LATENCY_BUCKETS,
)
FHIR_FETCH_FAILURES = Counter(
    "osteo_cds_fhir_fetch_failures_total", "FHIR fetches that gave no usable data", ["resource_type", "reason"]
)
FEEDBACK = Counter("osteo_cds_feedback_total", "Feedback items received, per rule and outcome", ["rule", "outcome"])


def render() -> tuple[bytes, str]:
    """The exposition text for all workers (multiprocess) or this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def reason_label(reason: str) -> str:
    """A bounded label value for a fetch failure reason (reasons are fixed texts; HTTP codes grouped)."""
    if reason.startswith("HTTP "):
        return "http-" + reason[5:6] + "xx"
    known = {
        "timed out": "timeout",
        "connection failed": "connection",
        "hook deadline reached": "deadline",
        "response is not JSON": "not-json",
        "response is not a FHIR resource": "not-fhir",
        "response too large": "too-large",
        "malformed Bundle": "malformed",
    }
    return known.get(reason, "other")
