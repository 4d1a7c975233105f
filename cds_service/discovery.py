"""The discovery document (GET /cds-services): every registered service with its prefetch templates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cds_service.queries import DataQuery
from cds_service.services import PATIENT_VIEW, CdsService, ServiceRegistry


def discovery_document(services: ServiceRegistry, queries: Mapping[str, Sequence[DataQuery]]) -> dict[str, Any]:
    return {"services": [service.definition(queries[service.id]) for service in services]}


def service_definition(queries: Sequence[DataQuery], service: CdsService = PATIENT_VIEW) -> dict[str, Any]:
    """One service's discovery entry (the patient-view service unless told)."""
    return service.definition(queries)
