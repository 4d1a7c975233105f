"""Planned spinal instrumentation (decision table TX-04) from ServiceRequest, Procedure or Appointment."""

from __future__ import annotations

from typing import Any

from decision_core.facts import PlannedProcedure
from fhir_mappings.fhir_json import codings, first_text, to_date
from fhir_mappings.terminology import Terminology

# Which statuses mean "planned, not done": ServiceRequest draft/active; Procedure preparation/in-progress;
# Appointment not yet fulfilled or cancelled.
_PLANNED_STATUS = {
    "ServiceRequest": frozenset({"draft", "active"}),
    "Procedure": frozenset({"preparation", "in-progress"}),
    "Appointment": frozenset({"proposed", "pending", "booked", "arrived", "checked-in", "waitlist"}),
}


def _concepts(model: Any) -> list[Any]:
    rtype = model.get_resource_type()
    if rtype == "Appointment":
        return [
            *(model.serviceType or ()),
            *(model.reasonCode or ()),
            *([model.appointmentType] if model.appointmentType else ()),
        ]
    return [model.code] if model.code is not None else []


def _planned_date(model: Any) -> Any:
    rtype = model.get_resource_type()
    if rtype == "ServiceRequest":
        timing_event = None
        if model.occurrenceTiming is not None and model.occurrenceTiming.event:
            timing_event = min(model.occurrenceTiming.event, key=str)
        return (
            to_date(model.occurrenceDateTime)
            or to_date(model.occurrencePeriod.start if model.occurrencePeriod else None)
            or to_date(timing_event)
        )
    if rtype == "Procedure":
        return to_date(model.performedDateTime) or to_date(
            model.performedPeriod.start if model.performedPeriod else None
        )
    return to_date(model.start)


def from_resource(model: Any, record: str, term: Terminology) -> list[PlannedProcedure]:
    rtype = model.get_resource_type()
    if model.status not in _PLANNED_STATUS.get(rtype, frozenset()):
        return []
    for concept in _concepts(model):
        for system, code, _ in codings(concept):
            for e in term.lookup(system, code, "procedures"):
                return [
                    PlannedProcedure(
                        kind=str(e.concept.get("kind")),
                        record=record,
                        display=first_text(concept) or e.display,
                        planned_date=_planned_date(model),
                    )
                ]
    return []
