"""Every clinical threshold the core compares against, in one frozen object, each with its source keys.

Sources are the keys of decision table §0.1/§0.2. Values are `Decimal` (compared exactly, never as float) or
whole numbers of months/days/years. Nothing else in the package writes a clinical number as a literal.
"""

# ruff: noqa: RUF009 - Decimal defaults are immutable values, safe in a frozen dataclass
from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from types import MappingProxyType
from typing import Any

D = Decimal


@dataclass(frozen=True, slots=True)
class Thresholds:
    # --- C-01 population ---
    min_age_in_scope: int = 18
    adult_age: int = 50

    # --- C-03 / C-04 DXA ---
    t_normal_min: Decimal = D("-1.0")  # normal: lowest T >= -1.0
    t_osteoporosis_max: Decimal = D("-2.5")  # osteoporosis: lowest T <= -2.5
    t_very_high_risk_below: Decimal = D("-3.0")  # TX-02 (d): lowest T < -3.0 (strict)
    t_acr_very_high_max: Decimal = D("-3.5")  # GC-01: T <= -3.5
    t_advanced_osteopenia_max: Decimal = D("-2.0")  # 12-month DXA interval, ACP23 rec 4 note
    z_low_for_age_max: Decimal = D("-2.0")  # DX-02: Z <= -2.0
    z_acr_moderate_below: Decimal = D("-3.0")  # GC-01 <40: Z < -3
    score_plausible_abs_max: Decimal = D("6.0")  # |T|,|Z| > 6.0 is implausible (C-03)
    min_spine_vertebrae: int = 2

    # --- C-05 fractures ---
    fracture_min_age: int = 40
    fracture_treatment_min_age: int = 50
    recent_fracture_months: int = 12
    duplicate_fracture_days: int = 42  # same site within 6 weeks = one fracture recorded twice

    # --- C-06 therapy ---
    zoledronic_current_months: int = 15
    denosumab_due_months: int = 6
    denosumab_current_months: int = 7
    denosumab_due_soon_months: int = 5  # SAFE-03: next dose due within 30 days
    oral_bisphosphonate_gap_merge_days: int = 90
    oral_bisphosphonate_reassess_months: int = 60
    zoledronic_reassess_infusions: int = 3
    zoledronic_interval_months: int = 12  # ORD-10: yearly dosing, "<12 months" = fewer whole calendar months
    infusion_duplicate_days: int = 30
    holiday_oral_min_months: int = 36  # C-06 (rev 2): a course long enough for a holiday
    holiday_zoledronic_min_infusions: int = 3
    zoledronic_coverage_months: int = 12  # an infusion covers 12 months: the course ends at the last one + 12
    holiday_max_months: int = 60  # a holiday lasts up to 5 years after the course ended
    holiday_dxa_months: int = 24  # MON-04 drafts a DXA only with none within 24 months

    # --- C-07 glucocorticoids ---
    gc_min_dose_mg: Decimal = D("2.5")
    gc_min_days: int = 90
    gc_recent_days: int = 30
    gc_course_gap_merge_days: int = 30
    gc_frax_adjust_above_mg: Decimal = D("7.5")  # strictly above
    gc_frax_input_dose_mg: Decimal = D("5")  # FRAX "glucocorticoids = yes": >= 5 mg/d for >= 3 months
    gc_very_high_dose_mg: Decimal = D("30")
    gc_very_high_dose_min_days: int = 30  # strictly more than
    gc_very_high_cum12_mg: Decimal = D("5000")
    gc_acr_moderate_young_dose_mg: Decimal = D("7.5")
    gc_acr_moderate_young_months: int = 6

    # --- C-08 FRAX ---
    frax_min_age: int = 40
    frax_max_age: int = 90
    frax_valid_months: int = 24
    frax_mof_treat: Decimal = D("20")  # >=
    frax_hip_treat: Decimal = D("3")  # >=
    frax_mof_very_high: Decimal = D("30")  # > (TX-02); >= for ACR very high
    frax_hip_very_high: Decimal = D("4.5")
    frax_mof_acr_moderate: Decimal = D("10")  # ACR moderate MOF 10-<20
    frax_hip_acr_moderate_above: Decimal = D("1")  # ACR moderate hip >1-<3
    frax_gc_mof_factor: Decimal = D("1.15")
    frax_gc_hip_factor: Decimal = D("1.20")

    # --- C-09 labs ---
    lab_window_months: int = 12
    calcium_predose_window_days: int = 30
    albumin_pairing_days: int = 7  # albumin used to correct Ca only if drawn within a week of it
    albumin_reference_g_dl: Decimal = D("4.0")
    calcium_albumin_factor: Decimal = D("0.8")
    calcium_default_lln_mg_dl: Decimal = D("8.5")
    vitd_severe_below: Decimal = D("12.0")
    vitd_deficient_below: Decimal = D("20.0")
    vitd_target_min: Decimal = D("30.0")
    vitd_high_above: Decimal = D("50.0")
    vitd_nmol_per_ng: Decimal = D("2.496")
    duplicate_conflict_fraction: Decimal = D("0.10")
    egfr_bisphosphonate_min: Decimal = D("35")
    egfr_advanced_ckd_below: Decimal = D("30")
    ct_hu_osteoporosis_below: Decimal = D("97.9")

    # --- DXA intervals (MON-01, TX-03, DATA-02, floors) ---
    dxa_min_interval_months: int = 12
    dxa_default_interval_months: int = 24
    dxa_stale_months: int = 24
    dxa_on_therapy_months: int = 24

    # --- screening / universal measures ---
    female_screen_age: int = 65
    male_screen_age: int = 70
    acp_rec4_female_age: int = 65
    bmi_low_below: Decimal = D("20")
    alcohol_units_risk: Decimal = D("3")
    calcium_mg_lower: int = 1000
    calcium_mg_higher: int = 1200
    calcium_higher_female_age: int = 51
    calcium_higher_male_age: int = 71
    vitamin_d_iu_adult50: int = 800
    vitamin_d_iu_adult50_low_level: int = 1000
    vitamin_d_iu_under50: int = 600
    spine_surgery_horizon_months: int = 12

    sources: MappingProxyType[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


_SOURCES: dict[str, tuple[str, ...]] = {
    "min_age_in_scope": ("ISCD",),
    "adult_age": ("ISCD", "BHOF22", "ES12M"),
    "t_normal_min": ("ISCD", "GOURLAY12", "BHOF22"),
    "t_osteoporosis_max": ("ISCD", "AACE20", "BHOF22", "NOF14"),
    "t_very_high_risk_below": ("AACE20",),
    "t_acr_very_high_max": ("ACR22",),
    "t_advanced_osteopenia_max": ("GOURLAY12", "ACP23"),
    "z_low_for_age_max": ("ISCD",),
    "z_acr_moderate_below": ("ACR22",),
    "score_plausible_abs_max": ("ISCD",),
    "min_spine_vertebrae": ("ISCD",),
    "fracture_min_age": ("BHOF22", "AACE20"),
    "fracture_treatment_min_age": ("BHOF22", "NOF14"),
    "recent_fracture_months": ("AACE20",),
    "duplicate_fracture_days": ("BHOF22",),
    "zoledronic_current_months": ("LBL",),
    "denosumab_due_months": ("LBL", "ECTS21"),
    "denosumab_current_months": ("LYU20", "KIM24"),
    "denosumab_due_soon_months": ("LBL",),
    "oral_bisphosphonate_gap_merge_days": ("ASBMR16",),
    "oral_bisphosphonate_reassess_months": ("ASBMR16", "ES19", "ACP17"),
    "zoledronic_reassess_infusions": ("ASBMR16", "ES19"),
    "zoledronic_interval_months": ("LBL",),
    "infusion_duplicate_days": ("LBL",),
    "holiday_oral_min_months": ("ASBMR16", "ES19"),
    "holiday_zoledronic_min_infusions": ("ASBMR16", "ES19"),
    "zoledronic_coverage_months": ("LBL",),
    "holiday_max_months": ("ES19",),
    "holiday_dxa_months": ("ES19", "ASBMR16"),
    "gc_min_dose_mg": ("ACR22",),
    "gc_min_days": ("ACR22",),
    "gc_recent_days": ("ACR22",),
    "gc_course_gap_merge_days": ("ACR22",),
    "gc_frax_adjust_above_mg": ("KANIS11", "ACR17"),
    "gc_frax_input_dose_mg": ("ISCD-GC",),
    "gc_very_high_dose_mg": ("ACR22",),
    "gc_very_high_dose_min_days": ("ACR22",),
    "gc_very_high_cum12_mg": ("ACR22",),
    "gc_acr_moderate_young_dose_mg": ("ACR22",),
    "gc_acr_moderate_young_months": ("ACR22",),
    "frax_min_age": ("BHOF22", "ACR17"),
    "frax_max_age": ("BHOF22",),
    "frax_valid_months": ("BHOF22", "CW"),
    "frax_mof_treat": ("BHOF22", "NOF14"),
    "frax_hip_treat": ("BHOF22", "NOF14"),
    "frax_mof_very_high": ("AACE20", "ACR22"),
    "frax_hip_very_high": ("AACE20", "ACR22"),
    "frax_mof_acr_moderate": ("ACR22",),
    "frax_hip_acr_moderate_above": ("ACR22",),
    "frax_gc_mof_factor": ("KANIS11", "ACR17"),
    "frax_gc_hip_factor": ("KANIS11", "ACR17"),
    "lab_window_months": ("BHOF22",),
    "calcium_predose_window_days": ("LBL",),
    "albumin_pairing_days": ("LBL",),
    "albumin_reference_g_dl": ("LBL",),
    "calcium_albumin_factor": ("LBL",),
    "calcium_default_lln_mg_dl": ("LBL",),
    "vitd_severe_below": ("IOM11",),
    "vitd_deficient_below": ("IOM11", "BHOF22"),
    "vitd_target_min": ("BHOF22", "AACE20"),
    "vitd_high_above": ("BHOF22", "IOM11"),
    "vitd_nmol_per_ng": ("IOM11",),
    "duplicate_conflict_fraction": ("ISCD",),
    "egfr_bisphosphonate_min": ("LBL", "S001"),
    "egfr_advanced_ckd_below": ("FDA24", "KDIGO17"),
    "ct_hu_osteoporosis_below": ("CNS21",),
    "dxa_min_interval_months": ("CW", "ISCD", "S004"),
    "dxa_default_interval_months": ("BHOF22", "S004", "GOURLAY12"),
    "dxa_stale_months": ("BHOF22", "CW"),
    "dxa_on_therapy_months": ("BHOF22", "NOF14", "ES19"),
    "female_screen_age": ("USPSTF25",),
    "male_screen_age": ("ES12M", "ISCD"),
    "acp_rec4_female_age": ("ACP23",),
    "bmi_low_below": ("USPSTF25",),
    "alcohol_units_risk": ("BHOF22",),
    "calcium_mg_lower": ("BHOF22", "IOM11"),
    "calcium_mg_higher": ("BHOF22", "IOM11"),
    "calcium_higher_female_age": ("BHOF22", "IOM11"),
    "calcium_higher_male_age": ("BHOF22", "IOM11"),
    "vitamin_d_iu_adult50": ("BHOF22",),
    "vitamin_d_iu_adult50_low_level": ("BHOF22",),
    "vitamin_d_iu_under50": ("IOM11",),
    "spine_surgery_horizon_months": ("CNS21",),
}


def _build() -> Thresholds:
    thresholds = Thresholds(sources=MappingProxyType(dict(_SOURCES)))
    names = {f.name for f in fields(Thresholds)} - {"sources"}
    missing = names - set(_SOURCES)
    if missing:  # pragma: no cover - guarded by a test as well
        raise RuntimeError(f"thresholds without a source: {sorted(missing)}")
    return thresholds


THRESHOLDS: Thresholds = _build()


def threshold_table() -> list[tuple[str, Any, tuple[str, ...]]]:
    """(name, value, sources) for every threshold, for documentation and review."""
    return [
        (f.name, getattr(THRESHOLDS, f.name), THRESHOLDS.sources[f.name])
        for f in fields(Thresholds)
        if f.name != "sources"
    ]
