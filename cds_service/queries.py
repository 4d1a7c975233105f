"""The FHIR data the service reads: one list, used both for discovery prefetch templates and for fetching.

Code lists come from fhir_mappings' reviewed terminology data, never typed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fhir_mappings.terminology import Terminology


@dataclass(frozen=True)
class DataQuery:
    key: str  # prefetch key
    template: str  # relative FHIR URL with {{context.patientId}}
    resource_types: tuple[str, ...]  # resource types this query may return (Bundles are unwrapped)
    domain: str  # data domain named in facts.unavailable / facts.partial
    required: bool  # without it no safe advice is possible: 412 when it cannot be obtained

    def url(self, patient_id: str) -> str:
        return self.template.replace("{{context.patientId}}", patient_id)


PATIENT = "{{context.patientId}}"


def build_queries(bmd_codes: Sequence[str], observation_codes: Sequence[str]) -> tuple[DataQuery, ...]:
    """All queries, in prefetch order. `*_codes` are "system|code" tokens."""
    return (
        DataQuery("patient", f"Patient/{PATIENT}", ("Patient",), "patient", True),
        DataQuery(
            "bmd",
            f"Observation?patient={PATIENT}&code={','.join(bmd_codes)}&_sort=-date&_count=200",
            ("Observation",),
            "dxa",
            True,
        ),
        DataQuery(
            "observations",
            f"Observation?patient={PATIENT}&code={','.join(observation_codes)}&_sort=-date&_count=200",
            ("Observation",),
            "labs",
            False,
        ),
        DataQuery("conditions", f"Condition?patient={PATIENT}&_count=200", ("Condition",), "conditions", True),
        DataQuery(
            "medicationStatements",
            f"MedicationStatement?patient={PATIENT}&_count=200",
            ("MedicationStatement", "Medication"),
            "medications",
            False,
        ),
        DataQuery(
            "medicationRequests",
            f"MedicationRequest?patient={PATIENT}&_count=200",
            ("MedicationRequest", "Medication"),
            "medications",
            False,
        ),
        DataQuery(
            "medicationAdministrations",
            f"MedicationAdministration?patient={PATIENT}&_count=200",
            ("MedicationAdministration", "Medication"),
            "medications",
            False,
        ),
        DataQuery("procedures", f"Procedure?patient={PATIENT}&_count=200", ("Procedure",), "procedures", False),
        DataQuery(
            "serviceRequests",
            f"ServiceRequest?patient={PATIENT}&status=draft,active&_count=200",
            ("ServiceRequest",),
            "procedures",
            False,
        ),
    )


def queries_for(terminology: Terminology) -> tuple[DataQuery, ...]:
    """DXA codes get their own (required) query; FRAX, labs and vitals share the optional one."""
    observation_codes = terminology.search_codes("observation")
    dxa = {entry.token for entry in terminology.entries("dxa")}
    return build_queries([c for c in observation_codes if c in dxa], [c for c in observation_codes if c not in dxa])
