"""C-09 lab normalization: latest interpretable value in its window, corrected calcium, 25(OH)D band.

Values arrive converted to canonical units by the extraction. The core re-checks the canonical unit and never
interprets a value whose unit is missing or different (§7.10); such values become DATA-03 issues.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .dates import within_days_before, within_months_before
from .facts import Analyte, DataDomain, DataIssue, IssueKind, LabResult
from .thresholds import THRESHOLDS


def norm_unit(unit: str) -> str:
    return (
        unit.lower()
        .replace(" ", "")
        .replace("{", "")
        .replace("}", "")
        .replace("_", "")
        .replace("²", "2")
        .replace("^", "")
        .replace("µ", "u")
        .replace("μ", "u")
    )


# Interpreted analytes and the canonical units accepted for them (normalized spelling).
CANONICAL_UNITS: dict[Analyte, frozenset[str]] = {
    Analyte.VITAMIN_D_25OH: frozenset({"ng/ml", "ug/l"}),
    Analyte.CALCIUM: frozenset({"mg/dl"}),
    Analyte.ALBUMIN: frozenset({"g/dl"}),
    Analyte.EGFR: frozenset({"ml/min/1.73m2", "ml/min/1.73.m2"}),
    Analyte.CT_HU: frozenset({"[hnsf'u]", "hu"}),
}
CANONICAL_DISPLAY: dict[Analyte, str] = {
    Analyte.VITAMIN_D_25OH: "ng/mL",
    Analyte.CALCIUM: "mg/dL",
    Analyte.ALBUMIN: "g/dL",
    Analyte.EGFR: "mL/min/1.73m2",
    Analyte.CT_HU: "HU",
}
ANALYTE_NAMES: dict[Analyte, str] = {
    Analyte.VITAMIN_D_25OH: "25-OH D",
    Analyte.CALCIUM: "Ca",
    Analyte.ALBUMIN: "albumin",
    Analyte.PHOSPHATE: "phos",
    Analyte.PTH: "PTH",
    Analyte.ALP: "ALP",
    Analyte.TSH: "TSH",
    Analyte.CREATININE: "creatinine",
    Analyte.EGFR: "eGFR",
    Analyte.CBC: "CBC",
    Analyte.SPEP: "SPEP",
    Analyte.TESTOSTERONE: "testosterone",
    Analyte.CT_HU: "CT HU",
}

# LAB-01 core labs, by short name; testosterone is added for males.
CORE_LAB_ANALYTES: dict[str, tuple[Analyte, ...]] = {
    "CBC": (Analyte.CBC,),
    "Ca": (Analyte.CALCIUM,),
    "albumin": (Analyte.ALBUMIN,),
    "phos": (Analyte.PHOSPHATE,),
    "eGFR": (Analyte.EGFR, Analyte.CREATININE),
    "ALP": (Analyte.ALP,),
    "TSH": (Analyte.TSH,),
    "25-OH D": (Analyte.VITAMIN_D_25OH,),
}
TESTOSTERONE = "testosterone"


class VitaminDBand(StrEnum):
    SEVERE = "severe"  # < 12.0 ng/mL
    DEFICIENT = "deficient"  # 12.0 - < 20.0
    INSUFFICIENT = "insufficient"  # 20.0 - < 30.0
    TARGET = "target"  # 30.0 - 50.0
    HIGH = "high"  # > 50.0


def vitamin_d_band(ng_ml: Decimal) -> VitaminDBand:
    th = THRESHOLDS
    if ng_ml < th.vitd_severe_below:
        return VitaminDBand.SEVERE
    if ng_ml < th.vitd_deficient_below:
        return VitaminDBand.DEFICIENT
    if ng_ml < th.vitd_target_min:
        return VitaminDBand.INSUFFICIENT
    if ng_ml <= th.vitd_high_above:
        return VitaminDBand.TARGET
    return VitaminDBand.HIGH


@dataclass(frozen=True, slots=True)
class LabValue:
    analyte: Analyte
    value: Decimal
    effective: date
    record: str
    original_value: Decimal | None
    original_unit: str | None
    reference_low: Decimal | None

    def as_value(self) -> dict[str, object]:
        return {
            "value": self.value,
            "unit": CANONICAL_DISPLAY.get(self.analyte),
            "date": self.effective,
            "original_value": self.original_value,
            "original_unit": self.original_unit,
        }


@dataclass(frozen=True, slots=True)
class CorrectedCalcium:
    value: Decimal  # corrected total calcium, mg/dL (measured when no paired albumin)
    measured: Decimal
    albumin: Decimal | None
    effective: date
    record: str
    lln: Decimal  # lab reference low, or 8.5 mg/dL

    @property
    def below_lln(self) -> bool:
        return self.value < self.lln


@dataclass(frozen=True, slots=True)
class LabAssessment:
    usable: tuple[LabValue, ...]  # interpretable values of interpreted analytes, newest first
    present: tuple[tuple[Analyte, date], ...]  # every usable result (incl. presence-only analytes)
    conflicted: frozenset[Analyte]
    issues: tuple[DataIssue, ...]

    def latest(self, analyte: Analyte, today: date, months: int | None = None) -> LabValue | None:
        if analyte in self.conflicted:
            return None
        window = THRESHOLDS.lab_window_months if months is None else months
        for v in self.usable:
            if v.analyte == analyte and within_months_before(v.effective, today, window):
                return v
        return None

    def latest_within_days(self, analyte: Analyte, today: date, days: int) -> LabValue | None:
        if analyte in self.conflicted:
            return None
        for v in self.usable:
            if v.analyte == analyte and within_days_before(v.effective, today, days):
                return v
        return None

    def has_within(self, analyte: Analyte, today: date, months: int) -> bool:
        if analyte in self.conflicted:
            return False
        return any(a == analyte and within_months_before(d, today, months) for a, d in self.present)

    def corrected_calcium(self, today: date, days: int | None = None) -> CorrectedCalcium | None:
        th = THRESHOLDS
        if days is None:
            calcium = self.latest(Analyte.CALCIUM, today)
        else:
            calcium = self.latest_within_days(Analyte.CALCIUM, today, days)
        if calcium is None:
            return None
        albumin = None
        if Analyte.ALBUMIN not in self.conflicted:
            paired = [
                v
                for v in self.usable
                if v.analyte == Analyte.ALBUMIN
                and abs((v.effective - calcium.effective).days) <= th.albumin_pairing_days
            ]
            if paired:
                albumin = min(paired, key=lambda v: abs((v.effective - calcium.effective).days))
        value = calcium.value
        if albumin is not None:
            value = calcium.value + th.calcium_albumin_factor * (th.albumin_reference_g_dl - albumin.value)
        return CorrectedCalcium(
            value=value,
            measured=calcium.value,
            albumin=albumin.value if albumin else None,
            effective=calcium.effective,
            record=calcium.record,
            lln=calcium.reference_low if calcium.reference_low is not None else th.calcium_default_lln_mg_dl,
        )


def _unit_problem(lab: LabResult) -> str | None:
    accepted = CANONICAL_UNITS.get(lab.analyte)
    if accepted is None:
        return None
    if lab.value is None:
        return "no value"
    if lab.unit is None or not lab.unit.strip():
        return "unit missing"
    if norm_unit(lab.unit) not in accepted:
        return f"unit '{lab.unit}' is not {CANONICAL_DISPLAY[lab.analyte]}"
    return None


def assess_labs(labs: tuple[LabResult, ...], issue_records: frozenset[str]) -> LabAssessment:
    th = THRESHOLDS
    usable: list[LabValue] = []
    present: list[tuple[Analyte, date]] = []
    issues: list[DataIssue] = []
    for lab in sorted(labs, key=lambda x: x.effective, reverse=True):
        if lab.record in issue_records:
            continue
        problem = _unit_problem(lab)
        if problem is not None:
            issues.append(
                DataIssue(
                    f"{ANALYTE_NAMES[lab.analyte]} {lab.effective.isoformat()}",
                    problem,
                    lab.record,
                    kind=IssueKind.NOT_CANONICAL_UNIT,
                    domain=DataDomain.LABS,
                    topic=lab.analyte,
                )
            )
            continue
        present.append((lab.analyte, lab.effective))
        if lab.analyte in CANONICAL_UNITS and lab.value is not None:
            usable.append(
                LabValue(
                    lab.analyte,
                    lab.value,
                    lab.effective,
                    lab.record,
                    lab.original_value,
                    lab.original_unit,
                    lab.reference_low,
                )
            )
    conflicted: set[Analyte] = set()
    for analyte in CANONICAL_UNITS:
        values = [v for v in usable if v.analyte == analyte]
        if not values:
            continue
        newest = values[0].effective
        same_day = [v.value for v in values if v.effective == newest]
        low, high = min(same_day), max(same_day)
        if low > 0 and (high - low) / low > th.duplicate_conflict_fraction:
            conflicted.add(analyte)
            issues.append(
                DataIssue(
                    f"{ANALYTE_NAMES[analyte]} {newest.isoformat()}",
                    f"same-day results differ by more than 10% ({low} vs {high})",
                    values[0].record,
                    kind=IssueKind.CONFLICTING_VALUES,
                    domain=DataDomain.LABS,
                    topic=analyte,
                )
            )
    return LabAssessment(tuple(usable), tuple(present), frozenset(conflicted), tuple(issues))


def nmol_per_l(ng_ml: Decimal) -> Decimal:
    return (ng_ml * THRESHOLDS.vitd_nmol_per_ng).quantize(Decimal("0.1"))
