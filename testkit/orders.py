"""Order-hook test data as real clients send it: draft MedicationRequests in the CDS Hooks sandbox's shape (no
`intent`, `category` and `reasonCode` as single objects, a `1 {pill}` dose, `expectedSupplyDuration`), in the
spec's R4 example shape (`doseQuantity` directly under `dosageInstruction`), and strictly valid R4; the
order-select / order-sign requests around them; and the chart entries the order rules read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from testkit import traffic_secrets
from testkit.fhir import LOINC, RXNORM, searchset

UCUM = "http://unitsofmeasure.org"
USER = "Practitioner/COREPRACTITIONER1"

# RxNorm codes as the sandbox (and EHRs) send them: clinical drugs (SCD), from its RxNorm subset
# (fhir_mappings/drugs/codes/rxnorm-bone-drugs.tsv) and codes/medications.yaml.
ALENDRONATE_70 = ("904431", "Alendronic acid 70 MG Oral Tablet")
ALENDRONATE_10 = ("904419", "Alendronic acid 10 MG Oral Tablet")  # Synthea's: what a chart on file holds
PREDNISONE_5 = ("312617", "Prednisone 5 MG Oral Tablet")
DENOSUMAB_60 = ("993452", "1 ML denosumab 60 MG/ML Prefilled Syringe")
ZOLEDRONIC_ACID = ("77655", "zoledronic acid")
METFORMIN_500 = ("861007", "metformin hydrochloride 500 MG Oral Tablet")

SHAPES = ("sandbox", "spec", "r4")


def _concept(drug: tuple[str, str], text: str | None = None) -> dict[str, Any]:
    code, display = drug
    return {"coding": [{"system": RXNORM, "code": code, "display": display}], "text": text or display}


def draft_request(
    rid: str,
    pid: str,
    drug: tuple[str, str] | None,
    *,
    shape: str = "sandbox",
    status: str = "draft",
    dose: Mapping[str, Any] | None = None,
    timing: Mapping[str, Any] | None = None,
    supply_days: int | None = None,
    repeats: int | None = None,
    bounds: Mapping[str, Any] | None = None,
    authored: str = "2026-11-25",
    text: str | None = None,
) -> dict[str, Any]:
    """A draft MedicationRequest. `shape` "sandbox": what the sandbox's Rx View / Rx Sign sends (no intent,
    single-object category and reasonCode, `1 {pill}`); "r4": strictly valid R4 (intent, arrays, doseAndRate);
    "spec": the spec's R4 example (doseQuantity directly under dosageInstruction)."""
    dose = dose if dose is not None else {"value": 1, "unit": "{pill}", "system": UCUM, "code": "{pill}"}
    repeat: dict[str, Any] = dict(timing if timing is not None else {"frequency": 1, "period": 1, "periodUnit": "d"})
    if bounds:
        repeat.update(bounds)
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": authored,
    }
    if drug is not None:
        resource["medicationCodeableConcept"] = _concept(drug, text)
    category = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": "outpatient"}]
    }
    dosage: dict[str, Any] = {"timing": {"repeat": repeat}}
    if shape == "sandbox":
        resource["category"] = category
        resource["reasonCode"] = {"text": "Osteoporosis"}
        dosage["doseAndRate"] = [{"doseQuantity": dict(dose)}]
    elif shape == "spec":
        resource["intent"] = "proposal"
        dosage["doseQuantity"] = dict(dose)
    else:
        resource["intent"] = "proposal"
        resource["category"] = [category]
        dosage["doseAndRate"] = [{"doseQuantity": dict(dose)}]
    resource["dosageInstruction"] = [dosage]
    if supply_days is not None:
        dispense: dict[str, Any] = {
            "expectedSupplyDuration": {"value": supply_days, "unit": "days", "system": UCUM, "code": "d"}
        }
        if repeats is not None:
            dispense["numberOfRepeatsAllowed"] = repeats
        resource["dispenseRequest"] = dispense
    return resource


def draft_orders(*resources: Mapping[str, Any]) -> dict[str, Any]:
    """`context.draftOrders` as the sandbox sends it: a Bundle without `type`."""
    return {"resourceType": "Bundle", "entry": [{"resource": dict(r)} for r in resources]}


def order_request(
    hook: str,
    pid: str,
    drafts: Mapping[str, Any],
    *,
    selections: Sequence[str] | None = None,
    prefetch: Mapping[str, Any] | None = None,
    fhir_server: str | None = None,
) -> dict[str, Any]:
    traffic_secrets.register("patient id", pid)
    context: dict[str, Any] = {"userId": USER, "patientId": pid, "draftOrders": dict(drafts)}
    if hook == "order-select":
        context["selections"] = list(selections or [])
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context}
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
    if prefetch is not None:
        body["prefetch"] = dict(prefetch)
    return body


# --- chart entries --------------------------------------------------------------------------------------------------


def observation(
    oid: str, pid: str, code: str, value: float, unit: str, when: str, *, low: float | None = None
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if low is not None:
        obs["referenceRange"] = [{"low": {"value": low, "unit": unit, "system": UCUM, "code": unit}}]
    return obs


def egfr(pid: str, value: float, when: str = "2026-11-01") -> dict[str, Any]:
    return observation(f"{pid}-egfr", pid, "98979-8", value, "mL/min/{1.73_m2}", when)


def calcium(pid: str, value: float, when: str = "2026-11-10", *, low: float | None = None) -> dict[str, Any]:
    return observation(f"{pid}-ca", pid, "17861-6", value, "mg/dL", when, low=low)


def vitamin_d(pid: str, value: float, when: str = "2026-10-01") -> dict[str, Any]:
    return observation(f"{pid}-vitd", pid, "62292-8", value, "ng/mL", when)


def administration(aid: str, pid: str, drug: tuple[str, str], when: str, text: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": "completed",
        "medicationCodeableConcept": _concept(drug, text),
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
    }


def active_order(rid: str, pid: str, drug: tuple[str, str], start: str, *, per_week: bool = False) -> dict[str, Any]:
    """A signed, active MedicationRequest on file (current therapy)."""
    timing = {"frequency": 1, "period": 1, "periodUnit": "wk" if per_week else "d"}
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": _concept(drug),
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": start,
        "dosageInstruction": [
            {
                "timing": {"repeat": {**timing, "boundsPeriod": {"start": start}}},
                "route": {"text": "oral"},
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet", "system": UCUM, "code": "{tbl}"}}],
            }
        ],
    }


def esophageal_condition(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"{pid}-achalasia",
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "code": {
            "coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "K22.0", "display": "Achalasia of cardia"}
            ],
            "text": "Achalasia of cardia",
        },
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": "2019-05-01",
    }


def order_prefetch(chart: Sequence[Mapping[str, Any]], pid: str) -> dict[str, Any]:
    """The order services' prefetch, filled from `chart` by resource type (labs go under `observations`)."""
    by_type = {
        "observations": "Observation",
        "conditions": "Condition",
        "medicationStatements": "MedicationStatement",
        "medicationRequests": "MedicationRequest",
        "medicationAdministrations": "MedicationAdministration",
    }
    patient = next((dict(r) for r in chart if r["resourceType"] == "Patient" and r.get("id") == pid), None)
    prefetch: dict[str, Any] = {"patient": patient, "bmd": searchset([])}
    for key, kind in by_type.items():
        prefetch[key] = searchset([dict(r) for r in chart if r["resourceType"] == kind])
    return prefetch
