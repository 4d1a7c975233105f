"""DX-01 (WHO classification, ADULT50) and DX-02 (Z-score interpretation, YOUNG)."""

from __future__ import annotations

from ..assessment import Assessment
from ..dxa_assessment import BmdCategory
from ..recommendation import ActionKind, Recommendation, SuggestedAction
from ..thresholds import THRESHOLDS
from .common import dxa_values, recommend


def dx01(a: Assessment) -> Recommendation | None:
    if not a.adult50:
        return None
    dxa = a.dxa
    clinical = a.clinical_osteoporosis
    study = dxa.latest_with_t
    if study is None and clinical is None:
        return None
    values = {
        **dxa_values(a),
        "category": str(BmdCategory.OSTEOPOROSIS if clinical else dxa.effective_category),
        "valid_sites": tuple(v.as_value() for v in study.valid) if study else (),
        "excluded_sites": tuple(v.as_value() for v in study.excluded) if study else (),
        "dxa_age_months": dxa.age_months if study else None,
        "dxa_stale": dxa.stale if study else False,
        "menopause_assumed": a.path.menopause_assumed,
        "sex": str(a.facts.sex),
    }
    # Template precedence: clinical (fracture), then persistence, then the current densitometric category.
    if clinical is not None:
        values.update(
            fracture_site=str(clinical.site),
            fracture_group=str(clinical.group),
            fracture_date=clinical.onset,
            fracture_presumed=clinical.presumed,
        )
        return recommend(a, "DX-01", "osteoporosis-clinical", values)
    if dxa.historical_osteoporosis is not None:
        h = dxa.historical_osteoporosis
        values.update(historical_t=h.value, historical_t_site=h.label, historical_dxa_date=h.effective)
        return recommend(a, "DX-01", "osteoporosis-persistent", values)
    variant = {
        BmdCategory.OSTEOPOROSIS: "osteoporosis-dxa",
        BmdCategory.LOW_BONE_MASS: "low-bone-mass",
        BmdCategory.NORMAL: "normal",
    }[dxa.category]  # type: ignore[index]
    return recommend(a, "DX-01", variant, values)


def dx02(a: Assessment) -> Recommendation | None:
    if not a.young:
        return None
    study = a.dxa.latest_valid
    if study is None:
        return None
    z = study.lowest_z
    # Any low-trauma fracture matters in a young adult, whatever the age at onset.
    fracture = bool(a.fractures.mechanism_fragility)
    low = z is not None and z.value <= THRESHOLDS.z_low_for_age_max
    referral = low or fracture
    values = {
        "lowest_z": z.value if z else None,
        "lowest_z_site": z.label if z else None,
        "dxa_date": study.date,
        "valid_sites": tuple(v.as_value() for v in study.valid),
        "excluded_sites": tuple(v.as_value() for v in study.excluded),
        "fragility_fracture": fracture,
        "referral_suggested": referral,
        "age": a.age,
    }
    actions = (
        (SuggestedAction(ActionKind.REFERRAL, {"specialty": "endocrinology", "reason": "low BMD for age"}),)
        if referral
        else ()
    )
    if z is None:
        variant = "no-z-scores"
    elif low:
        variant = "low-for-age"
    else:
        variant = "within-range"
    return recommend(a, "DX-02", variant, values, actions)
