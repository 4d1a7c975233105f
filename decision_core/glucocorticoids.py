"""C-07 systemic glucocorticoid exposure in prednisone equivalents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .dates import add_months
from .facts import DataDomain, DataIssue, DrugClass, IssueKind, MedicationExposure, MedicationStatus
from .thresholds import THRESHOLDS

# mg of prednisone per mg of drug, from the US prednisolone label ratios quoted in C-07
# (prednisone 5 = prednisolone 5 = methylprednisolone 4 = triamcinolone 4 = hydrocortisone 20 = cortisone 25 =
# dexamethasone 0.75 = betamethasone 0.75).
PREDNISONE_EQUIVALENT_FACTORS: dict[str, Decimal] = {
    "prednisone": Decimal(1),
    "prednisolone": Decimal(1),
    "methylprednisolone": Decimal(5) / Decimal(4),
    "triamcinolone": Decimal(5) / Decimal(4),
    "hydrocortisone": Decimal(5) / Decimal(20),
    "cortisone": Decimal(5) / Decimal(25),
    "dexamethasone": Decimal(5) / Decimal("0.75"),
    "betamethasone": Decimal(5) / Decimal("0.75"),
}

# Inhaled, topical, nasal, ophthalmic and the like are excluded (C-07). No route recorded: counted as
# systemic,
# because systemic tablets are what usually arrives without a route and under-counting hides GIOP risk.
SYSTEMIC_ROUTES = frozenset({"oral", "sublingual", "intravenous", "intramuscular", "subcutaneous", "po", "iv", "im"})
# Budesonide has no accepted systemic prednisone equivalent (high first-pass metabolism).
NO_SYSTEMIC_EQUIVALENT = frozenset({"budesonide"})


@dataclass(frozen=True, slots=True)
class GcCourse:
    drug: str
    record: str
    dose: Decimal  # prednisone-equivalent mg/day
    start: date
    taken_until: date  # last day taken so far (<= today), or start for a course not begun
    planned_until: date  # last day including the planned duration
    planned: bool  # not begun yet (ordered)


@dataclass(frozen=True, slots=True)
class GcRun:
    start: date
    end: date  # including planned days

    @property
    def days(self) -> int:
        return (self.end - self.start).days


@dataclass(frozen=True, slots=True)
class GcExposure:
    courses: tuple[GcCourse, ...]
    gc_dose: Decimal  # current daily prednisone-equivalent (0 when none recent)
    gc_days: int  # continuous days at >= 2.5 mg/d, elapsed plus planned, for a run active within 30 days
    gc_cum12: Decimal  # mg taken over the past 12 months
    qualifies: bool  # C-07: >= 2.5 mg/d for >= 90 days, active within the last 30 days (or planned)
    very_high_dose: bool  # >= 30 mg/d for > 30 days, or >= 5 g over 12 months (ACR22 very high)
    moderate_young_dose: bool  # >= 7.5 mg/d for >= 6 months (ACR22, adults < 40)
    frax_input_yes: bool  # FRAX definition: >= 5 mg/d for >= 3 months, past or present
    drugs: tuple[str, ...]  # drugs of the current/recent run
    issues: tuple[DataIssue, ...]


def _is_systemic(exposure: MedicationExposure) -> bool:
    if exposure.drug.lower() in NO_SYSTEMIC_EQUIVALENT:
        return False
    return exposure.route is None or exposure.route.lower() in SYSTEMIC_ROUTES


def prednisone_equivalent(exposure: MedicationExposure) -> Decimal | None:
    if exposure.prednisone_eq_mg_per_day is not None:
        return exposure.prednisone_eq_mg_per_day
    factor = PREDNISONE_EQUIVALENT_FACTORS.get(exposure.drug.lower())
    if factor is None or exposure.dose_mg_per_day is None:
        return None
    return exposure.dose_mg_per_day * factor


def _course(exposure: MedicationExposure, dose: Decimal, today: date) -> GcCourse | None:
    planned = exposure.status == MedicationStatus.PLANNED or (exposure.start is not None and exposure.start > today)
    start = exposure.start if exposure.start is not None else (today if planned else None)
    if start is None:
        return None
    if planned:
        taken_until = start
    elif exposure.end is not None:
        taken_until = min(exposure.end, today)
    elif exposure.status == MedicationStatus.ACTIVE:
        taken_until = today
    else:
        taken_until = start
    taken_until = max(taken_until, start)
    planned_until = taken_until
    if exposure.end is not None:
        planned_until = max(planned_until, exposure.end)
    if exposure.planned_days is not None:
        planned_until = max(planned_until, start + timedelta(days=exposure.planned_days))
    if exposure.status in (MedicationStatus.STOPPED, MedicationStatus.COMPLETED) and exposure.end is None:
        planned_until = taken_until  # a stopped course's plan no longer applies
    return GcCourse(exposure.drug, exposure.record, dose, start, taken_until, planned_until, planned)


def _recent(run_end_taken: date, has_planned: bool, today: date) -> bool:
    return has_planned or (today - run_end_taken).days <= THRESHOLDS.gc_recent_days


def _current_run(courses: list[GcCourse], min_dose: Decimal, today: date) -> tuple[GcRun, list[GcCourse]] | None:
    """The continuous run of courses at >= min_dose that is active now, ended within 30 days, or planned."""
    eligible = sorted((c for c in courses if c.dose >= min_dose), key=lambda c: c.start)
    runs: list[tuple[GcRun, list[GcCourse]]] = []
    for course in eligible:
        if runs and (course.start - runs[-1][0].end).days <= THRESHOLDS.gc_course_gap_merge_days:
            run, members = runs[-1]
            runs[-1] = (GcRun(run.start, max(run.end, course.planned_until)), [*members, course])
        else:
            runs.append((GcRun(course.start, course.planned_until), [course]))
    for run, members in reversed(runs):
        taken = max(c.taken_until for c in members)
        if _recent(taken, any(c.planned or c.planned_until > today for c in members), today):
            return run, members
    return None


def _current_dose(courses: list[GcCourse], today: date) -> Decimal:
    active = [c for c in courses if not c.planned and c.start <= today <= c.planned_until and c.taken_until >= today]
    if active:
        return sum((c.dose for c in active), Decimal(0))
    planned = [c for c in courses if c.planned]
    if planned:
        return sum((c.dose for c in planned), Decimal(0))
    ended = [c for c in courses if (today - c.taken_until).days <= THRESHOLDS.gc_recent_days]
    if ended:
        return max(ended, key=lambda c: c.taken_until).dose
    return Decimal(0)


def _cumulative_12_months(courses: list[GcCourse], today: date) -> Decimal:
    window_start = add_months(today, -12)
    total = Decimal(0)
    for c in courses:
        if c.planned:
            continue
        first = max(c.start, window_start)
        last = min(c.taken_until, today)
        if last >= first:
            total += c.dose * ((last - first).days + 1)
    return total


def _gc_issue(e: MedicationExposure, reason: str, kind: IssueKind) -> DataIssue:
    return DataIssue(
        f"Glucocorticoid {e.display}",
        reason,
        e.record,
        kind=kind,
        domain=DataDomain.MEDICATIONS,
        topic=DrugClass.GLUCOCORTICOID,
    )


def assess_glucocorticoids(exposures: tuple[MedicationExposure, ...], today: date) -> GcExposure:
    th = THRESHOLDS
    courses: list[GcCourse] = []
    issues: list[DataIssue] = []
    for e in exposures:
        if e.drug_class != DrugClass.GLUCOCORTICOID or not _is_systemic(e):
            continue
        dose = prednisone_equivalent(e)
        if dose is None:
            issues.append(_gc_issue(e, "no dose recorded", IssueKind.NO_DOSE))
            continue
        course = _course(e, dose, today)
        if course is None:
            if e.status == MedicationStatus.ACTIVE:
                issues.append(_gc_issue(e, "no start date: duration unknown", IssueKind.NO_START_DATE))
            continue
        courses.append(course)
    run = _current_run(courses, th.gc_min_dose_mg, today)
    gc_days = run[0].days if run else 0
    gc_dose = _current_dose(courses, today)
    qualifies = run is not None and gc_dose >= th.gc_min_dose_mg and gc_days >= th.gc_min_days
    high_run = _current_run(courses, th.gc_very_high_dose_mg, today)
    cum12 = _cumulative_12_months(courses, today)
    very_high_dose = (
        high_run is not None and gc_dose >= th.gc_very_high_dose_mg and high_run[0].days > th.gc_very_high_dose_min_days
    ) or cum12 >= th.gc_very_high_cum12_mg
    young_run = _current_run(courses, th.gc_acr_moderate_young_dose_mg, today)
    moderate_young = (
        young_run is not None and add_months(young_run[0].start, th.gc_acr_moderate_young_months) <= young_run[0].end
    )
    frax_yes = any(
        c.dose >= th.gc_frax_input_dose_mg and (c.taken_until - c.start).days >= th.gc_min_days for c in courses
    )
    drugs = tuple(sorted({c.drug for c in run[1]})) if run else ()
    return GcExposure(
        courses=tuple(courses),
        gc_dose=gc_dose,
        gc_days=gc_days,
        gc_cum12=cum12,
        qualifies=qualifies,
        very_high_dose=very_high_dose,
        moderate_young_dose=moderate_young,
        frax_input_yes=frax_yes,
        drugs=drugs,
        issues=tuple(issues),
    )
