"""C-02 DXA studies, C-03 valid diagnostic sites, C-04 WHO category with persistence."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from .dates import add_months, months_between
from .facts import BoneSite, DataDomain, DataIssue, DxaMeasurement, DxaStudy, IssueKind, ScoreKind
from .thresholds import THRESHOLDS

# Tie-break order for the lowest score (C-04: LS, FN, TH, R33).
# FEMUR (neck or total hip, not stated) sits with the hip.
_SITE_ORDER: dict[BoneSite, int] = {
    BoneSite.LUMBAR_SPINE: 0,
    BoneSite.FEMORAL_NECK: 1,
    BoneSite.TOTAL_HIP: 2,
    BoneSite.FEMUR: 3,
    BoneSite.RADIUS_33: 4,
}


_EXCLUDED_REASONS: dict[BoneSite, str] = {
    BoneSite.FOREARM: "forearm other than the 33% radius is not diagnostic",
    BoneSite.CALCANEUS: "peripheral (heel) measurement is not diagnostic",
    BoneSite.WARDS: "Ward's area is not diagnostic",
    BoneSite.TROCHANTER: "greater trochanter is not diagnostic",
    BoneSite.WHOLE_BODY: "whole body is not diagnostic",
    BoneSite.UNSPECIFIED: "no measurement site recorded",
}

HIP_SITES = frozenset({BoneSite.TOTAL_HIP, BoneSite.FEMORAL_NECK, BoneSite.FEMUR})


class BmdCategory(StrEnum):
    NORMAL = "normal"
    LOW_BONE_MASS = "low-bone-mass"
    OSTEOPOROSIS = "osteoporosis"


@dataclass(frozen=True, slots=True)
class SiteValue:
    kind: ScoreKind
    site: BoneSite
    label: str  # "left femoral neck", "lumbar spine L1-L2"
    value: Decimal
    effective: date
    record: str

    def as_value(self) -> dict[str, object]:
        return {"kind": str(self.kind), "site": self.label, "value": self.value, "date": self.effective}


@dataclass(frozen=True, slots=True)
class ExcludedValue:
    kind: ScoreKind
    label: str
    value: Decimal
    effective: date
    record: str
    reason: str

    def as_value(self) -> dict[str, object]:
        return {"kind": str(self.kind), "site": self.label, "value": self.value, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class StudyReading:
    date: date
    valid: tuple[SiteValue, ...]
    excluded: tuple[ExcludedValue, ...]

    @property
    def valid_t(self) -> tuple[SiteValue, ...]:
        return tuple(v for v in self.valid if v.kind == ScoreKind.T)

    @property
    def valid_z(self) -> tuple[SiteValue, ...]:
        return tuple(v for v in self.valid if v.kind == ScoreKind.Z)

    @property
    def lowest_t(self) -> SiteValue | None:
        return lowest(self.valid_t)

    @property
    def lowest_z(self) -> SiteValue | None:
        return lowest(self.valid_z)

    def site_t(self, sites: frozenset[BoneSite]) -> SiteValue | None:
        return lowest(tuple(v for v in self.valid_t if v.site in sites))


def lowest(values: tuple[SiteValue, ...]) -> SiteValue | None:
    """Minimum value; ties go to the first site in the order LS, FN, TH, (femur), R33 (C-04)."""
    if not values:
        return None
    return min(values, key=lambda v: (v.value, _SITE_ORDER.get(v.site, 99), v.label))


def _vertebra_key(name: str) -> tuple[str, int]:
    match = re.fullmatch(r"\s*([A-Za-z]+)\s*(\d+)\s*", name)
    if match is None:
        return (name.upper(), 0)
    return (match.group(1).upper(), int(match.group(2)))


def _vertebrae_text(vertebrae: tuple[str, ...]) -> str:
    keys = sorted({_vertebra_key(v) for v in vertebrae}, key=lambda k: ({"C": 0, "T": 1, "L": 2}.get(k[0], 3), k[1]))
    names = [f"{letter}{number}" if number else letter for letter, number in keys]
    contiguous = all(a[0] == b[0] and b[1] == a[1] + 1 for a, b in pairwise(keys))
    if len(names) > 1 and contiguous:
        return f"{names[0]}-{names[-1]}"
    return ",".join(names)


def site_label(m: DxaMeasurement) -> str:
    name = m.site.label
    if m.site == BoneSite.LUMBAR_SPINE and m.vertebrae:
        name = f"{name} {_vertebrae_text(m.vertebrae)}"
    if m.side is not None and m.site not in (BoneSite.LUMBAR_SPINE, BoneSite.WHOLE_BODY):
        name = f"{m.side} {name}"
    return name


def _exclusion_reason(m: DxaMeasurement, issue_records: frozenset[str]) -> str | None:
    th = THRESHOLDS
    if m.record in issue_records:
        return "recorded as a data issue"
    if abs(m.value) > th.score_plausible_abs_max:
        return f"{m.kind}-score {m.value} outside -{th.score_plausible_abs_max}..+{th.score_plausible_abs_max}"
    if m.site == BoneSite.LUMBAR_SPINE:
        distinct = {_vertebra_key(v) for v in m.vertebrae}
        if m.vertebrae and len(distinct) < th.min_spine_vertebrae:
            return "single vertebra (at least 2 evaluable vertebrae are needed)"
        return None
    if m.site in _SITE_ORDER:
        return None
    return _EXCLUDED_REASONS.get(m.site, "not a diagnostic site")


def read_study(study: DxaStudy, issue_records: frozenset[str]) -> StudyReading:
    valid: list[SiteValue] = []
    excluded: list[ExcludedValue] = []
    for m in study.measurements:
        if m.kind not in (ScoreKind.T, ScoreKind.Z):
            continue  # areal BMD (g/cm2) is context only
        label = site_label(m)
        reason = _exclusion_reason(m, issue_records)
        if reason is None:
            valid.append(SiteValue(m.kind, m.site, label, m.value, m.effective, m.record))
        else:
            excluded.append(ExcludedValue(m.kind, label, m.value, m.effective, m.record, reason))
    return StudyReading(study.date, tuple(valid), tuple(excluded))


def _issue_item(value: ExcludedValue, day: date) -> str:
    return f"DXA {value.kind}-score {value.value} ({value.label}) {day.isoformat()}"


def category_of(lowest_t: Decimal) -> BmdCategory:
    th = THRESHOLDS
    if lowest_t <= th.t_osteoporosis_max:
        return BmdCategory.OSTEOPOROSIS
    if lowest_t < th.t_normal_min:
        return BmdCategory.LOW_BONE_MASS
    return BmdCategory.NORMAL


@dataclass(frozen=True, slots=True)
class DxaAssessment:
    studies: tuple[StudyReading, ...]  # newest first, every study on file
    last_study_date: date | None  # any study, valid or not: the 12-month floor for a new DXA counts from here
    latest_valid: StudyReading | None  # newest study with any valid T or Z
    latest_with_t: StudyReading | None  # newest study with a valid T (WHO category, ADULT50)
    lowest_t: SiteValue | None  # in latest_with_t
    category: BmdCategory | None  # C-04 densitometric category of the latest study (ADULT50 only)
    historical_osteoporosis: SiteValue | None  # persistence: an earlier study with lowest T <= -2.5
    age_months: int | None  # of latest_with_t (or latest_valid when no T)
    stale: bool  # latest diagnostic study > 24 months old
    issues: tuple[DataIssue, ...]
    # Studies with no valid value for a reason other than a non-diagnostic site (implausible, one vertebra...):
    # DXA-coded results that could not be interpreted, so "no DXA on record" cannot be claimed (DATA-01 rev 2).
    uninterpretable: tuple[date, ...] = ()
    # The newest study with only non-diagnostic sites (forearm, heel...), when no study has a valid value.
    non_diagnostic_only: date | None = None

    @property
    def has_valid(self) -> bool:
        return self.latest_valid is not None

    @property
    def effective_category(self) -> BmdCategory | None:
        """Category after persistence (osteoporosis once, osteoporosis always)."""
        if self.historical_osteoporosis is not None:
            return BmdCategory.OSTEOPOROSIS
        return self.category

    @property
    def low_bone_mass(self) -> bool:
        """WHO low bone mass on the latest study, with no osteoporosis now or before."""
        return self.effective_category == BmdCategory.LOW_BONE_MASS

    @property
    def osteoporosis(self) -> bool:
        return self.effective_category == BmdCategory.OSTEOPOROSIS

    def last_study_within(self, today: date, months: int) -> bool:
        return self.last_study_date is not None and today < add_months(self.last_study_date, months)


def assess_dxa(
    studies: tuple[DxaStudy, ...],
    today: date,
    issue_records: frozenset[str],
    t_counts_at: Callable[[date], bool],  # (study date) -> bool: was the patient on the WHO (ADULT50) path then
) -> DxaAssessment:
    th = THRESHOLDS
    ordered = sorted(studies, key=lambda s: s.date, reverse=True)
    readings = tuple(read_study(s, issue_records) for s in ordered)
    issues: list[DataIssue] = []
    for reading in readings:
        if reading.valid:
            continue
        for value in reading.excluded:
            issues.append(
                DataIssue(
                    _issue_item(value, reading.date),
                    value.reason,
                    value.record,
                    kind=IssueKind.STUDY_NOT_USABLE,
                    domain=DataDomain.DXA,
                )
            )
    # Implausible values inside otherwise usable studies are still data-quality problems worth naming.
    for reading in readings:
        if not reading.valid:
            continue
        for value in reading.excluded:
            if "outside" in value.reason or value.reason == "recorded as a data issue":
                issues.append(
                    DataIssue(
                        _issue_item(value, reading.date),
                        value.reason,
                        value.record,
                        kind=IssueKind.VALUE_EXCLUDED,
                        domain=DataDomain.DXA,
                    )
                )
    last_study_date = readings[0].date if readings else None
    latest_valid = next((r for r in readings if r.valid), None)
    latest_with_t = next((r for r in readings if r.valid_t), None)
    lowest_t = latest_with_t.lowest_t if latest_with_t else None
    category = category_of(lowest_t.value) if lowest_t is not None else None
    historical: SiteValue | None = None
    if latest_with_t is not None:
        for reading in readings:
            if reading.date >= latest_with_t.date or not t_counts_at(reading.date):
                continue
            earlier_lowest = reading.lowest_t
            if earlier_lowest is not None and earlier_lowest.value <= th.t_osteoporosis_max:
                historical = earlier_lowest
                break
    if category == BmdCategory.OSTEOPOROSIS:
        historical = None  # the current study already says it
    reference = latest_with_t or latest_valid
    age_months = months_between(reference.date, today) if reference else None
    stale = reference is not None and today > add_months(reference.date, th.dxa_stale_months)
    unusable = [r for r in readings if not r.valid]
    non_diagnostic = frozenset(_EXCLUDED_REASONS.values()) | {"not a diagnostic site"}
    uninterpretable = tuple(r.date for r in unusable if any(v.reason not in non_diagnostic for v in r.excluded))
    non_diagnostic_only = (
        next((r.date for r in unusable if r.date not in uninterpretable), None) if latest_valid is None else None
    )
    return DxaAssessment(
        studies=readings,
        last_study_date=last_study_date,
        latest_valid=latest_valid,
        latest_with_t=latest_with_t,
        lowest_t=lowest_t,
        category=category,
        historical_osteoporosis=historical,
        age_months=age_months,
        stale=stale,
        issues=tuple(issues),
        uninterpretable=uninterpretable,
        non_diagnostic_only=non_diagnostic_only,
    )
