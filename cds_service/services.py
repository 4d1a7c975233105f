"""The CDS services this server offers, registered in one place.

A `CdsService` says everything that differs between services: its id and hook, its discovery entry (title,
description, usage requirements, prefetch templates), the schema its request context must satisfy, the rule set
that evaluates the facts, and which rules its catalog page lists. Discovery, routing, feedback, the catalog page and
the hook pipeline (cds_service.pipeline: resolve -> facts -> evaluate -> render) all iterate or look up `SERVICES`;
nothing else names a service. A new service (e.g. the order hooks) is one more `CdsService` in `SERVICES`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cds_service.errors import CdsError
from cds_service.queries import DataQuery, queries_for
from decision_core import evaluate as evaluate_patient_view
from decision_core.facts import PatientFacts
from decision_core.order_rules import evaluate_orders
from decision_core.recommendation import Recommendation
from decision_core.specs import PATIENT_VIEW_RULE_IDS
from decision_core.specs.order_specs import ORDER_RULE_IDS
from fhir_mappings.orders import read_drafts
from fhir_mappings.terminology import Terminology

# The facts, the evaluation time and the request's validated context (e.g. an order hook's drafts) -> cards to send.
RuleSet = Callable[[PatientFacts, datetime, Mapping[str, Any]], list[Recommendation]]
QueryBuilder = Callable[[Terminology], tuple[DataQuery, ...]]


@dataclass(frozen=True)
class CdsService:
    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str
    queries: QueryBuilder  # the prefetch templates and the fetches that fill what prefetch did not
    rule_set: RuleSet
    rule_ids: frozenset[str]  # the rules it can send: its catalog page lists these
    context_schema: str  # cds_service/schemas/<name>.schema.json, checked on every request's context

    def definition(self, queries: Sequence[DataQuery]) -> dict[str, Any]:
        """Its discovery entry (CDS Hooks 2.0 §Discovery), with the prefetch templates of `queries`."""
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "usageRequirements": self.usage_requirements,
            "prefetch": {query.key: query.template for query in queries},
        }


class ServiceRegistry:
    """The services, in discovery order."""

    def __init__(self, services: Sequence[CdsService]) -> None:
        self._services = {service.id: service for service in services}
        if len(self._services) != len(services):
            raise ValueError("two services share an id")

    def __iter__(self) -> Iterator[CdsService]:
        return iter(self._services.values())

    def __len__(self) -> int:
        return len(self._services)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._services)

    def get(self, service_id: str) -> CdsService:
        """The service with this id; 404 (with the ids discovery lists) when there is none."""
        service = self._services.get(service_id)
        if service is None:
            known = ", ".join(f"'{s}'" for s in self._services)
            raise CdsError(404, f"No CDS service with this id. Discovery at /cds-services lists {known}.")
        return service


def _patient_view_rules(facts: PatientFacts, now: datetime, _context: Mapping[str, Any]) -> list[Recommendation]:
    return evaluate_patient_view(facts, now)


PATIENT_VIEW = CdsService(
    id="osteoporosis-management",
    hook="patient-view",
    title="Bone health: osteopenia and osteoporosis management",
    description=(
        "Reads DXA T- and Z-scores, fractures, FRAX results, osteoporosis drugs, glucocorticoids and bone labs, and "
        "returns guideline-based cards: WHO classification, when to treat or calculate FRAX first, calcium and "
        "vitamin D, denosumab must not lapse, bisphosphonates and kidney function, secondary-cause work-up, and when "
        "to repeat DXA. Every card states its evidence."
    ),
    usage_requirements=(
        "Needs read access to the patient's Patient, Observation, Condition, MedicationStatement, MedicationRequest, "
        "MedicationAdministration, Procedure and ServiceRequest resources, by prefetch or through fhirServer with "
        "fhirAuthorization. Patient, DXA observations and conditions are required (412 without them). Adults only."
    ),
    queries=queries_for,
    rule_set=_patient_view_rules,
    rule_ids=frozenset(PATIENT_VIEW_RULE_IDS),
    context_schema="patient-view-context",
)


# --- order hooks (decision table §10) --------------------------------------------------------------------------------

# What the order rules read: the patient (age) and labs are required (412 without them); DXA, conditions and
# medications are optional, and a card names what it could not check when they are missing.
_ORDER_QUERY_KEYS = {
    "patient": True,
    "bmd": False,
    "observations": True,
    "conditions": False,
    "medicationStatements": False,
    "medicationRequests": False,
    "medicationAdministrations": False,
}


def order_queries(terminology: Terminology) -> tuple[DataQuery, ...]:
    return tuple(
        dataclasses.replace(q, required=_ORDER_QUERY_KEYS[q.key])
        for q in queries_for(terminology)
        if q.key in _ORDER_QUERY_KEYS
    )


def _order_select_rules(facts: PatientFacts, now: datetime, context: Mapping[str, Any]) -> list[Recommendation]:
    """Only the drafts named in context.selections."""
    drafts = read_drafts(context["draftOrders"], context["selections"], patient_id=context["patientId"])
    return evaluate_orders(facts, drafts, now)


def _order_sign_rules(facts: PatientFacts, now: datetime, context: Mapping[str, Any]) -> list[Recommendation]:
    """Every draft, re-signed ones whose status is not draft included (a denosumab stop arrives that way)."""
    return evaluate_orders(facts, read_drafts(context["draftOrders"], patient_id=context["patientId"]), now)


_ORDER_USAGE = (
    "Needs read access to the patient's Patient and Observation (labs) resources, by prefetch or through fhirServer "
    "with fhirAuthorization (412 without them); DXA observations, Condition, MedicationStatement, "
    "MedicationRequest and MedicationAdministration are used when available, and a card says what it could not "
    "check. Cards speak only about the orders; each names its draft and offers to remove or replace it."
)

ORDER_SELECT = CdsService(
    id="bone-safety-order-select",
    hook="order-select",
    title="Bone safety at order entry",
    description=(
        "Checks the newly selected medication orders against kidney function, calcium, vitamin D, the denosumab "
        "schedule, other bone drugs and long-term glucocorticoid exposure (bisphosphonates, denosumab, zoledronic "
        "acid, anabolics, systemic glucocorticoids). Each card names the draft and offers to remove it or replace "
        "it with a safer alternative."
    ),
    usage_requirements=_ORDER_USAGE,
    queries=order_queries,
    rule_set=_order_select_rules,
    rule_ids=frozenset(ORDER_RULE_IDS),
    context_schema="order-select-context",
)

ORDER_SIGN = dataclasses.replace(
    ORDER_SELECT,
    id="bone-safety-order-sign",
    hook="order-sign",
    title="Bone safety at order signing",
    description=(
        "Checks every order about to be signed, re-signed orders included (a denosumab stop without a follow-on is "
        "critical), against kidney function, calcium, vitamin D, the denosumab schedule, other bone drugs and "
        "long-term glucocorticoid exposure. Each card names the draft and offers to remove it or replace it with a "
        "safer alternative."
    ),
    rule_set=_order_sign_rules,
    context_schema="order-sign-context",
)

SERVICES = ServiceRegistry([PATIENT_VIEW, ORDER_SELECT, ORDER_SIGN])
