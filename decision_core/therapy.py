"""C-06 osteoporosis pharmacotherapy: current therapy, treatment-naive, denosumab timing, duration.

The helpers (`oral_bisphosphonate_months`, `zoledronic_infusion_count`, `dose_dates`) are pure and public; the
extraction package may hold similar ones, to be de-duplicated later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .dates import add_months, months_between
from .facts import DrugClass, MedicationExposure, MedicationSource, MedicationStatus
from .thresholds import THRESHOLDS

OSTEOPOROSIS_CLASSES = frozenset(
    {
        DrugClass.BISPHOSPHONATE_ORAL,
        DrugClass.ZOLEDRONIC_ACID,
        DrugClass.DENOSUMAB,
        DrugClass.ANABOLIC,
        DrugClass.SERM,
        DrugClass.CALCITONIN,
    }
)
# Calcium, vitamin D and menopausal hormone therapy are never osteoporosis therapy (C-06, §7.15).
CONTINUOUS_CLASSES = frozenset(
    {DrugClass.BISPHOSPHONATE_ORAL, DrugClass.SERM, DrugClass.CALCITONIN, DrugClass.ANABOLIC}
)
BISPHOSPHONATE_CLASSES = frozenset({DrugClass.BISPHOSPHONATE_ORAL, DrugClass.ZOLEDRONIC_ACID})
DOSED_CLASSES = frozenset({DrugClass.ZOLEDRONIC_ACID, DrugClass.DENOSUMAB})
BONE_TOXIC_CLASSES = frozenset({DrugClass.AROMATASE_INHIBITOR, DrugClass.ANDROGEN_DEPRIVATION})
STOPPED_STATUSES = frozenset({MedicationStatus.STOPPED, MedicationStatus.COMPLETED, MedicationStatus.ON_HOLD})
DENOSUMAB_STOP_STATUSES = frozenset({MedicationStatus.STOPPED, MedicationStatus.ON_HOLD})


def dose_dates(exposure: MedicationExposure) -> tuple[date, ...]:
    """Dates a dose was actually given. A MedicationRequest is an order, never a dose."""
    dates = set(exposure.administrations)
    if not dates and exposure.source == MedicationSource.ADMINISTRATION and exposure.start is not None:
        dates.add(exposure.start)
    return tuple(sorted(dates))


def is_recorded(exposure: MedicationExposure) -> bool:
    """Counts as 'ever recorded' exposure (a draft/planned order is not exposure)."""
    return exposure.status != MedicationStatus.PLANNED


def active_on(exposure: MedicationExposure, today: date) -> bool:
    """An active continuous medication at `today`."""
    if exposure.status != MedicationStatus.ACTIVE:
        return False
    if exposure.start is not None and exposure.start > today:
        return False
    return exposure.end is None or exposure.end >= today


def exposure_period(exposure: MedicationExposure, today: date) -> tuple[date, date] | None:
    """The days a continuous medication was taken, as far as the record says (None without a start)."""
    if exposure.start is None or not is_recorded(exposure) or exposure.start > today:
        return None
    if exposure.end is not None:
        end = exposure.end
    elif exposure.status == MedicationStatus.ACTIVE:
        end = today
    elif exposure.planned_days:
        end = exposure.start + timedelta(days=exposure.planned_days)  # a finished course: its planned length
    else:
        end = exposure.start  # stopped with no end date and no planned length: only the start is documented
    return exposure.start, max(exposure.start, min(end, today))


def merge_periods(periods: list[tuple[date, date]], gap_days: int) -> list[tuple[date, date]]:
    """Merge periods whose gap is shorter than `gap_days` (the gap then counts as exposure)."""
    merged: list[tuple[date, date]] = []
    for start, end in sorted(periods):
        if merged and (start - merged[-1][1]).days < gap_days:
            previous_start, previous_end = merged[-1]
            merged[-1] = (previous_start, max(previous_end, end))
        else:
            merged.append((start, end))
    return merged


def oral_bisphosphonate_months(exposures: tuple[MedicationExposure, ...], today: date) -> int:
    """Cumulative oral bisphosphonate exposure in whole calendar months, merging gaps < 90 days (C-06)."""
    periods = [
        period
        for e in exposures
        if e.drug_class == DrugClass.BISPHOSPHONATE_ORAL
        if (period := exposure_period(e, today)) is not None
    ]
    merged = merge_periods(periods, THRESHOLDS.oral_bisphosphonate_gap_merge_days)
    return sum(months_between(start, end) for start, end in merged)


def _distinct_dates(dates: list[date], window_days: int) -> list[date]:
    kept: list[date] = []
    for day in sorted(dates):
        if not kept or (day - kept[-1]).days > window_days:
            kept.append(day)
    return kept


def zoledronic_infusion_dates(exposures: tuple[MedicationExposure, ...], today: date) -> tuple[date, ...]:
    dates = [
        d
        for e in exposures
        if e.drug_class == DrugClass.ZOLEDRONIC_ACID and is_recorded(e)
        for d in dose_dates(e)
        if d <= today
    ]
    return tuple(_distinct_dates(dates, THRESHOLDS.infusion_duplicate_days))


def zoledronic_infusion_count(exposures: tuple[MedicationExposure, ...], today: date) -> int:
    """Zoledronic acid infusions given (the same infusion recorded twice within 30 days counts once)."""
    return len(zoledronic_infusion_dates(exposures, today))


@dataclass(frozen=True, slots=True)
class BisphosphonateCourse:
    """The bisphosphonate course a holiday follows (C-06 rev 2): long enough (oral >= 36 months cumulative, or >= 3
    zoledronic acid infusions) and finished. `coverage_end` is when it stopped acting as therapy: the last oral
    exposure, or the last infusion + 12 months."""

    drug: str
    route: str  # "oral" or "intravenous"
    oral_months: int
    infusions: int
    last_exposure: date  # last oral day taken, or last infusion
    coverage_end: date


def finished_bisphosphonate_course(
    exposures: tuple[MedicationExposure, ...], today: date
) -> BisphosphonateCourse | None:
    """The latest long-enough bisphosphonate course, when no bisphosphonate is current. Oral and IV are counted
    separately (the table names either); when both qualify, the one whose coverage ended last."""
    th = THRESHOLDS
    candidates: list[BisphosphonateCourse] = []
    oral = [
        (e, period)
        for e in exposures
        if e.drug_class == DrugClass.BISPHOSPHONATE_ORAL
        if (period := exposure_period(e, today)) is not None
    ]
    months = oral_bisphosphonate_months(exposures, today)
    if oral and months >= th.holiday_oral_min_months:
        record, (_, last) = max(oral, key=lambda item: item[1][1])
        candidates.append(BisphosphonateCourse(record.drug, "oral", months, 0, last, last))
    infusions = zoledronic_infusion_dates(exposures, today)
    if len(infusions) >= th.holiday_zoledronic_min_infusions:
        last = infusions[-1]
        candidates.append(
            BisphosphonateCourse(
                "zoledronic acid",
                "intravenous",
                0,
                len(infusions),
                last,
                add_months(last, th.zoledronic_coverage_months),
            )
        )
    if not candidates:
        return None
    return max(candidates, key=lambda c: c.coverage_end)


def other_class_since(exposures: tuple[MedicationExposure, ...], since: date, today: date) -> bool:
    """A non-bisphosphonate osteoporosis drug (denosumab, anabolic, SERM, calcitonin) recorded after `since`."""
    for e in exposures:
        if e.drug_class not in OSTEOPOROSIS_CLASSES or e.drug_class in BISPHOSPHONATE_CLASSES or not is_recorded(e):
            continue
        dates = [*dose_dates(e), *([e.start] if e.start else []), *([e.end] if e.end else [])]
        if any(since < d <= today for d in dates) or (e.status == MedicationStatus.ACTIVE and e.start is None):
            return True
    return False


@dataclass(frozen=True, slots=True)
class CurrentAgent:
    drug_class: DrugClass
    drug: str
    record: str
    episode_start: date | None


@dataclass(frozen=True, slots=True)
class DenosumabState:
    last_dose: date | None  # D
    due: date | None  # D + 6 months
    records_without_dates: bool  # denosumab on the list, no dose date anywhere (DATA-03, SAFE-01 cannot run)
    marked_stopped: bool
    follow_on: bool  # a bisphosphonate started/given after D
    current: bool  # D <= 7 months ago (or active record without dates: timing unknown)
    months_since_last_dose: int | None


@dataclass(frozen=True, slots=True)
class TherapyAssessment:
    current: tuple[CurrentAgent, ...]
    ordered: tuple[MedicationExposure, ...]  # osteoporosis drugs ordered / planned but not yet given
    naive: bool  # no osteoporosis drug ever recorded
    ever: bool
    denosumab: DenosumabState
    oral_bisphosphonate_months: int
    zoledronic_infusions: int
    last_zoledronic: date | None
    on_calcium: bool
    on_vitamin_d: bool

    @property
    def on_therapy(self) -> bool:
        return bool(self.current)

    @property
    def current_classes(self) -> frozenset[DrugClass]:
        return frozenset(a.drug_class for a in self.current)

    @property
    def current_bisphosphonate(self) -> CurrentAgent | None:
        return next((a for a in self.current if a.drug_class in BISPHOSPHONATE_CLASSES), None)

    @property
    def treatment_started_or_ordered(self) -> bool:
        return self.on_therapy or bool(self.ordered)


def _chain_start(dates: list[date], max_gap_months: int) -> date | None:
    """First dose of the uninterrupted run of doses that ends with the latest dose."""
    if not dates:
        return None
    ordered = sorted(dates)
    start = ordered[-1]
    for earlier in reversed(ordered[:-1]):
        if add_months(earlier, max_gap_months) >= start:
            start = earlier
        else:
            break
    return start


def pending_orders(exposures: tuple[MedicationExposure, ...]) -> tuple[MedicationExposure, ...]:
    """Osteoporosis drugs ordered but not yet given: planned, or an active order with no dose on/after it."""
    pending: list[MedicationExposure] = []
    for e in exposures:
        if e.drug_class not in OSTEOPOROSIS_CLASSES:
            continue
        if e.status == MedicationStatus.PLANNED:
            pending.append(e)
            continue
        if (
            e.drug_class in DOSED_CLASSES
            and e.source == MedicationSource.REQUEST
            and e.status == MedicationStatus.ACTIVE
        ):
            given = [d for x in exposures if x.drug_class == e.drug_class for d in dose_dates(x)]
            not_given_since = e.start is not None and not any(d >= e.start for d in given)
            if not_given_since or (e.start is None and not given):
                pending.append(e)
    return tuple(pending)


def is_on_therapy_on(exposures: tuple[MedicationExposure, ...], day: date, today: date) -> bool:
    """Was any osteoporosis drug active on `day` (C-06 'current' applied at that day)?"""
    th = THRESHOLDS
    for e in exposures:
        if e.drug_class not in OSTEOPOROSIS_CLASSES or not is_recorded(e):
            continue
        if e.drug_class in CONTINUOUS_CLASSES:
            period = exposure_period(e, today)
            if period is not None and period[0] <= day <= period[1]:
                return True
        elif e.drug_class == DrugClass.ZOLEDRONIC_ACID:
            if any(d <= day <= add_months(d, th.zoledronic_current_months) for d in dose_dates(e)):
                return True
        elif e.drug_class == DrugClass.DENOSUMAB and any(
            d <= day <= add_months(d, th.denosumab_current_months) for d in dose_dates(e)
        ):
            return True
    return False


def _denosumab_state(exposures: tuple[MedicationExposure, ...], today: date) -> DenosumabState:
    th = THRESHOLDS
    records = [e for e in exposures if e.drug_class == DrugClass.DENOSUMAB and is_recorded(e)]
    doses = sorted({d for e in records for d in dose_dates(e) if d <= today})
    if not records:
        return DenosumabState(None, None, False, False, False, False, None)
    any_active = any(e.status == MedicationStatus.ACTIVE for e in records)
    # rev 2: only a record that says stopped (or on hold) is "marked stopped"; a completed injection is a last dose.
    marked_stopped = not any_active and any(e.status in DENOSUMAB_STOP_STATUSES for e in records)
    if not doses:
        return DenosumabState(None, None, True, marked_stopped, False, any_active, None)
    last = doses[-1]
    follow_on = False
    for e in exposures:
        if e.drug_class not in BISPHOSPHONATE_CLASSES or not is_recorded(e):
            continue
        started_after = e.start is not None and last < e.start <= today
        given_after = any(last < d <= today for d in dose_dates(e))
        if started_after or given_after:
            follow_on = True
    return DenosumabState(
        last_dose=last,
        due=add_months(last, th.denosumab_due_months),
        records_without_dates=False,
        marked_stopped=marked_stopped,
        follow_on=follow_on,
        current=today <= add_months(last, th.denosumab_current_months),
        months_since_last_dose=months_between(last, today),
    )


def assess_therapy(exposures: tuple[MedicationExposure, ...], today: date) -> TherapyAssessment:
    th = THRESHOLDS
    current: list[CurrentAgent] = []
    for drug_class in sorted(CONTINUOUS_CLASSES):
        records = [e for e in exposures if e.drug_class == drug_class]
        active = [e for e in records if active_on(e, today)]
        if not active:
            continue
        periods = [p for e in records if (p := exposure_period(e, today)) is not None]
        merged = merge_periods(periods, th.oral_bisphosphonate_gap_merge_days)
        episode = next((s for s, e in merged if s <= today <= e), None)
        current.append(CurrentAgent(drug_class, active[0].drug, active[0].record, episode))
    infusions = list(zoledronic_infusion_dates(exposures, today))
    last_zoledronic = infusions[-1] if infusions else None
    if last_zoledronic is not None and today <= add_months(last_zoledronic, th.zoledronic_current_months):
        record = next(
            e for e in exposures if e.drug_class == DrugClass.ZOLEDRONIC_ACID and last_zoledronic in dose_dates(e)
        )
        start = _chain_start(infusions, th.zoledronic_current_months)
        current.append(CurrentAgent(DrugClass.ZOLEDRONIC_ACID, record.drug, record.record, start))
    denosumab = _denosumab_state(exposures, today)
    if denosumab.current:
        dmab_records = [e for e in exposures if e.drug_class == DrugClass.DENOSUMAB and is_recorded(e)]
        doses = [d for e in dmab_records for d in dose_dates(e) if d <= today]
        start = _chain_start(doses, th.denosumab_current_months)
        current.append(CurrentAgent(DrugClass.DENOSUMAB, dmab_records[0].drug, dmab_records[0].record, start))
    ever = any(e.drug_class in OSTEOPOROSIS_CLASSES and is_recorded(e) for e in exposures)
    return TherapyAssessment(
        current=tuple(current),
        ordered=pending_orders(exposures),
        naive=not ever,
        ever=ever,
        denosumab=denosumab,
        oral_bisphosphonate_months=oral_bisphosphonate_months(exposures, today),
        zoledronic_infusions=len(infusions),
        last_zoledronic=last_zoledronic,
        on_calcium=any(e.drug_class == DrugClass.CALCIUM and active_on(e, today) for e in exposures),
        on_vitamin_d=any(e.drug_class == DrugClass.VITAMIN_D and active_on(e, today) for e in exposures),
    )


def new_bone_toxic_drug_since(exposures: tuple[MedicationExposure, ...], since: date, today: date) -> bool:
    """An aromatase inhibitor or androgen deprivation started after `since` and still active."""
    return any(
        e.drug_class in BONE_TOXIC_CLASSES and e.start is not None and e.start > since and active_on(e, today)
        for e in exposures
    )
