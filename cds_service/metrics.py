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

from cds_service.fhir_client import FetchFailure

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


# Failures with a label of their own; every other failure counts as "other" (the label set stays small and fixed).
_OWN_LABEL = frozenset(
    {
        FetchFailure.TIMEOUT,
        FetchFailure.CONNECTION,
        FetchFailure.DEADLINE,
        FetchFailure.NOT_JSON,
        FetchFailure.NOT_FHIR,
        FetchFailure.TOO_LARGE,
        FetchFailure.MALFORMED_BUNDLE,
    }
)


def failure_label(failure: FetchFailure, status: int | None = None) -> str:
    """A bounded label value for a fetch failure (HTTP statuses grouped by their first digit)."""
    if failure is FetchFailure.HTTP_STATUS and status is not None:
        return f"http-{status // 100}xx"
    return failure.value if failure in _OWN_LABEL else "other"
