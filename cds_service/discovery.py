"""The service this server advertises at GET /cds-services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cds_service.queries import DataQuery

SERVICE_ID = "osteoporosis-management"
HOOK = "patient-view"
TITLE = "Bone health: osteopenia and osteoporosis management"
DESCRIPTION = (
    "Reads DXA T- and Z-scores, fractures, FRAX results, osteoporosis drugs, glucocorticoids and bone labs, and "
    "returns guideline-based cards: WHO classification, when to treat or calculate FRAX first, calcium and "
    "vitamin D, denosumab must not lapse, bisphosphonates and kidney function, secondary-cause work-up, and when "
    "to repeat DXA. Every card states its evidence."
)
USAGE_REQUIREMENTS = (
    "Needs read access to the patient's Patient, Observation, Condition, MedicationStatement, MedicationRequest, "
    "MedicationAdministration, Procedure and ServiceRequest resources, by prefetch or through fhirServer with "
    "fhirAuthorization. Patient, DXA observations and conditions are required (412 without them). Adults only."
)


def service_definition(queries: Sequence[DataQuery]) -> dict[str, Any]:
    return {
        "hook": HOOK,
        "id": SERVICE_ID,
        "title": TITLE,
        "description": DESCRIPTION,
        "usageRequirements": USAGE_REQUIREMENTS,
        "prefetch": {query.key: query.template for query in queries},
    }
