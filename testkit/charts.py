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
