"""GC-01: long-term glucocorticoids, ACR22 risk category."""

from __future__ import annotations

from ..assessment import ACR_OFFER_THERAPY, AcrCategory, Assessment
from ..frax_assessment import adjustment_for
from ..recommendation import Recommendation
from ..thresholds import THRESHOLDS
from .common import order_dxa, recommend


def gc01(a: Assessment) -> Recommendation | None:
    th = THRESHOLDS
    if a.age is None or a.age < th.min_age_in_scope or not a.gc.qualifies or a.acr is None:
        return None
    acr = a.acr
    reading = a.frax.valid
    needs_dxa = not a.dxa.last_study_within(a.today, th.dxa_min_interval_months)
    adjustment = reading.adjustment if reading else adjustment_for(a.gc.gc_dose, None)
    values = {
        "gc_dose": a.gc.gc_dose,
        "gc_days": a.gc.gc_days,
        "gc_cum12_mg": a.gc.gc_cum12,
        "drugs": a.gc.drugs,
        "acr_category": str(acr.category),
        "category_basis": tuple(r.as_value() for r in acr.basis),
        "age_column": acr.age_column,
        "needs_dxa": needs_dxa,
        "needs_frax": acr.needs_frax,
        "frax_adjustment": str(adjustment),
        "frax_mof": reading.mof if reading else None,
        "frax_hip": reading.hip if reading else None,
        "frax_mof_raw": reading.mof_raw if reading else None,
        "frax_hip_raw": reading.hip_raw if reading else None,
        "on_therapy": a.therapy.on_therapy,
    }
    if a.therapy.on_therapy:
        variant = "treated"
    elif acr.category in ACR_OFFER_THERAPY:
        variant = "untreated"
    elif acr.category == AcrCategory.NOT_ASSESSABLE:
        variant = "not-assessable"
    else:
        variant = "low"
    # ACR22: BMD (with vertebral fracture assessment) as soon as possible, then every 1-2 years.
    actions = order_dxa(a, with_vfa=True) if needs_dxa else ()
    return recommend(a, "GC-01", variant, values, actions)
