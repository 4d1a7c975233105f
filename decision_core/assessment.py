"""Everything derived from the facts once (C-01..C-10), so every rule and every test sees the same values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .dates import add_months, as_date, months_between, within_months_before
from .dxa_assessment import BmdCategory, DxaAssessment, SiteValue, assess_dxa
from .facts import (
    ConditionConcept,
    ConditionFact,
    DataDomain,
    DataIssue,
    DrugClass,
    IssueKind,
    MenopauseStatus,
    PatientFacts,
    PlannedProcedure,
    Sex,
)
from .fractures import FractureAssessment, FragilityFracture, assess_fractures
from .frax_assessment import FraxAssessment, FraxReading, assess_frax
from .glucocorticoids import GcExposure, assess_glucocorticoids
from .lab_assessment import LabAssessment, assess_labs
from .population import Population, PopulationPath, population_path
from .therapy import (
    OSTEOPOROSIS_CLASSES,
    BisphosphonateCourse,
    TherapyAssessment,
    assess_therapy,
    finished_bisphosphonate_course,
    is_on_therapy_on,
    other_class_since,
)
from .thresholds import THRESHOLDS

SPINAL_INSTRUMENTATION = "spinal-instrumentation"

SECONDARY_OSTEOPOROSIS_CONCEPTS = frozenset(
    {
        ConditionConcept.TYPE1_DIABETES,
        ConditionConcept.OSTEOGENESIS_IMPERFECTA,
        ConditionConcept.HYPERTHYROIDISM,
        ConditionConcept.HYPOGONADISM,
        ConditionConcept.PREMATURE_MENOPAUSE,
        ConditionConcept.MALABSORPTION,
        ConditionConcept.CHRONIC_LIVER_DISEASE,
    }
)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a criterion is met, as a code and the values that show it; the card words it (cards/rules/*.yaml)."""

    code: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def as_value(self) -> dict[str, Any]:
        return {"code": self.code, **self.values}


def _fracture_reason(code: str, f: FragilityFracture) -> Reason:
    return Reason(code, {"site": str(f.site), "onset": f.onset})


def _t_score_reason(code: str, t: SiteValue) -> Reason:
    return Reason(code, {"t_score": t.value, "site": t.label})


def _frax_reason(code: str, measure: str, percent: Decimal, threshold: Decimal) -> Reason:
    return Reason(code, {"measure": measure, "percent": percent, "threshold": threshold})


class AcrCategory(StrEnum):
    VERY_HIGH = "very-high"
    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"
    NOT_ASSESSABLE = "not-assessable"


ACR_OFFER_THERAPY = frozenset({AcrCategory.VERY_HIGH, AcrCategory.HIGH, AcrCategory.MODERATE})


class RiskTier(StrEnum):
    DMAB_LAPSE = "DMAB-LAPSE"
    VERY_HIGH = "VERY-HIGH"
    HIGH = "HIGH"
    BELOW = "BELOW"
    INDETERMINATE = "INDETERMINATE"
    NORMAL = "NORMAL"


@dataclass(frozen=True, slots=True)
class AcrAssessment:
    category: AcrCategory
    basis: tuple[Reason, ...]  # criteria met, as codes and values
    age_column: str  # ">=40" or "<40"
    needs_frax: bool


@dataclass(frozen=True, slots=True)
class BisphosphonateHoliday:
    """C-06 (rev 2): a finished, long-enough bisphosphonate course whose effect is relied on (MON-04)."""

    course: BisphosphonateCourse
    since: date  # the course's coverage end
    months: int  # whole months since then


def bisphosphonate_holiday(
    therapy: TherapyAssessment, fractures: FractureAssessment, exposures: tuple[Any, ...], today: date
) -> BisphosphonateHoliday | None:
    """Not on current therapy, a course long enough for a holiday that ended at most 60 months ago (inclusive, §0),
    no other osteoporosis drug since, no fragility fracture after it ended (that ends the holiday early), and
    nothing ordered (an order is the decision the holiday card asks for)."""
    if therapy.on_therapy or therapy.ordered:
        return None
    course = finished_bisphosphonate_course(exposures, today)
    if course is None or not within_months_before(course.coverage_end, today, THRESHOLDS.holiday_max_months):
        return None
    if other_class_since(exposures, course.last_exposure, today):
        return None
    if any(f.onset is not None and f.onset > course.coverage_end for f in fractures.fragility):
        return None
    return BisphosphonateHoliday(course, course.coverage_end, months_between(course.coverage_end, today))


@dataclass(frozen=True, slots=True)
class Assessment:
    facts: PatientFacts
    today: date
    path: PopulationPath
    dxa: DxaAssessment
    fractures: FractureAssessment
    therapy: TherapyAssessment
    gc: GcExposure
    frax: FraxAssessment
    labs: LabAssessment
    clinical_osteoporosis: FragilityFracture | None
    tx01_reasons: tuple[Reason, ...]
    tx02_reasons: tuple[Reason, ...]
    acr: AcrAssessment | None  # only with qualifying glucocorticoid exposure
    spinal_procedure: PlannedProcedure | None
    bhc_reasons: tuple[str, ...]
    risk_tier: RiskTier | None
    issues: tuple[DataIssue, ...]  # found by the core (DATA-03)
    incomplete_domains: frozenset[str]
    holiday: BisphosphonateHoliday | None = None

    # --- convenience ---
    @property
    def age(self) -> int | None:
        return self.path.age

    @property
    def population(self) -> Population:
        return self.path.population

    @property
    def adult50(self) -> bool:
        return self.path.population == Population.ADULT50

    @property
    def young(self) -> bool:
        return self.path.population == Population.YOUNG

    @property
    def bhc(self) -> bool:
        return bool(self.bhc_reasons)

    @property
    def valid_frax(self) -> FraxReading | None:
        return self.frax.valid

    @property
    def denosumab_overdue(self) -> bool:
        d = self.therapy.denosumab
        return d.last_dose is not None and not d.follow_on and d.due is not None and self.today > d.due

    @property
    def safe01_condition(self) -> bool:
        """SAFE-01 fires (any variant): the §4 suppression and C-10 DMAB-LAPSE read this."""
        d = self.therapy.denosumab
        if d.last_dose is None or d.follow_on or d.due is None:
            return False
        return self.today > d.due or d.marked_stopped

    def unchecked(self, domains: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d for d in domains if d in self.incomplete_domains)

    @property
    def unreadable_osteoporosis_drugs(self) -> tuple[DrugClass, ...]:
        """Classes of medication entries that name an osteoporosis drug but could not be classified (§6 last row,
        §7.18): no card may then say "not on osteoporosis medication", and no treatment draft is offered."""
        return tuple(
            dict.fromkeys(
                i.topic
                for i in self.facts.data_issues
                if i.kind is IssueKind.UNCLASSIFIED_DRUG
                and isinstance(i.topic, DrugClass)
                and i.topic in OSTEOPOROSIS_CLASSES
            )
        )

    def has_concept(self, concept: ConditionConcept, active_only: bool = True) -> ConditionFact | None:
        for c in self.facts.conditions:
            if c.concept == concept and (c.active or not active_only):
                return c
        return None

    def age_on(self, day: date) -> int | None:
        return self.facts.age_on(day)


def _t_counts_at(facts: PatientFacts) -> Callable[[date], bool]:
    """Whether a T-score measured on a given day was on the WHO path (persistence, C-04 'at ADULT50')."""

    def counts(day: date) -> bool:
        age = facts.age_on(day)
        if age is not None and age >= THRESHOLDS.adult_age:
            return True
        return facts.sex != Sex.MALE and facts.menopause == MenopauseStatus.POSTMENOPAUSAL

    return counts


def _clinical_osteoporosis(dxa: DxaAssessment, fractures: FractureAssessment) -> FragilityFracture | None:
    hip_vertebral = fractures.qualifying_hip_vertebral
    if hip_vertebral:
        return hip_vertebral[0]
    if dxa.lowest_t is not None and dxa.lowest_t.value < THRESHOLDS.t_normal_min:
        other_major = fractures.qualifying_other_major
        if other_major:
            return other_major[0]
    return None


def _tx01_reasons(dxa: DxaAssessment, fractures: FractureAssessment, frax: FraxAssessment) -> tuple[Reason, ...]:
    th = THRESHOLDS
    reasons: list[Reason] = []
    for f in fractures.qualifying_hip_vertebral[:1]:
        reasons.append(_fracture_reason("hip-vertebral-fracture", f))
    if dxa.category == BmdCategory.OSTEOPOROSIS and dxa.lowest_t is not None:
        reasons.append(_t_score_reason("osteoporosis-dxa", dxa.lowest_t))
    elif dxa.historical_osteoporosis is not None:
        h = dxa.historical_osteoporosis
        reasons.append(
            Reason("osteoporosis-historical", {"t_score": h.value, "site": h.label, "dxa_date": h.effective})
        )
    if dxa.lowest_t is not None and dxa.lowest_t.value < th.t_normal_min:
        for f in fractures.qualifying_other_major[:1]:
            reasons.append(_fracture_reason("other-major-fracture", f))
    reading = frax.valid
    if dxa.low_bone_mass and reading is not None and reading.at_treatment_threshold:
        if reading.mof is not None and reading.mof >= th.frax_mof_treat:
            reasons.append(_frax_reason("frax", "mof", reading.mof, th.frax_mof_treat))
        if reading.hip is not None and reading.hip >= th.frax_hip_treat:
            reasons.append(_frax_reason("frax", "hip", reading.hip, th.frax_hip_treat))
    return tuple(reasons)


def _tx02_reasons(
    facts: PatientFacts,
    today: date,
    dxa: DxaAssessment,
    fractures: FractureAssessment,
    frax: FraxAssessment,
    gc: GcExposure,
    therapy: TherapyAssessment,
) -> tuple[Reason, ...]:
    th = THRESHOLDS
    qualifying = fractures.qualifying
    on_therapy_fx = [f for f in qualifying if f.on_therapy]
    reasons: list[Reason] = []
    if on_therapy_fx:
        reasons.append(_fracture_reason("fracture-on-therapy", on_therapy_fx[0]))
    if therapy.on_therapy:
        return tuple(reasons)  # on current therapy only (c) applies
    recent = [f for f in qualifying if f.recent]
    if recent:
        reasons.append(_fracture_reason("recent-fracture", recent[0]))
    if len(qualifying) >= 2:
        reasons.append(Reason("multiple-fractures", {"count": len(qualifying)}))
    if dxa.lowest_t is not None and dxa.lowest_t.value < th.t_very_high_risk_below:
        reasons.append(_t_score_reason("very-low-t", dxa.lowest_t))
    reading = frax.valid
    if reading is not None and reading.very_high:
        if reading.mof is not None and reading.mof > th.frax_mof_very_high:
            reasons.append(_frax_reason("frax-very-high", "mof", reading.mof, th.frax_mof_very_high))
        if reading.hip is not None and reading.hip > th.frax_hip_very_high:
            reasons.append(_frax_reason("frax-very-high", "hip", reading.hip, th.frax_hip_very_high))
    if gc.very_high_dose:
        reasons.append(Reason("glucocorticoid-high-dose", {"dose_mg": gc.gc_dose}))
    for c in facts.conditions:
        if (
            c.concept == ConditionConcept.INJURIOUS_FALL
            and c.onset is not None
            and within_months_before(c.onset, today, th.recent_fracture_months)
        ):
            reasons.append(Reason("injurious-fall", {"onset": c.onset}))
            break
    return tuple(reasons)


def _acr(
    path: PopulationPath,
    dxa: DxaAssessment,
    fractures: FractureAssessment,
    frax: FraxAssessment,
    gc: GcExposure,
) -> AcrAssessment:
    """ACR22 glucocorticoid fracture-risk category (the highest met wins)."""
    th = THRESHOLDS
    age = path.age or 0
    older = age >= th.frax_min_age and path.population == Population.ADULT50
    frax_usable = older and age <= th.frax_max_age  # FRAX is defined for ages 40-90 only
    column = ">=40" if older else "<40"
    fracture = fractures.mechanism_fragility[0] if fractures.mechanism_fragility else None
    very_high: list[Reason] = []
    if fracture is not None:
        very_high.append(Reason("prior-fracture"))
    if gc.very_high_dose or (not older and gc.gc_dose >= th.gc_very_high_dose_mg):
        very_high.append(Reason("very-high-dose", {"dose_mg": gc.gc_dose}))
    reading = frax.valid
    lowest_t = dxa.lowest_t
    if older:
        if lowest_t is not None and lowest_t.value <= th.t_acr_very_high_max:
            very_high.append(_t_score_reason("t-score", lowest_t))
        if reading is not None and (
            (reading.mof is not None and reading.mof >= th.frax_mof_very_high)
            or (reading.hip is not None and reading.hip >= th.frax_hip_very_high)
        ):
            very_high.append(Reason("frax-very-high"))
    if very_high:
        return AcrAssessment(AcrCategory.VERY_HIGH, tuple(very_high), column, frax_usable and reading is None)
    if not older:
        z = dxa.latest_valid.lowest_z if dxa.latest_valid else None
        if dxa.latest_valid is None:
            return AcrAssessment(AcrCategory.NOT_ASSESSABLE, (Reason("no-dxa"),), column, False)
        if gc.moderate_young_dose:
            if z is None:
                return AcrAssessment(AcrCategory.NOT_ASSESSABLE, (Reason("no-z-score"),), column, False)
            if z.value < th.z_acr_moderate_below:
                return AcrAssessment(
                    AcrCategory.MODERATE,
                    (Reason("z-score-with-dose", {"z_score": z.value, "site": z.label}),),
                    column,
                    False,
                )
        return AcrAssessment(AcrCategory.LOW, (Reason("no-criterion"),), column, False)
    if lowest_t is None and reading is None:
        return AcrAssessment(AcrCategory.NOT_ASSESSABLE, (Reason("no-dxa-no-frax"),), column, frax_usable)
    high: list[Reason] = []
    moderate: list[Reason] = []
    if lowest_t is not None:
        if lowest_t.value <= th.t_osteoporosis_max:
            high.append(_t_score_reason("t-score", lowest_t))
        elif lowest_t.value <= th.t_normal_min:  # ACR puts T = -1.0 in moderate
            moderate.append(_t_score_reason("t-score", lowest_t))
    if reading is not None:
        if (reading.mof is not None and reading.mof >= th.frax_mof_treat) or (
            reading.hip is not None and reading.hip >= th.frax_hip_treat
        ):
            high.append(Reason("frax-high"))
        elif (reading.mof is not None and reading.mof >= th.frax_mof_acr_moderate) or (
            reading.hip is not None and reading.hip > th.frax_hip_acr_moderate_above
        ):
            moderate.append(Reason("frax-moderate"))
    if high:
        return AcrAssessment(AcrCategory.HIGH, tuple(high), column, frax_usable and reading is None)
    if moderate:
        return AcrAssessment(AcrCategory.MODERATE, tuple(moderate), column, frax_usable and reading is None)
    if frax_usable and (reading is None or not reading.complete):
        # T > -1.0 alone cannot exclude moderate risk at >= 40: FRAX is needed (closest safe reading).
        return AcrAssessment(AcrCategory.NOT_ASSESSABLE, (Reason("frax-needed"),), column, True)
    return AcrAssessment(AcrCategory.LOW, (Reason("no-criterion"),), column, False)


def _spinal_procedure(facts: PatientFacts, today: date) -> PlannedProcedure | None:
    horizon = add_months(today, THRESHOLDS.spine_surgery_horizon_months)
    for p in facts.planned_procedures:
        if p.kind != SPINAL_INSTRUMENTATION:
            continue
        if p.planned_date is None or today <= p.planned_date <= horizon:
            return p
    return None


def _bhc_reasons(
    a_path: PopulationPath,
    facts: PatientFacts,
    dxa: DxaAssessment,
    fractures: FractureAssessment,
    therapy: TherapyAssessment,
    gc: GcExposure,
    clinical: FragilityFracture | None,
) -> tuple[str, ...]:
    reasons: list[str] = []
    if a_path.population == Population.ADULT50:
        category = dxa.effective_category
        if category == BmdCategory.OSTEOPOROSIS or clinical is not None:
            reasons.append("osteoporosis")
        elif category == BmdCategory.LOW_BONE_MASS:
            reasons.append("low-bone-mass")
    if fractures.fragility:
        reasons.append("fragility-fracture")
    if a_path.population == Population.YOUNG and dxa.latest_valid is not None:
        z = dxa.latest_valid.lowest_z
        if z is not None and z.value <= THRESHOLDS.z_low_for_age_max:
            reasons.append("z-low")
    if therapy.ever or therapy.ordered:
        reasons.append("osteoporosis-drug")
    if gc.qualifies:
        reasons.append("glucocorticoid")
    if any(
        c.concept in (ConditionConcept.OSTEOPOROSIS, ConditionConcept.OSTEOPENIA) and c.active for c in facts.conditions
    ):
        reasons.append("coded-diagnosis")
    return tuple(reasons)


def _risk_tier(
    path: PopulationPath,
    denosumab_overdue: bool,
    tx02: tuple[Reason, ...],
    tx01: tuple[Reason, ...],
    clinical: FragilityFracture | None,
    dxa: DxaAssessment,
    frax: FraxAssessment,
) -> RiskTier | None:
    if path.population != Population.ADULT50:
        return None
    if denosumab_overdue:
        return RiskTier.DMAB_LAPSE
    if tx02:
        return RiskTier.VERY_HIGH
    if tx01 or clinical is not None:
        return RiskTier.HIGH
    if dxa.category is None or dxa.stale:
        return RiskTier.INDETERMINATE
    if dxa.low_bone_mass:
        if frax.valid is not None and frax.valid.below_thresholds:
            return RiskTier.BELOW
        return RiskTier.INDETERMINATE
    return RiskTier.NORMAL


def _reported(facts: PatientFacts, kind: IssueKind, topic: DrugClass) -> bool:
    """The extraction already names this problem: DATA-03 lists each finding once."""
    return any(i.kind is kind and i.topic is topic for i in facts.data_issues)


def assess(facts: PatientFacts, now: date | datetime) -> Assessment:
    today = as_date(now)
    age = facts.age_on(today)
    path = population_path(facts, age)
    issue_records = frozenset(i.record for i in facts.data_issues if i.record)
    exposures = facts.medications

    def on_therapy_on(day: date) -> bool:
        return is_on_therapy_on(exposures, day, today)

    therapy = assess_therapy(exposures, today)
    dxa = assess_dxa(facts.dxa_studies, today, issue_records, _t_counts_at(facts))
    fractures = assess_fractures(facts.fractures, today, facts.age_on, age, on_therapy_on)
    gc = assess_glucocorticoids(exposures, today)
    latest_dxa_date = dxa.latest_valid.date if dxa.latest_valid else None
    frax = assess_frax(facts.frax, today, age, latest_dxa_date, dxa.stale, gc.gc_dose, on_therapy_on, issue_records)
    labs = assess_labs(facts.labs, issue_records)
    adult50 = path.population == Population.ADULT50
    clinical = _clinical_osteoporosis(dxa, fractures) if adult50 else None
    tx01 = _tx01_reasons(dxa, fractures, frax) if adult50 else ()
    tx02 = _tx02_reasons(facts, today, dxa, fractures, frax, gc, therapy) if adult50 else ()
    acr = _acr(path, dxa, fractures, frax, gc) if gc.qualifies else None
    issues: list[DataIssue] = [*dxa.issues, *gc.issues, *labs.issues]
    if therapy.denosumab.records_without_dates and not _reported(facts, IssueKind.NO_DOSE_DATE, DrugClass.DENOSUMAB):
        issues.append(
            DataIssue(
                "Denosumab",
                "listed without any administration date",
                kind=IssueKind.NO_DOSE_DATE,
                domain=DataDomain.MEDICATIONS,
                topic=DrugClass.DENOSUMAB,
            )
        )
    if adult50 and dxa.latest_valid is not None and dxa.latest_with_t is None:
        issues.append(
            DataIssue(
                f"DXA {dxa.latest_valid.date.isoformat()}",
                "no T-score at a diagnostic site",
                kind=IssueKind.NO_DIAGNOSTIC_T_SCORE,
                domain=DataDomain.DXA,
            )
        )
    if facts.birth_date is None:
        issues.append(
            DataIssue(
                "Birth date",
                "missing: age-based rules could not run",
                kind=IssueKind.MISSING,
                domain=DataDomain.PATIENT,
            )
        )
    d = therapy.denosumab
    denosumab_overdue = d.last_dose is not None and not d.follow_on and d.due is not None and today > d.due
    return Assessment(
        facts=facts,
        today=today,
        path=path,
        dxa=dxa,
        fractures=fractures,
        therapy=therapy,
        gc=gc,
        frax=frax,
        labs=labs,
        clinical_osteoporosis=clinical,
        tx01_reasons=tx01,
        tx02_reasons=tx02,
        acr=acr,
        spinal_procedure=_spinal_procedure(facts, today),
        bhc_reasons=_bhc_reasons(path, facts, dxa, fractures, therapy, gc, clinical),
        risk_tier=_risk_tier(path, denosumab_overdue, tx02, tx01, clinical, dxa, frax),
        issues=tuple(issues),
        incomplete_domains=frozenset(facts.unavailable) | frozenset(facts.partial),
        holiday=bisphosphonate_holiday(therapy, fractures, exposures, today),
    )
