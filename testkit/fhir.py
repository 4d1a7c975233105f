"""Build small, valid FHIR R4 resources and Bundles for tests."""

from __future__ import annotations

from typing import Any

from testkit import traffic_secrets

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def patient(pid: str, *, gender: str = "female", birth_date: str = "1955-04-02") -> dict[str, Any]:
    traffic_secrets.register("patient id", pid)
    traffic_secrets.register("birth date", birth_date)
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth_date}


def t_score(
    oid: str,
    pid: str,
    code: str,
    value: float,
    when: str,
    *,
    body_site: dict[str, Any] | None = None,
    display: str | None = None,
    unit: str = "{T-score}",
) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": LOINC, "code": code}
    if display:
        coding["display"] = display
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "imaging"}]}
        ],
        "code": {"coding": [coding]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }
    if body_site:
        obs["bodySite"] = body_site
    return obs


def lab(oid: str, pid: str, code: str, value: float, unit: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def condition(cid: str, pid: str, system: str, code: str, display: str, onset: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "verificationStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]
        },
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": onset,
    }


def searchset(resources: list[dict[str, Any]], *, next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {"fullUrl": f"urn:{r['resourceType']}:{r.get('id', i)}", "resource": r, "search": {"mode": "match"}}
            for i, r in enumerate(resources)
        ],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def transaction(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A transaction Bundle that PUTs each resource at its id (so references stay stable)."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"{r['resourceType']}/{r['id']}",
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in resources
        ],
    }


def operation_outcome(text: str = "could not run the search") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "exception", "diagnostics": text}],
    }
