"""Builders for raw FHIR R4 JSON used by the mapping tests (plain dicts, as a FHIR server returns them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
ATC = "http://www.whocc.no/atc"
CPT = "http://www.ama-assn.org/go/cpt"


def patient(pid: str = "p1", gender: str = "female", birth: str = "1955-04-12") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"system": system, "code": code}
    if display is not None:
        c["display"] = display
    return c


def quantity(value: Any, unit: str | None = None, code: str | None = None, system: str | None = UCUM) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value}
    if unit is not None:
        q["unit"] = unit
    if code is not None:
        q["code"] = code
        if system is not None:
            q["system"] = system
    return q


def obs(
    oid: str,
    code: str,
    value: Any = None,
    *,
    unit: str | None = None,
    ucum: str | None = None,
    system: str = LOINC,
    display: str | None = None,
    text: str | None = None,
    when: str = "2025-01-15",
    status: str = "final",
    body_site: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    code_cc: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text is not None:
        code_cc["text"] = text
    o: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": code_cc,
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
    }
    if value is not None:
        o["valueQuantity"] = quantity(value, unit, ucum)
    if body_site is not None:
        o["bodySite"] = body_site
    o.update(extra)
    return o


def condition(
    cid: str,
    *codings: dict[str, Any],
    onset: str | None = "2024-03-01",
    clinical: str = "active",
    verification: str = "confirmed",
    **extra: Any,
) -> dict[str, Any]:
    c: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": list(codings)},
        "clinicalStatus": {"coding": [coding("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical)]},
        "verificationStatus": {
            "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", verification)]
        },
    }
    if onset is not None:
        c["onsetDateTime"] = onset
    c.update(extra)
    return c


def daily_dosage(
    dose: dict[str, Any] | None = None, frequency: int = 1, period: Any = 1, unit: str = "d", **extra: Any
) -> dict[str, Any]:
    d: dict[str, Any] = {"timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": unit}}}
    if dose is not None:
        d["doseAndRate"] = [{"doseQuantity": dose}]
    d.update(extra)
    return d


def med_request(
    mid: str,
    med: dict[str, Any],
    *,
    status: str = "active",
    intent: str = "order",
    authored: str = "2025-01-01",
    dosage: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": intent,
        "subject": {"reference": "Patient/p1"},
        "authoredOn": authored,
        **med,
    }
    if dosage is not None:
        r["dosageInstruction"] = dosage
    r.update(extra)
    return r


def med_statement(
    mid: str,
    med: dict[str, Any],
    *,
    status: str = "active",
    dosage: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": mid,
        "status": status,
        "subject": {"reference": "Patient/p1"},
        **med,
    }
    if dosage is not None:
        r["dosage"] = dosage
    r.update(extra)
    return r


def med_admin(
    mid: str,
    med: dict[str, Any],
    *,
    status: str = "completed",
    when: str = "2025-01-10",
    dose: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": mid,
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        **med,
    }
    if dose is not None:
        r["dosage"] = {"dose": dose}
    r.update(extra)
    return r


def rx(code: str, display: str | None = None, system: str = RXNORM, text: str | None = None) -> dict[str, Any]:
    cc: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text is not None:
        cc["text"] = text
    return {"medicationCodeableConcept": cc}
