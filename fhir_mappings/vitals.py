"""Weight, height, BMI, smoking and alcohol (FRAX inputs, UNIV-01) -> facts.Lifestyle (latest of each)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from decision_core.facts import DataIssue, Lifestyle, Measured, SmokingStatus
from fhir_mappings.observations import Qty
from fhir_mappings.terminology import CodeEntry
from fhir_mappings.units import convert, parse_unit

_TARGET = {
    "weight": ("kg", "Body weight"),
    "height": ("cm", "Body height"),
    "bmi": ("kg/m2", "BMI"),
    "alcohol": ("{drinks}/d", "Alcoholic drinks per day"),
}
_AFFECTS = {
    "weight": ("RISK-01",),
    "height": ("RISK-01",),
    "bmi": ("RISK-01", "DATA-01"),
    "alcohol": ("RISK-01", "DATA-01", "UNIV-01"),
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
    affects = tuple(entry.attr("affects", _AFFECTS[measure]))
    if value is None or value.value is None:
        return DataIssue(item, "no numeric value", record, affects)
    shown = value.code or value.unit
    if shown is None or not shown.strip():
        return DataIssue(item, "unit missing", record, affects)
    unit = parse_unit(value.code) or parse_unit(value.unit)
    converted = convert(value.value, unit, target) if unit is not None else None
    if converted is None:
        return DataIssue(item, f"unit '{shown}' not recognised", record, affects)
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
