"""Weight, height, BMI, smoking and alcohol (FRAX inputs, bone-health basics) -> facts.Lifestyle (latest of each)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from decision_core.facts import DataDomain, DataIssue, IssueKind, Lifestyle, Measured, SmokingStatus, Vital
from fhir_mappings.observations import Qty
from fhir_mappings.terminology import CodeEntry
from fhir_mappings.unit_conversion import convert, parse_unit

_TARGET = {
    "weight": ("kg", "Body weight"),
    "height": ("cm", "Body height"),
    "bmi": ("kg/m2", "BMI"),
    "alcohol": ("{drinks}/d", "Alcoholic drinks per day"),
}


@dataclass(frozen=True, slots=True)
class VitalReading:
    measure: str  # weight | height | bmi | alcohol | smoking
    effective: date
    record: str
    measured: Measured | None = None
    smoking: SmokingStatus | None = None


def reading(entry: CodeEntry, value: Qty | None, *, effective: date, record: str) -> VitalReading | DataIssue:
    measure = entry.concept.get("measure")
    target, label = _TARGET[measure]
    item = f"{label} {effective.isoformat()}"

    def issue(reason: str, kind: IssueKind) -> DataIssue:
        return DataIssue(item, reason, record, kind=kind, domain=DataDomain.VITALS, topic=Vital(measure))

    if value is None or value.value is None:
        return issue("no numeric value", IssueKind.NO_VALUE)
    shown = value.code or value.unit
    if shown is None or not shown.strip():
        return issue("unit missing", IssueKind.UNIT_MISSING)
    unit = parse_unit(value.code) or parse_unit(value.unit)
    converted = convert(value.value, unit, target) if unit is not None else None
    if converted is None:
        return issue(f"unit '{shown}' not recognised", IssueKind.UNIT_NOT_RECOGNISED)
    return VitalReading(measure, effective, record, measured=Measured(converted, effective, record))


def smoking_reading(answer_entries: Iterable[CodeEntry], *, effective: date, record: str) -> VitalReading | None:
    for e in answer_entries:
        answer = e.concept.get("answer")
        if answer is not None:
            return VitalReading("smoking", effective, record, smoking=SmokingStatus(answer))
    return None


def lifestyle(readings: Iterable[VitalReading]) -> Lifestyle:
    latest: dict[str, VitalReading] = {}
    for r in sorted(readings, key=lambda r: (r.effective, r.record)):
        latest[r.measure] = r  # later wins

    def m(key: str) -> Measured | None:
        r = latest.get(key)
        return r.measured if r is not None else None

    smoking = latest.get("smoking")
    return Lifestyle(
        weight_kg=m("weight"),
        height_cm=m("height"),
        bmi=m("bmi"),
        smoking=smoking.smoking if smoking is not None and smoking.smoking is not None else SmokingStatus.UNKNOWN,
        alcohol_units_per_day=m("alcohol"),
    )
