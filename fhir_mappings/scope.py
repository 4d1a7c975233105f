"""Only this patient, only the past (decision table §6 rev-2 rows, §7.19).

`this_patient_only` is the one filter every resource passes before extraction, whether it came in a prefetch or
from the FHIR server: nested Bundles are unwrapped at every depth and each resource inside is checked, and
`contained` resources about another patient are removed from their container. `future_dated` names the clinical
date of a resource that lies after NOW + 1 day (extraction skips it and DATA-03 names it).

What is dropped is returned as `Excluded` values (type, record id, why) so that DATA-03 can name each entry; log
lines carry counts only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from fhir_mappings.fhir_json import raw_dict, raw_list, raw_str, record_id, to_date

# Nested Bundles deeper than this are not unwrapped (the strict JSON parser already bounds the nesting of a body).
_MAX_BUNDLE_DEPTH = 16


class ExclusionReason(StrEnum):
    ANOTHER_PATIENT = "another-patient"
    FUTURE_DATE = "future-date"


@dataclass(frozen=True, slots=True)
class Excluded:
    """One entry left out of the chart: what it was (resource type, record id) and why."""

    resource_type: str
    record: str
    reason: ExclusionReason
    day: date | None = None  # FUTURE_DATE: the date it carries
    where: str = "entry"  # "entry", "nested Bundle" or "contained"


@dataclass(frozen=True, slots=True)
class Screened:
    resources: list[dict[str, Any]]
    excluded: list[Excluded]


def this_patient_only(resources: Iterable[Any], patient_id: str) -> Screened:
    """The resources about `patient_id` (or about no patient in particular, e.g. Medication), with nested Bundles
    flattened at every depth and foreign contained resources removed."""
    kept: list[dict[str, Any]] = []
    excluded: list[Excluded] = []
    _screen(resources, patient_id, "Patient/" + patient_id, 0, "entry", kept, excluded)
    return Screened(kept, excluded)


def _screen(
    resources: Iterable[Any],
    patient_id: str,
    own_reference: str,
    depth: int,
    where: str,
    kept: list[dict[str, Any]],
    excluded: list[Excluded],
) -> None:
    """One plain loop per list (this runs for every resource of every hook): nested Bundles recurse in place, so
    the order of `kept` and `excluded` is the order of the entries, depth first."""
    for resource in resources:
        if type(resource) is not dict:
            continue
        kind = resource.get("resourceType")
        if kind == "Bundle" and depth < _MAX_BUNDLE_DEPTH:
            inner = [(raw_dict(e) or {}).get("resource") for e in raw_list(resource.get("entry"))]
            _screen(inner, patient_id, own_reference, depth + 1, "nested Bundle", kept, excluded)
            continue
        subject = resource.get("subject")
        # The usual record, a subject reference to this patient, is answered without belongs_to's general reading.
        usual = kind != "Patient" and type(subject) is dict and subject.get("reference") == own_reference
        if not usual and not belongs_to(resource, patient_id):
            rtype = raw_str(kind) or "resource"
            excluded.append(Excluded(rtype, _record(resource, rtype), ExclusionReason.ANOTHER_PATIENT, where=where))
            continue
        contained = resource.get("contained")
        if type(contained) is list and contained:
            own = [c for c in contained if type(c) is not dict or belongs_to(c, patient_id)]
            if len(own) < len(contained):
                for c in contained:
                    if type(c) is dict and not belongs_to(c, patient_id):
                        ctype = raw_str(c.get("resourceType")) or "resource"
                        excluded.append(
                            Excluded(ctype, _record(c, ctype), ExclusionReason.ANOTHER_PATIENT, where="contained")
                        )
                resource = {**resource, "contained": own}  # a copy: the caller's dict is not changed
        kept.append(resource)


def belongs_to(resource: Mapping[str, Any], patient_id: str) -> bool:
    """False when the resource names another patient: a Patient with another id, or a subject / patient
    reference to another Patient ("Patient/1", "https://ehr/fhir/Patient/1", "Patient/1/_history/2")."""
    kind = resource.get("resourceType")
    if kind == "Patient":
        return resource.get("id") == patient_id
    if kind == "Medication":
        return True
    for key in ("subject", "patient"):
        reference = (raw_dict(resource.get(key)) or {}).get("reference")
        if isinstance(reference, str):
            if reference == "Patient/" + patient_id:  # the usual form, answered without splitting
                return True
            parts = reference.split("/")
            return any(part == "Patient" and parts[i + 1] == patient_id for i, part in enumerate(parts[:-1]))
    return True  # no literal patient reference: the search was by patient, so keep it


# Clinical dates (§6: effective, onset, administration, authored, issued). Planned dates (ServiceRequest
# occurrence, Appointment start, a dosage's bounds) are about the future by nature and are not checked.
_CLINICAL_DATES: Mapping[str, tuple[str, ...]] = {
    "Observation": ("effectiveDateTime", "effectiveInstant", "effectivePeriod", "issued"),
    "DiagnosticReport": ("effectiveDateTime", "effectivePeriod", "issued"),
    "Condition": ("onsetDateTime", "onsetPeriod", "recordedDate"),
    "Procedure": ("performedDateTime", "performedPeriod"),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod", "dateAsserted"),
    "MedicationAdministration": ("effectiveDateTime", "effectivePeriod"),
    "MedicationRequest": ("authoredOn",),
    "FamilyMemberHistory": ("date",),
}


_PLANNED_STATUS = frozenset({"preparation"})


def future_dated(resource: Mapping[str, Any], today: date) -> date | None:
    """The first clinical date of `resource` after `today` + 1 day, or None."""
    limit = today + timedelta(days=1)
    if raw_str(resource.get("status")) in _PLANNED_STATUS:
        return None  # a Procedure in preparation is planned: its date is meant to lie ahead (TX-04)
    for key in _CLINICAL_DATES.get(raw_str(resource.get("resourceType")) or "", ()):
        value = resource.get(key)
        if type(value) is dict:
            value = value.get("start")
        day = to_date(value) if isinstance(value, str) else None
        if day is not None and day > limit:
            return day
    return None


def _record(resource: Mapping[str, Any], rtype: str) -> str:
    return record_id(rtype, resource.get("id"), 0).replace("/#0", "")
