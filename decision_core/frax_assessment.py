"""C-08 FRAX validity and the glucocorticoid adjustment. The core never computes FRAX (§7.4, §8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .dates import add_months
from .facts import FraxResult
from .thresholds import THRESHOLDS


class FraxAdjustment(StrEnum):
    APPLIED = "applied"  # gc_dose > 7.5 and FRAX run with glucocorticoids = yes/unknown: MOF x1.15, hip x1.20
    NOT_APPLIED_DOSE = "not-applied-dose-at-or-below-7.5"  # on glucocorticoids, but <= 7.5 mg/d
    NOT_APPLIED_GC_INPUT_NO = "not-applied-gc-input-no"  # > 7.5 mg/d but FRAX says glucocorticoids = no
    NONE = "none"  # no current glucocorticoid


@dataclass(frozen=True, slots=True)
class FraxReading:
    result: FraxResult
    mof_raw: Decimal | None
    hip_raw: Decimal | None
    mof: Decimal | None  # after C-08 adjustment (never downward)
    hip: Decimal | None
    adjustment: FraxAdjustment
    invalid_reason: str | None  # None when valid

    @property
    def valid(self) -> bool:
        return self.invalid_reason is None

    @property
    def complete(self) -> bool:
        return self.mof is not None and self.hip is not None

    @property
    def at_treatment_threshold(self) -> bool:
        th = THRESHOLDS
        return (self.mof is not None and self.mof >= th.frax_mof_treat) or (
            self.hip is not None and self.hip >= th.frax_hip_treat
        )

    @property
    def below_thresholds(self) -> bool:
        th = THRESHOLDS
        return self.complete and self.mof < th.frax_mof_treat and self.hip < th.frax_hip_treat  # type: ignore[operator]

    @property
    def very_high(self) -> bool:
        """TX-02 (e): MOF > 30% or hip > 4.5% (strict)."""
        th = THRESHOLDS
        return (self.mof is not None and self.mof > th.frax_mof_very_high) or (
            self.hip is not None and self.hip > th.frax_hip_very_high
        )

    def as_values(self) -> dict[str, object]:
        return {
            "frax_mof": self.mof,
            "frax_hip": self.hip,
            "frax_mof_raw": self.mof_raw,
            "frax_hip_raw": self.hip_raw,
            "frax_date": self.result.effective,
            "frax_adjustment": str(self.adjustment),
        }


@dataclass(frozen=True, slots=True)
class FraxAssessment:
    latest: FraxReading | None  # newest FRAX on file, valid or not
    valid: FraxReading | None  # newest valid FRAX

    @property
    def note(self) -> str | None:
        """Why the newest FRAX on file is not used, for the card detail."""
        if self.latest is None or self.latest is self.valid:
            return None
        return self.latest.invalid_reason


def adjustment_for(gc_dose: Decimal, gc_input: bool | None) -> FraxAdjustment:
    th = THRESHOLDS
    if gc_dose > th.gc_frax_adjust_above_mg:
        return FraxAdjustment.NOT_APPLIED_GC_INPUT_NO if gc_input is False else FraxAdjustment.APPLIED
    if gc_dose > 0:
        return FraxAdjustment.NOT_APPLIED_DOSE
    return FraxAdjustment.NONE


def read_frax(
    result: FraxResult,
    today: date,
    age: int | None,
    latest_dxa: date | None,
    dxa_stale: bool,
    gc_dose: Decimal,
    on_therapy_on: Callable[[date], bool],
    issue_records: frozenset[str],
) -> FraxReading:
    th = THRESHOLDS
    adjustment = adjustment_for(gc_dose, result.glucocorticoid_input)
    mof, hip = result.mof_percent, result.hip_percent
    if adjustment == FraxAdjustment.APPLIED:
        mof = mof * th.frax_gc_mof_factor if mof is not None else None
        hip = hip * th.frax_gc_hip_factor if hip is not None else None
    reason: str | None = None
    if any(r in issue_records for r in result.records):
        reason = "recorded as a data issue"
    elif result.mof_percent is None and result.hip_percent is None:
        reason = "no MOF or hip probability recorded"
    elif result.effective > today:
        reason = "dated in the future"
    elif today > add_months(result.effective, th.frax_valid_months):
        reason = f"older than {th.frax_valid_months} months"
    elif latest_dxa is not None and result.effective < latest_dxa:
        reason = "older than the latest DXA"
    elif latest_dxa is not None and dxa_stale:
        reason = f"latest DXA is older than {th.dxa_stale_months} months"
    elif on_therapy_on(result.effective):
        reason = "calculated while on osteoporosis therapy"
    elif age is None or not th.frax_min_age <= age <= th.frax_max_age:
        reason = f"FRAX is valid for ages {th.frax_min_age}-{th.frax_max_age}"
    return FraxReading(result, result.mof_percent, result.hip_percent, mof, hip, adjustment, reason)


def assess_frax(
    results: tuple[FraxResult, ...],
    today: date,
    age: int | None,
    latest_dxa: date | None,
    dxa_stale: bool,
    gc_dose: Decimal,
    on_therapy_on: Callable[[date], bool],
    issue_records: frozenset[str],
) -> FraxAssessment:
    ordered = sorted(results, key=lambda r: r.effective, reverse=True)
    readings = [read_frax(r, today, age, latest_dxa, dxa_stale, gc_dose, on_therapy_on, issue_records) for r in ordered]
    latest = readings[0] if readings else None
    valid = next((r for r in readings if r.valid), None)
    return FraxAssessment(latest, valid)
