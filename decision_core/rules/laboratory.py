"""VITD-01 (25(OH)D status, bone-health context only) and LAB-01 (secondary-cause labs)."""

from __future__ import annotations

from ..assessment import Assessment
from ..dxa_assessment import BmdCategory
from ..facts import Analyte, Sex
from ..lab_assessment import CORE_LAB_ANALYTES, TESTOSTERONE, VitaminDBand, nmol_per_l, norm_unit, vitamin_d_band
from ..recommendation import Recommendation
from ..thresholds import THRESHOLDS
from .common import labs_unavailable, order_labs, recommend

_VITD_VARIANTS = {
    VitaminDBand.SEVERE: "severe",
    VitaminDBand.DEFICIENT: "deficient",
    VitaminDBand.INSUFFICIENT: "below-target",
    VitaminDBand.HIGH: "high",
}


def vitd01(a: Assessment) -> Recommendation | None:
    if not a.bhc:
        return None
    v = a.labs.latest(Analyte.VITAMIN_D_25OH, a.today)
    if v is None:
        return None
    band = vitamin_d_band(v.value)
    variant = _VITD_VARIANTS.get(band)
    if variant is None:
        return None
    reported_nmol = v.original_unit is not None and norm_unit(v.original_unit) == "nmol/l"
    values = {
        "value_ng_ml": v.value,
        "value_nmol_l": v.original_value if reported_nmol and v.original_value is not None else nmol_per_l(v.value),
        "original_value": v.original_value,
        "original_unit": v.original_unit,
        "date": v.effective,
        "band": str(band),
        "on_vitamin_d": a.therapy.on_vitamin_d,
    }
    return recommend(a, "VITD-01", variant, values)


def lab_context(a: Assessment) -> tuple[str, ...]:
    context: list[str] = []
    if a.adult50:
        if a.clinical_osteoporosis is not None:
            context.append("clinical-osteoporosis")
        if a.dxa.effective_category == BmdCategory.OSTEOPOROSIS:
            context.append("osteoporosis")
        elif a.dxa.effective_category == BmdCategory.LOW_BONE_MASS:
            context.append("low-bone-mass")
    if a.young and a.dxa.latest_valid is not None:
        z = a.dxa.latest_valid.lowest_z
        if z is not None and z.value <= THRESHOLDS.z_low_for_age_max:
            context.append("z-low")
    if a.fractures.fragility:
        context.append("fragility-fracture")
    return tuple(context)


def lab01(a: Assessment) -> Recommendation | None:
    """Treatment-naive is enforced by §4 (precedence), so the pair can be tested."""
    context = lab_context(a)
    if not context:
        return None
    window = THRESHOLDS.lab_window_months
    base = {
        "context": context,
        "broader_workup": "z-low" in context or (a.age is not None and a.age < THRESHOLDS.adult_age),
        "sex": str(a.facts.sex),
    }
    if labs_unavailable(a):
        return recommend(a, "LAB-01", "not-checked", {**base, "missing": ()})
    missing = [
        name
        for name, analytes in CORE_LAB_ANALYTES.items()
        if not any(a.labs.has_within(x, a.today, window) for x in analytes)
    ]
    # Testosterone for males only: with sex other/unknown it is not requested (RULES.md D-LAB01-sex).
    if a.facts.sex == Sex.MALE and not a.labs.has_within(Analyte.TESTOSTERONE, a.today, window):
        missing.append(TESTOSTERONE)
    if not missing:
        return None
    return recommend(a, "LAB-01", "missing", {**base, "missing": tuple(missing)}, order_labs(tuple(missing)))
