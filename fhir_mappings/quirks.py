"""Known client quirks, repaired before validation (decision table §1.1: "repair and read; never drop a
glucocorticoid or osteoporosis-drug entry silently").

Real EHR exports and CDS clients send resources a strict R4 server would reject, yet whose meaning is plain:

- `single-object-for-array`: an element R4 defines as an array sent as one object (`reasonCode`, `category`,
  `dosageInstruction` ..., per resource type in `ARRAY_ELEMENTS`): wrapped in a list.
- `missing-intent`: a MedicationRequest without `intent`: `"order"` (an entry on the patient's list is an order).
- `stu3-dose`: STU3 `doseQuantity` / `doseRange` / `rateQuantity` / `rateRatio` / `rateRange` directly under
  MedicationRequest.dosageInstruction or MedicationStatement.dosage: moved into `doseAndRate[0]`.

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
    "MedicationRequest": ("category", "dosageInstruction", "reasonCode", "note", "identifier"),
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


def _single_object_for_array(doc: dict[str, Any]) -> bool:
    repaired = False
    for key in ARRAY_ELEMENTS.get(doc.get("resourceType"), ()):  # type: ignore[arg-type]
        if isinstance(doc.get(key), Mapping):
            doc[key] = [doc[key]]
            repaired = True
    return repaired


def _missing_intent(doc: dict[str, Any]) -> bool:
    if doc.get("resourceType") != "MedicationRequest" or "intent" in doc:
        return False
    doc["intent"] = "order"
    return True


def _stu3_dose(doc: dict[str, Any]) -> bool:
    key = _DOSAGE_LISTS.get(doc.get("resourceType"))  # type: ignore[arg-type]
    dosages = doc.get(key) if key else None
    if type(dosages) is not list:
        return False
    repaired = False
    fixed: list[Any] = []
    for dosage in dosages:
        if type(dosage) is dict and any(m in dosage for m in _STU3_DOSE_MEMBERS) and "doseAndRate" not in dosage:
            moved = {m: dosage[m] for m in _STU3_DOSE_MEMBERS if m in dosage}
            dosage = {k: v for k, v in dosage.items() if k not in moved}
            dosage["doseAndRate"] = [moved]
            repaired = True
        fixed.append(dosage)
    if repaired:
        doc[key] = fixed  # type: ignore[index]
    return repaired


@dataclass(frozen=True, slots=True)
class Quirk:
    name: str
    repair: Callable[[dict[str, Any]], bool]  # repairs a shallow copy in place (new values for top-level keys)


QUIRKS: tuple[Quirk, ...] = (
    Quirk("single-object-for-array", _single_object_for_array),
    Quirk("missing-intent", _missing_intent),
    Quirk("stu3-dose", _stu3_dose),
)


def repair_quirks(resource: Mapping[str, Any]) -> Repaired:
    """`resource` with every known quirk of `QUIRKS` repaired (in a copy), and which ones were."""
    doc = dict(resource)  # repairs replace top-level keys only: a shallow copy protects the caller's dict
    return Repaired(doc, tuple(q.name for q in QUIRKS if q.repair(doc)))
