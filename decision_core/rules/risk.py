"""RISK-01: ask the clinician to run the official FRAX calculator (the core never computes FRAX, §7.4)."""

from __future__ import annotations

from decimal import Decimal

from ..assessment import SECONDARY_OSTEOPOROSIS_CONCEPTS, Assessment
from ..dates import within_months_before
from ..dxa_assessment import BmdCategory
from ..facts import BoneSite, ConditionConcept, Measured, SmokingStatus
from ..fractures import FractureGroup
from ..recommendation import Recommendation
from ..thresholds import THRESHOLDS
from .common import dxa_values, recommend

FRAX_URL = "https://frax.shef.ac.uk/FRAX/tool.aspx?country=9"


def frax_missing_or_incomplete(a: Assessment) -> bool:
    reading = a.frax.valid
    return reading is None or (not reading.complete and not reading.at_treatment_threshold)


def frax_prefill(a: Assessment) -> dict[str, object]:
    th = THRESHOLDS
    facts = a.facts
    life = facts.lifestyle
    window = th.lab_window_months

    def recent(measured: Measured | None) -> Decimal | None:
        return measured.value if measured and within_months_before(measured.effective, a.today, window) else None

    smoking = {SmokingStatus.CURRENT: True, SmokingStatus.FORMER: False, SmokingStatus.NEVER: False}.get(life.smoking)
    alcohol = life.alcohol_units_per_day
    study = a.dxa.latest_with_t
    neck = study.site_t(frozenset({BoneSite.FEMORAL_NECK})) if study else None
    return {
        "age": a.age,
        "sex": str(facts.sex),
        "weight_kg": recent(life.weight_kg),
        "height_cm": recent(life.height_cm),
        "prior_fragility_fracture": bool(a.fractures.fragility),
        "prior_fracture_sites": tuple(str(f.site) for f in a.fractures.fragility),
        "parent_hip_fracture": True if a.has_concept(ConditionConcept.PARENTAL_HIP_FRACTURE, False) else None,
        "current_smoking": smoking,
        "glucocorticoids": a.gc.frax_input_yes or (a.gc.qualifies and a.gc.gc_dose >= th.gc_frax_input_dose_mg),
        "gc_dose": a.gc.gc_dose,
        "gc_adjust_applies": a.gc.gc_dose > th.gc_frax_adjust_above_mg,
        "rheumatoid_arthritis": a.has_concept(ConditionConcept.RHEUMATOID_ARTHRITIS, False) is not None,
        "secondary_osteoporosis": tuple(
            c.display for c in facts.conditions if c.concept in SECONDARY_OSTEOPOROSIS_CONCEPTS
        ),
        "alcohol_3_or_more": (alcohol.value >= th.alcohol_units_risk) if alcohol else None,
        "femoral_neck_t": neck.value if neck else None,
        "femoral_neck_site": neck.label if neck else None,
    }


def risk01(a: Assessment) -> Recommendation | None:
    th = THRESHOLDS
    if not a.adult50 or a.age is None or not th.frax_min_age <= a.age <= th.frax_max_age:
        return None
    # A stale DXA (> 24 months) is handled by §4: DATA-02 suppresses RISK-01.
    if a.dxa.latest_with_t is None or not frax_missing_or_incomplete(a):
        return None
    if a.dxa.low_bone_mass:
        variant = "low-bone-mass"
    elif a.dxa.effective_category == BmdCategory.NORMAL and any(
        f.group not in (FractureGroup.HIP, FractureGroup.VERTEBRAL) for f in a.fractures.fragility
    ):
        variant = "fracture-normal-bmd"
    else:
        return None
    note = a.frax.note
    if note is None and a.frax.valid is not None:
        note = "FRAX on file lacks the MOF or hip probability"
    values = {
        **frax_prefill(a),
        **dxa_values(a),
        "frax_note": note,
        "frax_url": FRAX_URL,
        "mof_threshold": th.frax_mof_treat,
        "hip_threshold": th.frax_hip_treat,
    }
    return recommend(a, "RISK-01", variant, values)
