"""Timing script (not a test): cost of extract_facts on a 2,000-resource chart.

Run from the repository root:  PYTHONPATH=. python tests/mappings/profile_extract.py
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

from fhir_mappings.extract import extract_facts
from fhir_mappings.terminology import default_terminology

LOINC = "http://loinc.org"


def _irrelevant(i: int) -> dict[str, Any]:
    kind = i % 4
    if kind == 0:  # vital signs that are not read (heart rate, blood pressure panel...)
        return {
            "resourceType": "Observation",
            "id": f"hr{i}",
            "status": "final",
            "category": [{"coding": [{"code": "vital-signs"}]}],
            "code": {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}]},
            "subject": {"reference": "Patient/p"},
            "effectiveDateTime": "2024-01-01T10:00:00Z",
            "valueQuantity": {"value": 70 + i % 20, "unit": "/min", "code": "/min"},
        }
    if kind == 1:
        return {
            "resourceType": "Encounter",
            "id": f"e{i}",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/p"},
        }
    if kind == 2:
        return {
            "resourceType": "Condition",
            "id": f"c{i}",
            "subject": {"reference": "Patient/p"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
        }
    return {
        "resourceType": "MedicationRequest",
        "id": f"m{i}",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "314076",
                    "display": "lisinopril 10 MG Oral Tablet",
                }
            ]
        },
    }


def _relevant(i: int) -> dict[str, Any]:
    code, value, unit = random.choice(
        [
            ("38267-1", -2.1, "{T-score}"),
            ("62292-8", 24, "ng/mL"),
            ("2000-8", 2.3, "mmol/L"),
            ("98979-8", 58, "mL/min/{1.73_m2}"),
            ("29463-7", 61, "kg"),
        ]
    )
    return {
        "resourceType": "Observation",
        "id": f"r{i}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/p"},
        "effectiveDateTime": f"20{10 + i % 15}-0{1 + i % 9}-1{i % 9}",
        "valueQuantity": {"value": value, "unit": unit, "code": unit},
    }


def _cpu_ms(chart: list[dict[str, Any]], now: datetime) -> float:
    """Best of 5 x 10 runs, in CPU time (wall time is noisy on a shared machine)."""
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(10):
            extract_facts(chart, now)
        best = min(best, (time.process_time() - start) / 10)
    return best * 1000


def main() -> None:
    random.seed(1)
    default_terminology()  # loaded once at start-up, not per request
    now = datetime(2025, 6, 30, tzinfo=UTC)
    patient = {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1950-01-01"}
    irrelevant = [_irrelevant(i) for i in range(2000)]
    relevant = [_relevant(i) for i in range(100)]
    extract_facts([patient, *irrelevant, *relevant], now)  # first use imports the FHIR models
    for label, chart in (
        ("patient + 2,000 irrelevant", [patient, *irrelevant]),
        ("patient + 1,900 irrelevant + 100 relevant", [patient, *irrelevant[:1900], *relevant]),
        ("patient + 100 relevant", [patient, *relevant]),
    ):
        ms = _cpu_ms(chart, now)
        print(f"{label:>42}: {ms:7.2f} ms CPU per chart, {ms / len(chart) * 1000:7.2f} us/resource")


if __name__ == "__main__":
    main()
