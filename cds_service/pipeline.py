"""One path from FHIR data to cards, shared by the HTTP hook and `osteo-cds evaluate`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cards.catalog import Catalog
from cards.render import RenderedCard, RenderOptions, render_cards
from cds_service.errors import CdsError, Issue
from cds_service.fhir_client import Deadline, FhirClient
from cds_service.prefetch import resolve
from cds_service.queries import DataQuery
from cds_service.validation import HookRequest
from decision_core import evaluate
from decision_core.facts import PatientFacts
from decision_core.model import Recommendation
from fhir_mappings.extract import extract_facts
from fhir_mappings.terminology import Terminology

log = logging.getLogger("osteo_cds.pipeline")


@dataclass(frozen=True)
class Evaluation:
    facts: PatientFacts
    recommendations: list[Recommendation]
    cards: list[RenderedCard]


def evaluate_resources(
    resources: Iterable[Mapping[str, Any]],
    now: datetime,
    patient_id: str,
    terminology: Terminology,
    catalog: Catalog,
    *,
    unavailable: frozenset[str] = frozenset(),
    partial: frozenset[str] = frozenset(),
    render_options: RenderOptions | None = None,
) -> Evaluation:
    facts = extract_facts(resources, now, unavailable=unavailable, partial=partial, terminology=terminology)
    recommendations = evaluate(facts, now)
    return Evaluation(facts, recommendations, render_cards(recommendations, catalog, patient_id, render_options))


def run_hook(
    hook: HookRequest,
    now: datetime,
    queries: tuple[DataQuery, ...],
    client: FhirClient,
    deadline_seconds: float,
    terminology: Terminology,
    catalog: Catalog,
    render_options: RenderOptions | None = None,
) -> Evaluation:
    resolution = resolve(
        queries,
        hook.patient_id,
        hook.prefetch,
        hook.fhir_server,
        hook.access_token,
        client,
        Deadline.after(deadline_seconds),
    )
    missing = resolution.missing_required(queries)
    if missing:
        raise CdsError(
            412,
            [
                Issue(
                    "Required data could not be obtained from prefetch or the FHIR server: " + ", ".join(missing) + ".",
                    code="processing",
                    expression=tuple(f"prefetch.{key}" for key in missing),
                )
            ],
        )
    evaluation = evaluate_resources(
        resolution.resources(),
        now,
        hook.patient_id,
        terminology,
        catalog,
        unavailable=resolution.unavailable_domains(queries),
        partial=resolution.partial_domains(queries),
        render_options=render_options,
    )
    if evaluation.facts.unreadable_records or resolution.foreign_records:
        log.info(
            "records skipped",
            extra={
                "event": "records",
                "hook_instance": hook.hook_instance,
                "skipped_records": evaluation.facts.unreadable_records + resolution.foreign_records,
            },
        )
    return evaluation
