"""Resolve every data query from prefetch, or from the FHIR server when prefetch did not satisfy it.

Per key (CDS Hooks 2.0 §Prefetch):
- absent, an OperationOutcome, a Bundle holding an error OperationOutcome, or a resource of the wrong type
  → unavailable from prefetch → fetched from `fhirServer`;
- `null` or an empty searchset Bundle → "no data", a valid clinical fact: not fetched again;
- a resource or a searchset Bundle → used; its `next` pages are followed when a FHIR server is available,
  otherwise what came is used and the domain is marked partial.
Independent fetches run in parallel, bounded by one deadline for the whole hook.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cds_service import metrics
from cds_service.fhir_client import Deadline, Fetched, FetchFailure, FhirClient, Source
from cds_service.queries import DataQuery
from fhir_mappings.fhir_json import BundlePage, read_bundle
from fhir_mappings.scope import Excluded, this_patient_only

log = logging.getLogger("osteo_cds.prefetch")

# Shared by all hooks of a worker process; a fetch abandoned at the deadline finishes within its own timeout.
_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="fhir-fetch")


class PrefetchState(StrEnum):
    """What one prefetch value says about its key (CDS Hooks 2.0 §Prefetch)."""

    NO_DATA = "no-data"  # null or an empty searchset: a valid clinical fact, not fetched again
    UNAVAILABLE = "unavailable"  # absent, an error, unreadable or the wrong type: fetched from fhirServer
    DATA = "data"


@dataclass
class Resolution:
    results: dict[str, Fetched]
    foreign_records: int = 0  # records about another patient, dropped
    excluded: list[Excluded] = field(default_factory=list)  # each of them, for DATA-03

    def resources(self) -> list[dict[str, Any]]:
        return [r for result in self.results.values() for r in result.resources]

    def missing_required(self, queries: Sequence[DataQuery]) -> list[str]:
        return [q.key for q in queries if q.required and not self.results[q.key].ok]

    def unavailable_domains(self, queries: Sequence[DataQuery]) -> frozenset[str]:
        return frozenset(q.domain for q in queries if not self.results[q.key].ok)

    def partial_domains(self, queries: Sequence[DataQuery]) -> frozenset[str]:
        return frozenset(q.domain for q in queries if self.results[q.key].partial)


def resolve(
    queries: Sequence[DataQuery],
    patient_id: str,
    prefetch: Mapping[str, Any] | None,
    fhir_server: str | None,
    token: str | None,
    client: FhirClient,
    deadline: Deadline,
) -> Resolution:
    prefetch = prefetch if isinstance(prefetch, Mapping) else {}
    results: dict[str, Fetched] = {}
    to_fetch: list[DataQuery] = []
    to_follow: dict[str, BundlePage] = {}

    for query in queries:
        if query.key not in prefetch:
            to_fetch.append(query)
            continue
        value = prefetch[query.key]
        state, page = _classify(value, query)
        if state is PrefetchState.NO_DATA:
            results[query.key] = Fetched(True, source=Source.PREFETCH)
        elif state is PrefetchState.UNAVAILABLE:
            to_fetch.append(query)
        elif page is not None:
            to_follow[query.key] = page
        else:
            results[query.key] = Fetched(True, [value], source=Source.PREFETCH)

    futures: dict[str, Future[Fetched]] = {}
    for query in to_fetch:
        if fhir_server is None:
            results[query.key] = dataclasses.replace(Fetched.failed(FetchFailure.NO_FHIR_SERVER), source=Source.NONE)
        else:
            futures[query.key] = _POOL.submit(_timed_get, client, query, fhir_server, patient_id, token, deadline)
    for key, page in to_follow.items():
        base = fhir_server.rstrip("/") + "/" if fhir_server else None
        if page.next is None or base is None:
            results[key] = dataclasses.replace(
                client.collect_bundle(page, base, token, deadline), source=Source.PREFETCH
            )
        else:
            futures[key] = _POOL.submit(client.collect_bundle, page, base, token, deadline)

    if futures:
        wait_for(futures.values(), timeout=max(deadline.remaining(), 0))
    for key, future in futures.items():
        source = Source.PREFETCH if key in to_follow else Source.FHIR
        if not future.done():
            future.cancel()
            results[key] = dataclasses.replace(Fetched.failed(FetchFailure.DEADLINE), source=source)
            kind = next(q.resource_types[0] for q in queries if q.key == key)
            metrics.FHIR_FETCH_FAILURES.labels(kind, metrics.failure_label(FetchFailure.DEADLINE)).inc()
            continue
        fetched = dataclasses.replace(future.result(), source=source)
        results[key] = fetched
        if fetched.failure is not None:
            kind = next(q.resource_types[0] for q in queries if q.key == key)
            metrics.FHIR_FETCH_FAILURES.labels(kind, metrics.failure_label(fetched.failure, fetched.status)).inc()
        if not fetched.ok or fetched.partial:
            log.info(
                "FHIR data incomplete",
                extra={
                    "event": "fetch",
                    "prefetch": key,
                    "fetch_status": "partial" if fetched.ok else "unavailable",
                    "reason": fetched.reason,
                },
            )

    resolution = Resolution({q.key: results[q.key] for q in queries})
    _keep_only_this_patient(resolution, queries, patient_id)
    return resolution


def _timed_get(
    client: FhirClient, query: DataQuery, base: str, patient_id: str, token: str | None, deadline: Deadline
) -> Fetched:
    started = time.perf_counter()
    try:
        return client.get(base, query.url(patient_id), token, deadline)
    finally:
        metrics.FHIR_FETCH_SECONDS.labels(query.resource_types[0]).observe(time.perf_counter() - started)


def _classify(value: Any, query: DataQuery) -> tuple[PrefetchState, BundlePage | None]:
    """What one prefetch value says about its key, and a Bundle's entries as read for it (one pass)."""
    if value is None:
        return PrefetchState.NO_DATA, None
    if not isinstance(value, dict):
        return PrefetchState.UNAVAILABLE, None
    kind = value.get("resourceType")
    if kind == "OperationOutcome":
        return PrefetchState.UNAVAILABLE, None
    if kind == "Bundle":
        page = read_bundle(value)
        if page is None:  # unreadable is not "no records": fetch it, or say it could not be read
            return PrefetchState.UNAVAILABLE, None
        if page.failed:
            return PrefetchState.UNAVAILABLE, None  # a failed search anywhere in it makes the key unavailable
        return (PrefetchState.DATA if page.has_data or page.next else PrefetchState.NO_DATA), page
    if isinstance(kind, str) and kind in query.resource_types:
        return PrefetchState.DATA, None
    return PrefetchState.UNAVAILABLE, None


def _keep_only_this_patient(resolution: Resolution, queries: Sequence[DataQuery], patient_id: str) -> None:
    """Drop records that belong to another patient, at any depth (nested Bundles, contained resources), from
    prefetch and fetched data alike: advice must never rest on someone else's chart. Each dropped entry is kept in
    `resolution.excluded` for DATA-03."""
    for query in queries:
        result = resolution.results[query.key]
        screened = this_patient_only(result.resources, patient_id)
        # Not a gap in this patient's chart: DATA-03 names each dropped record (§6), the rest is used.
        resolution.foreign_records += len(screened.excluded)
        resolution.excluded.extend(screened.excluded)
        result.resources = screened.resources
        if query.key == "patient" and result.ok and not screened.resources:
            result.ok = False
            result.failure = FetchFailure.NOT_THIS_PATIENT
