"""One path from a hook call to cards, for every registered service: resolve the data (prefetch, else the FHIR
server) -> extract the facts -> evaluate the service's rule set -> render the cards. Shared by the HTTP hooks and
`osteo-cds evaluate`; a service brings only what differs (cds_service.services.CdsService)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cards.catalog import Catalog
from cards.render import RenderedCard, RenderOptions, render_cards
from cds_service.errors import CdsError, Issue
from cds_service.fhir_client import Deadline, FhirClient
from cds_service.prefetch import Resolution, resolve
from cds_service.queries import DataQuery
from cds_service.services import CdsService
from cds_service.site_rules import SiteRules
from cds_service.validation import HookRequest
from decision_core.facts import PatientFacts
from decision_core.recommendation import Recommendation
from fhir_mappings.extract import extract_facts
from fhir_mappings.scope import Excluded
from fhir_mappings.terminology import Terminology
from fhir_mappings.typed_decoding import FhirParsing

log = logging.getLogger("osteo_cds.pipeline")


@dataclass(frozen=True)
class Evaluation:
    facts: PatientFacts
    recommendations: list[Recommendation]
    cards: list[RenderedCard]


def evaluate(
    service: CdsService, facts: PatientFacts, now: datetime, context: Mapping[str, Any]
) -> list[Recommendation]:
    """The service's rule set (the decision core) on the facts; nothing for a deceased patient (§6, §7.19)."""
    if facts.deceased:
        return []
    return service.rule_set(facts, now, context)


def evaluate_resources(
    service: CdsService,
    resources: Iterable[Mapping[str, Any]],
    now: datetime,
    patient_id: str,
    terminology: Terminology,
    catalog: Catalog,
    *,
    context: Mapping[str, Any] | None = None,
    unavailable: frozenset[str] = frozenset(),
    partial: frozenset[str] = frozenset(),
    render_options: RenderOptions | None = None,
    excluded: Sequence[Excluded] = (),
    site_rules: SiteRules | None = None,
    parsing: FhirParsing = FhirParsing.TYPED,
) -> Evaluation:
    """Facts -> evaluate -> the site's rule changes -> render, for resources already at hand (`excluded`: entries
    dropped before, named in DATA-03; `parsing`: OSTEO_CDS_FHIR_PARSING)."""
    facts = extract_facts(
        resources,
        now,
        unavailable=unavailable,
        partial=partial,
        terminology=terminology,
        excluded=excluded,
        parsing=parsing,
    )
    recommendations = evaluate(service, facts, now, context or {"patientId": patient_id})
    if site_rules:
        recommendations = site_rules.apply(recommendations)
    return Evaluation(facts, recommendations, render_cards(recommendations, catalog, patient_id, render_options))


def resolve_data(
    hook: HookRequest, queries: tuple[DataQuery, ...], client: FhirClient, deadline_seconds: float
) -> Resolution:
    """Every query from prefetch or the FHIR server; 412 when a required one cannot be obtained."""
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
    return resolution


def run_hook(
    service: CdsService,
    hook: HookRequest,
    now: datetime,
    queries: tuple[DataQuery, ...],
    client: FhirClient,
    deadline_seconds: float,
    terminology: Terminology,
    catalog: Catalog,
    render_options: RenderOptions | None = None,
    site_rules: SiteRules | None = None,
    parsing: FhirParsing = FhirParsing.TYPED,
) -> Evaluation:
    """The whole pipeline for one validated hook request of `service` (`queries`: the service's data queries)."""
    resolution = resolve_data(hook, queries, client, deadline_seconds)
    evaluation = evaluate_resources(
        service,
        resolution.resources(),
        now,
        hook.patient_id,
        terminology,
        catalog,
        context=hook.context,
        unavailable=resolution.unavailable_domains(queries),
        partial=resolution.partial_domains(queries),
        render_options=render_options,
        excluded=resolution.excluded,
        site_rules=site_rules,
        parsing=parsing,
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
