"""Known client quirks, repaired before validation (decision table §1.1: "repair and read; never drop a
glucocorticoid or osteoporosis-drug entry silently").

Real EHR exports and CDS clients send resources a strict R4 server would reject, yet whose meaning is plain:

- `single-object-for-array`: an element R4 defines as an array sent as one object (`reasonCode`, `category`,
  `dosageInstruction` ..., per resource type in `ARRAY_ELEMENTS`): wrapped in a list.
- `missing-intent`: a MedicationRequest without `intent`: `"order"` for an entry on the patient's list, the
  caller's `missing_intent` otherwise (the order hooks read a draft as `"proposal"`: not yet an order).
- `single-object-dose-and-rate`: `Dosage.doseAndRate` sent as one object: wrapped in a list.
- `stu3-dose`: STU3 `doseQuantity` / `doseRange` / `rateQuantity` / `rateRatio` / `rateRange` directly under
  MedicationRequest.dosageInstruction or MedicationStatement.dosage: moved into `doseAndRate` (appended to it when
  the dosage also has one).

`repair_quirks` is the one public entry point: the patient-view extraction (`fhir_json.parse`) and the order hooks
(`order-select` / `order-sign` drafts) call it on a raw resource before validating it with the R4B models. It
never changes the caller's dict (repaired members are copied) and returns the names of the quirks it repaired, so
a caller can count or report them. Anything not in this table is left to validation: what the rules read stays
strictly validated. To add a quirk, add a row to `QUIRKS` (and a test with the resource as the client sends it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Elements that R4 defines as arrays but that some clients send as a single object (the CDS Hooks sandbox
# sends MedicationRequest.category as an object).
ARRAY_ELEMENTS: Mapping[str, tuple[str, ...]] = {
    "MedicationRequest": ("category", "dosageInstruction", "reasonCode", "reasonReference", "note", "identifier"),
    "MedicationStatement": ("category", "dosage", "reasonCode", "note", "identifier"),
    "MedicationAdministration": ("reasonCode", "note", "identifier"),
    "Observation": ("category", "component", "identifier", "referenceRange", "interpretation", "note"),
    "Condition": ("category", "bodySite", "identifier", "note"),
    "Procedure": ("bodySite", "identifier", "note", "reasonCode"),
    "ServiceRequest": ("category", "bodySite", "identifier", "note", "reasonCode"),
    "FamilyMemberHistory": ("condition", "identifier", "note"),
    "Patient": ("name", "identifier", "telecom", "address"),
    "DiagnosticReport": ("category", "result", "identifier"),
    "Appointment": ("serviceType", "reasonCode", "identifier", "participant"),
}
# Dosage members of STU3 (and of some R4 drafts) that R4 moved into Dosage.doseAndRate.
_STU3_DOSE_MEMBERS = ("doseQuantity", "doseRange", "rateQuantity", "rateRatio", "rateRange")
_DOSAGE_LISTS = {"MedicationRequest": "dosageInstruction", "MedicationStatement": "dosage"}


@dataclass(frozen=True, slots=True)
class Repaired:
    resource: dict[str, Any]  # a shallow copy, repaired
    quirks: tuple[str, ...]  # names of the quirks repaired, in table order


@dataclass(frozen=True, slots=True)
class Reading:
    """How the caller reads what a quirk leaves open."""

    missing_intent: str = "order"  # a list entry is an order; the order hooks read a draft as "proposal"


def _single_object_for_array(doc: dict[str, Any], reading: Reading) -> bool:
    repaired = False
    for key in ARRAY_ELEMENTS.get(doc.get("resourceType"), ()):  # type: ignore[arg-type]
        value = doc.get(key)
        # Absent and conformant members skip the Mapping ABC check (slow when negative): this runs on every read.
        if value is not None and type(value) is not list and isinstance(value, Mapping):
            doc[key] = [value]
            repaired = True
    return repaired


def _missing_intent(doc: dict[str, Any], reading: Reading) -> bool:
    if doc.get("resourceType") != "MedicationRequest" or "intent" in doc:
        return False
    doc["intent"] = reading.missing_intent
    return True


def _repair_dosages(doc: dict[str, Any], repair: Callable[[dict[str, Any]], dict[str, Any] | None]) -> bool:
    """Apply `repair` (a repaired copy of one Dosage, or None) to each Dosage of the resource's dosage list."""
    key = _DOSAGE_LISTS.get(doc.get("resourceType"))  # type: ignore[arg-type]
    dosages = doc.get(key) if key else None
    if type(dosages) is not list:
        return False
    fixed = [(repair(d) if type(d) is dict else None) for d in dosages]
    if all(f is None for f in fixed):
        return False
    doc[key] = [f if f is not None else d for f, d in zip(fixed, dosages, strict=True)]  # type: ignore[index]
    return True


def _dose_and_rate_object(dosage: dict[str, Any]) -> dict[str, Any] | None:
    rates = dosage.get("doseAndRate")
    if rates is None or type(rates) is list or not isinstance(rates, Mapping):
        return None
    return {**dosage, "doseAndRate": [dosage["doseAndRate"]]}


def _stu3_dosage(dosage: dict[str, Any]) -> dict[str, Any] | None:
    moved = {m: dosage[m] for m in _STU3_DOSE_MEMBERS if m in dosage}
    rates = dosage.get("doseAndRate", [])
    if not moved or type(rates) is not list:
        return None
    return {**{k: v for k, v in dosage.items() if k not in moved}, "doseAndRate": [*rates, moved]}


def _single_object_dose_and_rate(doc: dict[str, Any], reading: Reading) -> bool:
    return _repair_dosages(doc, _dose_and_rate_object)


def _stu3_dose(doc: dict[str, Any], reading: Reading) -> bool:
    return _repair_dosages(doc, _stu3_dosage)


@dataclass(frozen=True, slots=True)
class Quirk:
    name: str
    repair: Callable[[dict[str, Any], Reading], bool]  # repairs a shallow copy in place (new top-level values)


QUIRKS: tuple[Quirk, ...] = (
    Quirk("single-object-for-array", _single_object_for_array),
    Quirk("missing-intent", _missing_intent),
    Quirk("single-object-dose-and-rate", _single_object_dose_and_rate),
    Quirk("stu3-dose", _stu3_dose),
)


def repair_quirks(resource: Mapping[str, Any], reading: Reading = Reading()) -> Repaired:
    """`resource` with every known quirk of `QUIRKS` repaired (in a copy), and which ones were."""
    doc = dict(resource)  # repairs replace top-level keys only: a shallow copy protects the caller's dict
    return Repaired(doc, tuple(q.name for q in QUIRKS if q.repair(doc, reading)))
