"""Medication exposures from MedicationStatement, MedicationRequest and MedicationAdministration.

The drug is recognised by `fhir_mappings.drugs` (RxNorm at every level, ATC, local codes, or by name; referenced and
contained Medication): its ingredients, route, strength and product. Daily dose: structured dose (mg, or count x the
strength of the clinical drug) x frequency from timing. Glucocorticoids count only by systemic routes and get a
prednisone-equivalent dose (decision table C-07). An entry that names a bone drug or a glucocorticoid but cannot be
classified is a DATA-03 finding (§6 last row)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from decision_core.facts import (
    DataDomain,
    DataIssue,
    DrugClass,
    IssueKind,
    MedicationExposure,
    MedicationSource,
    MedicationStatus,
)
from fhir_mappings.drugs import DrugRecognition, MatchMethod, Recognition, UnclassifiedDrug
from fhir_mappings.fhir_json import ResourceReader, codings, parse, texts, to_date
from fhir_mappings.observations import Qty, qty
from fhir_mappings.terminology import Concept, Terminology
from fhir_mappings.unit_conversion import days_per, is_count_unit, mass_to_mg, to_decimal

# --- statuses -----------------------------------------------------------------------------------------------

_STATEMENT_STATUS = {
    "active": MedicationStatus.ACTIVE,
    "completed": MedicationStatus.COMPLETED,
    "stopped": MedicationStatus.STOPPED,
    "on-hold": MedicationStatus.ON_HOLD,
    "intended": MedicationStatus.PLANNED,
    "unknown": MedicationStatus.UNKNOWN,
}
_REQUEST_STATUS = {
    "active": MedicationStatus.ACTIVE,
    "completed": MedicationStatus.COMPLETED,
    "stopped": MedicationStatus.STOPPED,
    "on-hold": MedicationStatus.ON_HOLD,
    "draft": MedicationStatus.PLANNED,
    "unknown": MedicationStatus.UNKNOWN,
}
_ADMINISTRATION_STATUS = {
    "in-progress": MedicationStatus.ACTIVE,
    "completed": MedicationStatus.COMPLETED,
    "stopped": MedicationStatus.STOPPED,
    "on-hold": MedicationStatus.ON_HOLD,
    "unknown": MedicationStatus.UNKNOWN,
}
# intent proposal / plan / option: intended but not (yet) an order.
_PLANNING_INTENTS = frozenset({"proposal", "plan", "option"})


def map_status(source: MedicationSource, status: str | None, intent: str | None = None) -> MedicationStatus | None:
    """None: the record is ignored (entered-in-error, cancelled, not-taken, not-done, or no status)."""
    if status is None:
        return None
    if source is MedicationSource.STATEMENT:
        return _STATEMENT_STATUS.get(status)
    if source is MedicationSource.ADMINISTRATION:
        return _ADMINISTRATION_STATUS.get(status)
    mapped = _REQUEST_STATUS.get(status)
    if mapped is MedicationStatus.ACTIVE and intent in _PLANNING_INTENTS:
        return MedicationStatus.PLANNED
    return mapped


# --- routes -------------------------------------------------------------------------------------------------

_ROUTE_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.I), r)
    for p, r in (
        (r"inhal|respiratory|nebuli[sz]", "inhaled"),
        (r"nasal|\bnose\b|intranasal", "nasal"),
        (r"ophthalm|\beye\b|ocular|conjunctiv", "ophthalmic"),
        (r"\botic\b|\bear\b|auricular", "otic"),
        (r"rectal|enema|suppositor", "rectal"),
        (r"vaginal", "vaginal"),
        (r"transdermal|patch", "transdermal"),
        (r"topical|(?<!sub)cutaneous|\bskin\b|cream|ointment|lotion|\bgel\b", "topical"),
        (r"intravenous|\bIV\b|infusion", "intravenous"),
        (r"intramuscular|\bIM\b", "intramuscular"),
        (r"subcutaneous|\bSC\b|\bSQ\b|\bSUBQ\b|subcut", "subcutaneous"),
        (r"\boral|\bby mouth\b|\bPO\b|swallow|tablet|capsule", "oral"),
        (r"inject|syringe|auto-?injector|\bpen\b|implant", "injection"),
    )
)


def route_from_text(text: str | None) -> str | None:
    if not text:
        return None
    for pattern, route in _ROUTE_WORDS:
        if pattern.search(text):
            return route
    return None


# --- timing and dose ----------------------------------------------------------------------------------------

# HL7 TimingAbbreviation (v3 GTSAbbreviation) codes -> administrations per day.
_TIMING_CODES: dict[str, Fraction] = {
    "QD": Fraction(1),
    "AM": Fraction(1),
    "PM": Fraction(1),
    "BED": Fraction(1),
    "BID": Fraction(2),
    "TID": Fraction(3),
    "QID": Fraction(4),
    "QOD": Fraction(1, 2),
    "Q1H": Fraction(24),
    "Q2H": Fraction(12),
    "Q3H": Fraction(8),
    "Q4H": Fraction(6),
    "Q6H": Fraction(4),
    "Q8H": Fraction(3),
    "WK": Fraction(1, 7),
}


@dataclass(frozen=True, slots=True)
class DosageView:
    sequence: int | None
    route_texts: tuple[str, ...]
    dose: Qty | None
    per_day: Fraction | None
    as_needed: bool
    bounds_days: int | None
    bounds_start: date | None
    bounds_end: date | None


def _per_day(timing: Any) -> Fraction | None:
    if timing is None:
        return None
    r = timing.repeat
    if r is not None and (r.frequency is not None or r.period is not None):
        unit_days = days_per(r.periodUnit) if r.periodUnit else None
        period = Fraction(r.period) if r.period is not None else Fraction(1)
        if unit_days is None or period <= 0:
            return None
        return Fraction(r.frequency if r.frequency is not None else 1) / (period * unit_days)
    if r is not None and (r.timeOfDay or r.when):
        return Fraction(len(r.timeOfDay or r.when))  # named times of day: that many per day
    for _, code, _ in codings(timing.code):
        if code and code.upper() in _TIMING_CODES:
            return _TIMING_CODES[code.upper()]
    return None


def _duration_days(duration: Any) -> int | None:
    if duration is None or duration.value is None:
        return None
    per = days_per(duration.code) or days_per(duration.unit)
    if per is None:
        return None
    return int(Fraction(duration.value) * per)


def _inclusive_days(start: date | None, end: date | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).days + 1  # a course from the 1st to the 10th is 10 days


def dosage_view(d: Any) -> DosageView:
    dose = None
    for dr in d.doseAndRate or ():
        if dr.doseQuantity is not None:
            dose = qty(dr.doseQuantity)
            break
    r = d.timing.repeat if d.timing is not None else None
    bounds_days = _duration_days(r.boundsDuration) if r is not None else None
    bp = r.boundsPeriod if r is not None else None
    return DosageView(
        sequence=d.sequence,
        route_texts=texts(d.route),
        dose=dose,
        per_day=_per_day(d.timing),
        as_needed=bool(d.asNeededBoolean) or d.asNeededCodeableConcept is not None,
        bounds_days=bounds_days,
        bounds_start=to_date(bp.start) if bp else None,
        bounds_end=to_date(bp.end) if bp else None,
    )


def dose_mg(dose: Qty | None, strength_mg: Decimal | None) -> Fraction | None:
    """mg per administration: a mass dose, or a count (tablets, or a unitless number) x the product
    strength."""
    if dose is None or dose.value is None or dose.value <= 0:
        return None
    for unit in (dose.code, dose.unit):
        if unit:
            mg = mass_to_mg(dose.value, unit)
            if mg is not None:
                return Fraction(mg)
    unit = dose.code or dose.unit
    if strength_mg is not None and (unit is None or is_count_unit(unit)):
        return Fraction(dose.value) * Fraction(strength_mg)
    return None


def daily_dose_mg(dosages: Sequence[DosageView], strength_mg: Decimal | None) -> Fraction | None:
    """Sum of the current step's dosage lines (lowest `sequence`); None if any line cannot be interpreted or
    is as-needed (a PRN dose is not a daily dose)."""
    if not dosages:
        return None
    first_seq = min((d.sequence for d in dosages if d.sequence is not None), default=None)
    step = (
        [d for d in dosages if d.sequence == first_seq or d.sequence is None]
        if first_seq is not None
        else list(dosages)
    )
    total = Fraction(0)
    for d in step:
        mg = dose_mg(d.dose, strength_mg)
        if mg is None or d.per_day is None or d.as_needed:
            return None
        total += mg * d.per_day
    return total if total > 0 else None


_STRENGTH_IN_TEXT = re.compile(r"\b(\d+(?:\.\d+)?)\s*MG\b(?!\s*/)", re.I)


def strength_from_text(text: str | None) -> Decimal | None:
    """ "prednisone 7.5 MG Oral Tablet" -> 7.5 (one solid-form strength only; concentrations are ignored)."""
    if not text or not re.search(r"tablet|capsule", text, re.I):
        return None
    found = _STRENGTH_IN_TEXT.findall(text)
    return Decimal(found[0]) if len(found) == 1 else None


# --- drug identification ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MedicationCode:
    """The drug of a Med* resource: codings and texts from medication[x] / the referenced Medication."""

    codings: tuple[tuple[str | None, str | None, str | None], ...]
    texts: tuple[str, ...]
    form_texts: tuple[str, ...] = ()
    strength_mg: Decimal | None = None  # from Medication.ingredient.strength, when given per unit in mass


def _medication_code(model: Any) -> MedicationCode:
    strength: Decimal | None = None
    ing_codings: list[tuple[str | None, str | None, str | None]] = []
    for ing in model.ingredient or ():
        if ing.itemCodeableConcept is not None:
            ing_codings.extend(codings(ing.itemCodeableConcept))
        s = ing.strength
        if s is not None and s.numerator is not None and s.numerator.value is not None and strength is None:
            mg = mass_to_mg(s.numerator.value, s.numerator.code or s.numerator.unit)
            den = s.denominator
            den_value = den.value if den is not None and den.value is not None else Decimal(1)
            den_unit = (den.code or den.unit) if den is not None else None
            if mg is not None and den_value > 0 and (den_unit is None or is_count_unit(den_unit)):
                strength = to_decimal(Fraction(mg) / Fraction(den_value))
    return MedicationCode(
        codings=(*codings(model.code), *ing_codings),
        texts=texts(model.code),
        form_texts=texts(model.form),
        strength_mg=strength,
    )


def resolve_medication(
    model: Any,
    medications: Mapping[str, Mapping[str, Any]],
    read: ResourceReader = parse,
) -> MedicationCode | None:
    """medicationCodeableConcept, or the Medication it references (contained "#id", "Medication/id",
    "urn:uuid:id" or a full URL ending in Medication/id) from `medications` (raw Medication dicts by id, read
    with `read`: R4B, or the extraction's typed decoding)."""
    if model.medicationCodeableConcept is not None:
        mcc = model.medicationCodeableConcept
        return MedicationCode(codings=codings(mcc), texts=texts(mcc))
    ref = model.medicationReference
    if ref is None:
        return None
    reference = ref.reference or ""
    if reference.startswith("#"):
        for c in model.contained or ():
            if getattr(c, "id", None) == reference[1:] and c.get_resource_type() == "Medication":
                return _medication_code(c)
        return None
    key = reference.rsplit("/", 1)[-1].removeprefix("urn:uuid:") if reference else ""
    raw = medications.get(key)
    if raw is not None:
        med = read(raw)
        if med is not None:
            return _medication_code(med)
    if ref.display:
        return MedicationCode(codings=(), texts=(ref.display,))
    return None


# --- exposures ----------------------------------------------------------------------------------------------


def _prednisone_equivalent(concept: Concept, mg_per_day: Fraction) -> Decimal | None:
    pred, drug = concept.get("prednisone_mg"), concept.get("drug_mg")
    if pred is None or drug is None:
        return None
    # Multiply first, divide once: 1.125 mg dexamethasone -> exactly 7.5 mg prednisone (5 : 0.75).
    return to_decimal(mg_per_day * Fraction(str(pred)) / Fraction(str(drug)))


@dataclass(frozen=True, slots=True)
class RecognisedDrug:
    """One ingredient of a recognised entry, with what the exposure needs."""

    drug_class: DrugClass
    ingredient: str
    concept: Concept | None  # the codes/medications.yaml concept (C-07 ratio, injectable), when it has one
    display: str
    matched_by_text: bool
    route: str | None
    strength_mg: Decimal | None
    product: str | None
    oncology: bool


_FACT_CLASSES = frozenset(c.value for c in DrugClass)
OSTEOPOROSIS_THERAPY_CLASSES = frozenset(
    {
        DrugClass.BISPHOSPHONATE_ORAL,
        DrugClass.ZOLEDRONIC_ACID,
        DrugClass.DENOSUMAB,
        DrugClass.ANABOLIC,
        DrugClass.SERM,
        DrugClass.CALCITONIN,
    }
)
_INJECTED_CLASSES = frozenset({DrugClass.ZOLEDRONIC_ACID, DrugClass.DENOSUMAB, DrugClass.ANDROGEN_DEPRIVATION})


def recognised_drugs(
    term: Terminology, recognition: DrugRecognition, med: MedicationCode | None
) -> list[RecognisedDrug]:
    """The ingredients of a recognised entry that the rules read (C-06 classes, calcium, vitamin D, bone-toxic
    drugs, glucocorticoids given systemically); mineralocorticoids and local glucocorticoids are left out."""
    out: list[RecognisedDrug] = []
    for ingredient in recognition.ingredients:
        if ingredient.drug_class.value not in _FACT_CLASSES:
            continue  # fludrocortisone: recognised, not counted (C-07 gives it no ratio)
        drug_class = DrugClass(ingredient.drug_class.value)
        if drug_class is DrugClass.GLUCOCORTICOID and not (
            ingredient.systemic_exposure and recognition.route is not None and recognition.route.glucocorticoid_systemic
        ):
            continue  # inhaled, topical, nasal, eye, joint... and gut-selective budesonide (C-07)
        concept = term.find_concept("medications", ingredient.id)
        strength = recognition.strength_of(ingredient.id)
        mg = strength.mg_per_unit if strength is not None else None
        if mg is None and med is not None and len(recognition.ingredients) == 1:
            mg = med.strength_mg or next((s for s in map(strength_from_text, med.texts) if s), None)
        name = str(concept.get("ingredient")) if concept is not None else ingredient.name
        out.append(
            RecognisedDrug(
                drug_class=drug_class,
                ingredient=name.lower(),
                concept=concept,
                display=recognition.display,
                matched_by_text=recognition.method is MatchMethod.NAME,
                route=recognition.route.value if recognition.route is not None else None,
                strength_mg=mg,
                product=recognition.product_name,
                oncology=recognition.oncology,
            )
        )
    return out


def unclassified_issue(unclassified: UnclassifiedDrug, record: str) -> DataIssue:
    """DATA-03: an entry naming an osteoporosis drug or a glucocorticoid that cannot be classified (§6 last row)."""
    classes = [DrugClass(c.value) for c in unclassified.drug_classes if c.value in _FACT_CLASSES]
    topic = next((c for c in classes if c in OSTEOPOROSIS_THERAPY_CLASSES), None)
    if topic is None and unclassified.names_glucocorticoid:
        topic = DrugClass.GLUCOCORTICOID
    return DataIssue(
        unclassified.display or " / ".join(unclassified.names),
        unclassified.describe(),
        record,
        kind=IssueKind.UNCLASSIFIED_DRUG,
        domain=DataDomain.MEDICATIONS,
        topic=topic,
    )


def from_resource(
    model: Any,
    record: str,
    term: Terminology,
    medications: Mapping[str, Mapping[str, Any]],
    recognition: Recognition | None,
    *,
    read: ResourceReader = parse,
) -> tuple[list[MedicationExposure], list[DataIssue]]:
    """The exposures of one Med* resource whose drug was recognised (`fhir_mappings.drugs.recognise_resource`),
    or the DATA-03 finding of an entry that names a drug but cannot be classified (`read`: how a referenced
    Medication is read, as the resource was)."""
    rtype = model.get_resource_type()
    source = MedicationSource(rtype)
    status = map_status(source, model.status, getattr(model, "intent", None))
    if status is None or recognition is None:
        return [], []
    if isinstance(recognition, UnclassifiedDrug):
        return [], [unclassified_issue(recognition, record)]
    drugs = recognised_drugs(term, recognition, resolve_medication(model, medications, read))
    if not drugs:
        return [], []

    dosages: list[DosageView] = []
    administrations: tuple[date, ...] = ()
    start = end = None
    planned_days: int | None = None
    admin_dose: Qty | None = None
    admin_route_texts: tuple[str, ...] = ()
    if source is MedicationSource.STATEMENT:
        dosages = [dosage_view(d) for d in model.dosage or ()]
        single = to_date(model.effectiveDateTime)
        start = single or to_date(model.effectivePeriod.start if model.effectivePeriod else None)
        end = to_date(model.effectivePeriod.end if model.effectivePeriod else None)
        planned_days = _inclusive_days(start, end) if model.effectivePeriod else None
    elif source is MedicationSource.REQUEST:
        dosages = [dosage_view(d) for d in model.dosageInstruction or ()]
        dr = model.dispenseRequest
        validity_start = to_date(dr.validityPeriod.start) if dr is not None and dr.validityPeriod else None
        bounded = next((d for d in dosages if d.bounds_start), None)
        start = (bounded.bounds_start if bounded else None) or validity_start or to_date(model.authoredOn)
        end = bounded.bounds_end if bounded else None
        if dr is not None and dr.expectedSupplyDuration is not None:
            supply = _duration_days(dr.expectedSupplyDuration)
            if supply is not None:
                planned_days = supply * (1 + max(int(dr.numberOfRepeatsAllowed or 0), 0))
    else:
        given = to_date(model.effectiveDateTime) or to_date(
            model.effectivePeriod.start if model.effectivePeriod else None
        )
        start = end = given
        if given is not None and status in (MedicationStatus.COMPLETED, MedicationStatus.ACTIVE):
            administrations = (given,)
        if model.dosage is not None:
            admin_dose = qty(model.dosage.dose)
            admin_route_texts = texts(model.dosage.route)
    for d in dosages:
        bounded_days = d.bounds_days or _inclusive_days(d.bounds_start, d.bounds_end)
        if bounded_days is not None:
            planned_days = bounded_days
            break

    route_texts = admin_route_texts or next((d.route_texts for d in dosages if d.route_texts), ())
    out: list[MedicationExposure] = []
    for drug in drugs:
        drug_class = drug.drug_class
        route = drug.route or next((r for r in map(route_from_text, route_texts) if r), None)
        strength = drug.strength_mg
        injectable = (
            bool(drug.concept.get("injectable")) if drug.concept is not None else drug_class in _INJECTED_CLASSES
        )
        if source is MedicationSource.ADMINISTRATION:
            per_admin = dose_mg(admin_dose, strength)
            mg_day = per_admin  # one administration on that day
        else:
            mg_day = daily_dose_mg(dosages, strength)
        admins = administrations
        if (
            source is MedicationSource.STATEMENT
            and injectable
            and model.effectiveDateTime is not None
            and status is not MedicationStatus.PLANNED
            and start
        ):
            admins = (start,)  # a dated statement of an injectable records a dose given that day
        out.append(
            MedicationExposure(
                drug_class=drug_class,
                drug=drug.ingredient,
                status=status,
                source=source,
                record=record,
                display=drug.display,
                start=start,
                end=end,
                administrations=admins,
                route=route,
                dose_mg_per_day=to_decimal(mg_day) if mg_day is not None else None,
                prednisone_eq_mg_per_day=(
                    _prednisone_equivalent(drug.concept, mg_day)
                    if mg_day is not None and drug_class is DrugClass.GLUCOCORTICOID and drug.concept is not None
                    else None
                ),
                planned_days=planned_days,
                matched_by_text=drug.matched_by_text,
                product=drug.product,
                oncology=drug.oncology,
            )
        )
    return out, []


def data_issues(exposures: Sequence[MedicationExposure], now: date) -> list[DataIssue]:
    """Medication entries that cannot be used as listed: a recent glucocorticoid with no interpretable dose;
    denosumab with no dose date at all."""
    issues: list[DataIssue] = []
    recent = now - timedelta(days=365)
    for e in exposures:
        if (
            e.drug_class is DrugClass.GLUCOCORTICOID
            and e.prednisone_eq_mg_per_day is None
            and e.status is not MedicationStatus.PLANNED
            and (e.end is None or e.end >= recent)
        ):
            issues.append(
                DataIssue(
                    f"{e.display or e.drug}",
                    "Glucocorticoid with no dose",
                    e.record,
                    kind=IssueKind.NO_DOSE,
                    domain=DataDomain.MEDICATIONS,
                    topic=DrugClass.GLUCOCORTICOID,
                )
            )
    dmab = [e for e in exposures if e.drug_class is DrugClass.DENOSUMAB and e.status is not MedicationStatus.PLANNED]
    if dmab and not any(e.administrations for e in dmab):
        first = min(dmab, key=lambda e: e.record)
        issues.append(
            DataIssue(
                f"Denosumab ({first.display or first.drug})",
                "listed without any administration date",
                first.record,
                kind=IssueKind.NO_DOSE_DATE,
                domain=DataDomain.MEDICATIONS,
                topic=DrugClass.DENOSUMAB,
            )
        )
    return issues
