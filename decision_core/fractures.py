"""C-05 fragility fracture classification."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .dates import within_months_before
from .facts import Fracture, FractureSite
from .thresholds import THRESHOLDS


class FractureGroup(StrEnum):
    HIP = "hip"
    VERTEBRAL = "vertebral"
    OTHER_MAJOR = "other-major"  # distal forearm/wrist, proximal humerus, pelvis
    OTHER = "other"


class FragilityBasis(StrEnum):
    CODED = "coded-osteoporotic"
    LOW_TRAUMA = "low-trauma"
    PRESUMED = "presumed"  # hip/vertebral with no high-energy mechanism recorded: stated in the card


_GROUPS: dict[FractureSite, FractureGroup] = {
    FractureSite.HIP: FractureGroup.HIP,
    FractureSite.VERTEBRAL: FractureGroup.VERTEBRAL,
    FractureSite.DISTAL_FOREARM: FractureGroup.OTHER_MAJOR,
    FractureSite.PROXIMAL_HUMERUS: FractureGroup.OTHER_MAJOR,
    FractureSite.PELVIS: FractureGroup.OTHER_MAJOR,
    FractureSite.OTHER: FractureGroup.OTHER,
}

_BASIS_STRENGTH = {FragilityBasis.CODED: 0, FragilityBasis.LOW_TRAUMA: 1, FragilityBasis.PRESUMED: 2}


@dataclass(frozen=True, slots=True)
class FragilityFracture:
    site: FractureSite
    group: FractureGroup
    onset: date | None
    record: str
    display: str
    basis: FragilityBasis
    age_at_onset: int | None
    counts: bool  # C-05: onset at age >= 40 (or age unknown)
    treatment_qualifying: bool  # onset at age >= 50, or onset unknown in a patient now >= 50
    recent: bool  # onset within 12 months of NOW
    on_therapy: bool  # onset during active osteoporosis therapy

    @property
    def presumed(self) -> bool:
        return self.basis == FragilityBasis.PRESUMED

    @property
    def hip_or_vertebral(self) -> bool:
        return self.group in (FractureGroup.HIP, FractureGroup.VERTEBRAL)

    def as_value(self) -> dict[str, object]:
        return {
            "site": str(self.site),
            "group": str(self.group),
            "date": self.onset,
            "basis": str(self.basis),
            "display": self.display,
        }


def _basis(fracture: Fracture) -> FragilityBasis | None:
    if fracture.site == FractureSite.EXCLUDED:
        return None
    if fracture.coded_osteoporotic:
        return FragilityBasis.CODED
    if fracture.low_trauma is True:
        return FragilityBasis.LOW_TRAUMA
    if fracture.low_trauma is None and fracture.site in (FractureSite.HIP, FractureSite.VERTEBRAL):
        return FragilityBasis.PRESUMED
    return None


@dataclass(frozen=True, slots=True)
class FractureAssessment:
    mechanism_fragility: tuple[FragilityFracture, ...]  # fragility by mechanism, any age (GC-01 uses these)
    any_fracture_onset_ages: tuple[int | None, ...]  # all non-excluded fractures (DATA-01 "fracture >= 50")

    @property
    def fragility(self) -> tuple[FragilityFracture, ...]:
        """C-05 fragility fractures (onset at >= 40 or unknown)."""
        return tuple(f for f in self.mechanism_fragility if f.counts)

    @property
    def qualifying(self) -> tuple[FragilityFracture, ...]:
        """Fragility fractures that count for treatment rules (>= 50)."""
        return tuple(f for f in self.mechanism_fragility if f.counts and f.treatment_qualifying)

    @property
    def qualifying_hip_vertebral(self) -> tuple[FragilityFracture, ...]:
        return tuple(f for f in self.qualifying if f.hip_or_vertebral)

    @property
    def qualifying_other_major(self) -> tuple[FragilityFracture, ...]:
        return tuple(f for f in self.qualifying if f.group == FractureGroup.OTHER_MAJOR)


def _same_event(a: FragilityFracture, b: FragilityFracture) -> bool:
    if a.site != b.site:
        return False
    if a.onset is None or b.onset is None:
        return a.onset is None and b.onset is None
    return abs((a.onset - b.onset).days) <= THRESHOLDS.duplicate_fracture_days


def _deduplicate(fractures: list[FragilityFracture]) -> list[FragilityFracture]:
    """A hip fracture is often recorded as a Condition and again as the repair Procedure: count it once."""
    kept: list[FragilityFracture] = []
    ordered = sorted(fractures, key=lambda f: (_BASIS_STRENGTH[f.basis], f.onset or date.max, f.record))
    for fracture in ordered:
        if not any(_same_event(fracture, other) for other in kept):
            kept.append(fracture)
    return sorted(kept, key=lambda f: (f.onset or date.min, f.record), reverse=True)


def assess_fractures(
    fractures: tuple[Fracture, ...],
    today: date,
    age_on: Callable[[date], int | None],
    current_age: int | None,
    on_therapy_on: Callable[[date], bool],
) -> FractureAssessment:
    th = THRESHOLDS
    found: list[FragilityFracture] = []
    onset_ages: list[int | None] = []
    for fracture in fractures:
        if fracture.site == FractureSite.EXCLUDED:
            continue
        age_at_onset = age_on(fracture.onset) if fracture.onset else None
        onset_ages.append(age_at_onset)
        basis = _basis(fracture)
        if basis is None:
            continue
        if age_at_onset is not None:
            counts = age_at_onset >= th.fracture_min_age
            qualifying = age_at_onset >= th.fracture_treatment_min_age
        else:
            counts = True
            qualifying = current_age is not None and current_age >= th.fracture_treatment_min_age
        recent = fracture.onset is not None and within_months_before(fracture.onset, today, th.recent_fracture_months)
        found.append(
            FragilityFracture(
                site=fracture.site,
                group=_GROUPS[fracture.site],
                onset=fracture.onset,
                record=fracture.record,
                display=fracture.display,
                basis=basis,
                age_at_onset=age_at_onset,
                counts=counts,
                treatment_qualifying=qualifying,
                recent=recent,
                on_therapy=fracture.onset is not None and on_therapy_on(fracture.onset),
            )
        )
    return FractureAssessment(tuple(_deduplicate(found)), tuple(onset_ages))
