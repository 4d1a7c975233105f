"""Read an order hook's `draftOrders` into the decision core's draft orders (decision table §10, §1.1).

Drafts arrive with client quirks and are read leniently, never silently dropped: a Bundle without `type` (read
here), and the quirks of the resource itself repaired by `fhir_mappings.quirks`, the one table patient-view uses
too (a MedicationRequest without `intent`, `category` / `reasonCode` as a single object as the CDS Hooks sandbox
sends them, `doseQuantity` directly under `dosageInstruction` as in the spec's own example); a "1 {pill}" dose with
no strength takes the strength from the clinical-drug name. A draft that names a covered
drug but cannot be read becomes `DraftKind.UNREADABLE`, so a card can say the service could not check it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from decision_core.dates import add_months
from decision_core.drafts import DraftKind, DraftOrder, DraftStatus
from decision_core.facts import DrugClass
from decision_core.glucocorticoids import PREDNISONE_EQUIVALENT_FACTORS
from fhir_mappings.drugs import DrugCatalog, DrugRecognition, UnclassifiedDrug, daily_dose_mg, recognise_resource
from fhir_mappings.drugs.units import days_per
from fhir_mappings.quirks import Reading, repair_quirks

_COVERED = frozenset(
    {
        DrugClass.BISPHOSPHONATE_ORAL,
        DrugClass.ZOLEDRONIC_ACID,
        DrugClass.DENOSUMAB,
        DrugClass.ANABOLIC,
        DrugClass.SERM,
        DrugClass.CALCITONIN,
        DrugClass.GLUCOCORTICOID,
    }
)
_ENDING = frozenset({"stopped", "cancelled", "on-hold", "completed"})
DRAFT_READING = Reading(missing_intent="proposal")
_MAX_DRAFTS = 200  # more drafts than any order session holds: the rest are reported as not checked


def repair_medication_request(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a client-sent draft MedicationRequest with its client quirks repaired (`fhir_mappings.quirks`, the
    same table as patient-view), a missing `intent` read as "proposal" (a draft order is not yet an order)."""
    return repair_quirks(resource, DRAFT_READING).resource


def _entries(draft_orders: Any) -> Iterator[Mapping[str, Any]]:
    """The resources of `draftOrders`: a Bundle (with or without `type`; nested Bundles opened), or one resource."""
    if not isinstance(draft_orders, Mapping):
        return
    if draft_orders.get("resourceType") != "Bundle" and "entry" not in draft_orders:
        yield draft_orders
        return
    for entry in draft_orders.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and resource.get("resourceType") == "Bundle":
            yield from _entries(resource)
        elif isinstance(resource, Mapping):
            yield resource
        else:
            yield {}


def _reference(resource: Mapping[str, Any]) -> str | None:
    kind, rid = resource.get("resourceType"), resource.get("id")
    return f"{kind}/{rid}" if isinstance(kind, str) and isinstance(rid, str) and rid else None


def _selected(reference: str | None, selections: Sequence[str] | None) -> bool:
    if selections is None:
        return True
    if reference is None:
        return False
    rid = reference.split("/", 1)[1]
    return any(s in (reference, rid) or s.endswith("/" + reference) for s in selections if isinstance(s, str))


def _status(resource: Mapping[str, Any]) -> DraftStatus:
    status = _text(resource.get("status"))
    if resource.get("doNotPerform") is True or status in _ENDING:
        return DraftStatus.ENDING
    if status == "draft":
        return DraftStatus.DRAFT
    if status == "active":
        return DraftStatus.ACTIVE
    return DraftStatus.OTHER


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _days(quantity: Any) -> Fraction | None:
    """A Duration in days (value x the days of its unit)."""
    if not isinstance(quantity, Mapping) or isinstance(quantity.get("value"), bool):
        return None
    try:
        value = Fraction(str(quantity.get("value")))
    except (ValueError, ZeroDivisionError):
        return None
    for unit in (quantity.get("code"), quantity.get("unit")):
        per = days_per(unit) if isinstance(unit, str) else None
        if per is not None and value > 0:
            return value * per
    return None


def _repeat(dosage: Mapping[str, Any]) -> Mapping[str, Any]:
    timing = dosage.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
    return repeat if isinstance(repeat, Mapping) else {}


def _planned(resource: Mapping[str, Any], dosages: list[Mapping[str, Any]]) -> tuple[int | None, date | None]:
    """Planned days and start: boundsPeriod (inclusive days), boundsDuration, else the supply duration x
    (1 + repeats); the start is boundsPeriod.start, else authoredOn."""
    start = None
    for dosage in dosages:
        repeat = _repeat(dosage)
        period = repeat.get("boundsPeriod")
        if isinstance(period, Mapping):
            start = start or _date(period.get("start"))
            end = _date(period.get("end"))
            if start and end and end >= start:
                return (end - start).days + 1, start
        duration = repeat.get("boundsDuration")
        if isinstance(duration, Mapping):
            unit = duration.get("code") or duration.get("unit")
            begin = start or _date(resource.get("authoredOn"))
            if begin and unit in ("mo", "month", "months") and isinstance(duration.get("value"), int):
                return (add_months(begin, duration["value"]) - begin).days, begin
            days = _days(duration)
            if days is not None:
                return int(days), start or _date(resource.get("authoredOn"))
    dispense = resource.get("dispenseRequest")
    if isinstance(dispense, Mapping):
        supply = _days(dispense.get("expectedSupplyDuration"))
        repeats = dispense.get("numberOfRepeatsAllowed", 0)
        if supply is not None and isinstance(repeats, int) and not isinstance(repeats, bool) and repeats >= 0:
            return int(supply * (1 + repeats)), start or _date(resource.get("authoredOn"))
    return None, start or _date(resource.get("authoredOn"))


def _daily_prednisone(
    recognition: DrugRecognition, dosages: list[Mapping[str, Any]]
) -> tuple[Decimal | None, str | None]:
    """Prednisone-equivalent mg/day of the order's (summed) dosage lines, or why it cannot be read."""
    factor = PREDNISONE_EQUIVALENT_FACTORS.get(recognition.primary.name.lower())
    if factor is None:
        return None, f"no prednisone equivalent is defined for {recognition.primary.name}"
    if not dosages:
        return None, "no dosage is recorded"
    total = Decimal(0)
    for dosage in dosages:
        rates = dosage.get("doseAndRate")
        first = rates[0] if isinstance(rates, list) and rates and isinstance(rates[0], Mapping) else {}
        repeat = _repeat(dosage)
        dose = daily_dose_mg(
            recognition,
            first.get("doseQuantity"),
            frequency=repeat.get("frequency") if isinstance(repeat.get("frequency"), int) else None,
            period=repeat.get("period") if isinstance(repeat.get("period"), int | float | str) else None,
            period_unit=repeat.get("periodUnit") if isinstance(repeat.get("periodUnit"), str) else None,
        )
        if dose.mg_per_day is None:
            return None, dose.reason or "the daily dose could not be read"
        total += dose.mg_per_day
    return total * factor, None


def _display(resource: Mapping[str, Any], recognition: Any) -> str:
    concept = resource.get("medicationCodeableConcept")
    if isinstance(concept, Mapping):
        if isinstance(concept.get("text"), str) and concept["text"].strip():
            return concept["text"].strip()
        for coding in concept.get("coding") or ():
            if isinstance(coding, Mapping) and isinstance(coding.get("display"), str):
                return coding["display"]
    return getattr(recognition, "display", None) or "medication"


def _medication_draft(
    resource: Mapping[str, Any],
    medications: Mapping[str, Mapping[str, Any]],
    base: dict[str, Any],
    catalog: DrugCatalog | None,
) -> DraftOrder:
    repaired = repair_medication_request(resource)
    if repaired.get("medicationCodeableConcept") is None and repaired.get("medicationReference") is None:
        return DraftOrder(**base, kind=DraftKind.EMPTY, display="no medication chosen yet")
    recognition = recognise_resource(repaired, medications, catalog=catalog)
    display = _display(repaired, recognition)
    if recognition is None:
        return DraftOrder(**base, kind=DraftKind.NOT_COVERED, display=display)
    if isinstance(recognition, UnclassifiedDrug):
        return DraftOrder(**base, kind=DraftKind.UNREADABLE, display=display, problem=recognition.describe())
    drug_class = DrugClass(recognition.primary.drug_class.value) if recognition.primary else None
    if drug_class not in _COVERED:
        return DraftOrder(**base, kind=DraftKind.NOT_COVERED, display=display)
    if drug_class is DrugClass.GLUCOCORTICOID and not recognition.systemic_glucocorticoid:
        return DraftOrder(**base, kind=DraftKind.NOT_COVERED, display=display)  # inhaled, topical: not C-07
    dosages = [d for d in repaired.get("dosageInstruction") or () if isinstance(d, Mapping)]
    planned_days, start = _planned(repaired, dosages)
    fields: dict[str, Any] = {
        "display": display,
        "drug_class": drug_class,
        "drug": recognition.primary.name.lower(),
        "product": recognition.product_name,
        "oncology": recognition.oncology,
        "matched_by_name": recognition.method.value == "name",
        "route": recognition.route.value if recognition.route else None,
        "planned_days": planned_days,
        "start": start,
    }
    if drug_class is DrugClass.GLUCOCORTICOID:
        dose, problem = _daily_prednisone(recognition, dosages)
        if dose is None and base["status"] is not DraftStatus.ENDING:
            return DraftOrder(
                **base, **fields, kind=DraftKind.UNREADABLE, dose_problem=problem, problem=f"daily dose: {problem}"
            )
        fields["prednisone_eq_mg_per_day"] = dose
        fields["dose_problem"] = problem
    return DraftOrder(**base, **fields, kind=DraftKind.MEDICATION)


def read_drafts(
    draft_orders: Any,
    selections: Sequence[str] | None = None,
    *,
    patient_id: str | None = None,
    catalog: DrugCatalog | None = None,
) -> tuple[DraftOrder, ...]:
    """Every draft of `draftOrders`, in Bundle order; `selections` (order-select) marks the ones to check. A draft
    whose subject is another patient than `patient_id` is not read as this patient's order (§6, §7.19)."""
    resources = list(_entries(draft_orders))
    medications = {
        r["id"]: r for r in resources if r.get("resourceType") == "Medication" and isinstance(r.get("id"), str)
    }
    drafts: list[DraftOrder] = []
    for index, resource in enumerate(r for r in resources if r.get("resourceType") != "Medication"):
        reference = _reference(resource)
        selected = _selected(reference, selections)
        if index >= _MAX_DRAFTS:
            drafts.append(_unreadable(resource, reference, selected, "too many orders in one call"))
            continue
        if patient_id is not None and _other_patient(resource, patient_id):
            drafts.append(_unreadable(resource, reference, selected, "its subject is another patient"))
            continue
        try:
            drafts.append(_read_one(resource, reference, selected, medications, catalog))
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError):
            # One malformed draft must not cost the others their check (and never a 5xx).
            drafts.append(_unreadable(resource, reference, selected, "its structure could not be read"))
    return tuple(drafts)


def _other_patient(resource: Mapping[str, Any], patient_id: str) -> bool:
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, Mapping) else None
    if not isinstance(reference, str):
        return False  # drafts often carry no subject: the hook's patient is meant
    return reference.rstrip("/").rsplit("/", 2)[-2:] != ["Patient", patient_id]


def _read_one(
    resource: Mapping[str, Any],
    reference: str | None,
    selected: bool,
    medications: Mapping[str, Mapping[str, Any]],
    catalog: DrugCatalog | None,
) -> DraftOrder:
    kind = resource.get("resourceType")
    base: dict[str, Any] = {
        "reference": reference,
        "resource_type": kind if isinstance(kind, str) else "unknown",
        "status": _status(resource),
        "sent_status": "do-not-perform" if resource.get("doNotPerform") is True else _text(resource.get("status")),
        "selected": selected,
    }
    if kind == "MedicationRequest":
        return _medication_draft(resource, medications, base, catalog)
    if isinstance(kind, str) and kind:
        return DraftOrder(**base, kind=DraftKind.NOT_COVERED, display=kind)
    return DraftOrder(**base, kind=DraftKind.UNREADABLE, display="unnamed", problem="it has no resource type")


def _unreadable(resource: Mapping[str, Any], reference: str | None, selected: bool, problem: str) -> DraftOrder:
    kind = resource.get("resourceType")
    return DraftOrder(
        reference=reference,
        resource_type=kind if isinstance(kind, str) else "unknown",
        status=DraftStatus.OTHER,
        sent_status=None,
        selected=selected,
        kind=DraftKind.UNREADABLE,
        display="medication" if kind == "MedicationRequest" else "unnamed",
        problem=problem,
    )


def warm_up() -> None:
    """Start-up: load (and check) the drug catalog and read one draft, so that no worker's first order pays for
    it (about 0.4 s, measured)."""
    sample = {
        "resourceType": "MedicationRequest",
        "id": "warm-up",
        "status": "draft",
        "medicationCodeableConcept": {"text": "Prednisone 5 MG Oral Tablet"},
        "dosageInstruction": [{"doseQuantity": {"value": 1, "unit": "{pill}"}, "timing": {"repeat": {"frequency": 1}}}],
    }
    read_drafts(sample)
