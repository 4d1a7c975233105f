"""Small charts used by the HTTP tests."""

from __future__ import annotations

from typing import Any

from testkit import fhir

PATIENT_ID = "osteo-1"


def osteoporosis_chart(pid: str = PATIENT_ID) -> list[dict[str, Any]]:
    """A 71-year-old woman whose DXA shows osteoporosis at the lumbar spine."""
    return [
        fhir.patient(pid, gender="female", birth_date="1955-04-02"),
        fhir.t_score("dxa-ls", pid, "38267-1", -2.7, "2026-06-15", display="DXA Lumbar spine [T-score] Bone density"),
        fhir.t_score("dxa-th", pid, "38264-8", -1.9, "2026-06-15", display="DXA Hip [T-score] Bone density"),
    ]


def denosumab_without_dose_dates_chart(pid: str = "osteo-dmab-undated") -> list[dict[str, Any]]:
    """A 69-year-old woman on denosumab whose medication list carries no date of any dose (SAFE-01 cannot run).

    Written as an EHR medication list exports it: an active MedicationStatement coded at the RxNorm clinical-drug
    level, the brand in `text`, the schedule only as free text.
    """
    return [
        fhir.patient(pid, gender="female", birth_date="1957-09-12"),
        fhir.t_score(
            "dmab-dxa-ls", pid, "38267-1", -2.6, "2026-05-04", display="DXA Lumbar spine [T-score] Bone density"
        ),
        fhir.t_score("dmab-dxa-th", pid, "38264-8", -2.2, "2026-05-04", display="DXA Hip [T-score] Bone density"),
        fhir.lab("dmab-egfr", pid, "98979-8", 64, "mL/min/{1.73_m2}", "2026-09-30"),
        {
            "resourceType": "MedicationStatement",
            "id": "dmab-statement",
            "status": "active",
            "medicationCodeableConcept": {
                "coding": [
                    {
                        "system": fhir.RXNORM,
                        "code": "993452",
                        "display": "1 ML denosumab 60 MG/ML Prefilled Syringe",
                    }
                ],
                "text": "Prolia 60 mg/mL prefilled syringe",
            },
            "subject": {"reference": f"Patient/{pid}"},
            "dosage": [{"text": "60 mg subcutaneously every 6 months"}],
        },
    ]


def uninterpretable_results_chart(pid: str = "osteo-unreadable") -> list[dict[str, Any]]:
    """A 76-year-old man whose results arrive the way interfaces damage them: a T-score without a date, units
    missing or unknown, an implausible eGFR, two same-day TSH results that disagree, a FRAX without its unit, a
    body weight without a unit, and prednisone ordered with the dose only in free text."""
    undated = fhir.t_score("bad-dxa-ls", pid, "38267-1", -2.9, "2026-02-10", display="DXA Lumbar spine [T-score]")
    del undated["effectiveDateTime"]
    vitamin_d = fhir.lab("bad-vitd", pid, "62292-8", 18, "ng/mL", "2026-10-02")
    del vitamin_d["valueQuantity"]["unit"], vitamin_d["valueQuantity"]["code"], vitamin_d["valueQuantity"]["system"]
    weight = fhir.lab("bad-weight", pid, "29463-7", 71, "kg", "2026-10-02")
    weight["valueQuantity"] = {"value": 71}
    frax = fhir.lab("bad-frax-mof", pid, "90265-0", 14, "%", "2026-02-10")
    frax["valueQuantity"] = {"value": 14}
    return [
        fhir.patient(pid, gender="male", birth_date="1950-02-20"),
        fhir.t_score(
            "bad-dxa-fn",
            pid,
            "38263-0",
            -2.1,
            "2026-02-10",
            display="DXA Femur [T-score] Bone density",
            body_site={"coding": [{"system": fhir.SNOMED, "code": "29627003"}], "text": "Left femoral neck"},
        ),
        undated,
        vitamin_d,
        fhir.lab("bad-calcium", pid, "17861-6", 2.3, "mmol", "2026-10-02"),
        fhir.lab("bad-egfr", pid, "98979-8", 400, "mL/min/{1.73_m2}", "2026-10-02"),
        fhir.lab("tsh-a", pid, "3016-3", 1.2, "m[IU]/L", "2026-10-02"),
        fhir.lab("tsh-b", pid, "3016-3", 4.8, "m[IU]/L", "2026-10-02"),
        frax,
        weight,
        {
            "resourceType": "MedicationRequest",
            "id": "pred-order",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": [{"system": fhir.RXNORM, "code": "312617", "display": "prednisone 5 MG Oral Tablet"}],
                "text": "predniSONE 5 mg tablet",
            },
            "subject": {"reference": f"Patient/{pid}"},
            "authoredOn": "2026-06-01",
            "dosageInstruction": [{"text": "Take as directed"}],
        },
    ]
