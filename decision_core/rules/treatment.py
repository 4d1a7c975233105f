"""TX-01 (treatment indicated), TX-02 (very high risk), TX-03 (below thresholds), TX-04 (spinal surgery)."""

from __future__ import annotations

from typing import Any

from ..assessment import Assessment
from ..dates import add_months
from ..facts import Analyte, ConditionConcept
from ..recommendation import ActionKind, Recommendation, SuggestedAction
from ..therapy import new_bone_toxic_drug_since
from ..thresholds import THRESHOLDS
from .common import dxa_values, frax_values, labs_unavailable, missing_labs, order_dxa, order_labs, recommend

_DXA_OR_FRACTURE_REASONS = frozenset(
    {"hip-vertebral-fracture", "osteoporosis-dxa", "osteoporosis-historical", "other-major-fracture"}
)
PRETREATMENT_LABS = (Analyte.VITAMIN_D_25OH, Analyte.CALCIUM, Analyte.ALBUMIN, Analyte.EGFR)

ALENDRONATE_DRAFT = SuggestedAction(
    ActionKind.DRAFT_ALENDRONATE,
    {"drug": "alendronate", "dose_mg": 70, "route": "oral", "frequency": "weekly"},
)


# --- TX-04 variant, also a TX-01 gate ---
def tx04_variant(a: Assessment) -> tuple[str, str | None] | None:
    """(variant, 04a basis) for a planned spinal instrumentation, checked in the order 04a, 04c, 04b."""
    th = THRESHOLDS
    if a.spinal_procedure is None:
        return None
    if a.adult50 and a.dxa.osteoporosis:
        return "04a", "osteoporosis-dxa"
    if a.clinical_osteoporosis is not None or any(f.hip_or_vertebral for f in a.fractures.fragility):
        return "04a", "fracture"
    hu = a.labs.latest(Analyte.CT_HU, a.today)
    if hu is not None and hu.value < th.ct_hu_osteoporosis_below:
        return "04a", "ct-hu"
    if a.adult50 and (a.dxa.latest_with_t is None or a.dxa.stale):
        return "04c", None
    if a.adult50 and a.dxa.low_bone_mass:
        return "04b", None
    return None


# --- TX-01 ---
def _gate_status(value: Any, ok: bool) -> str:
    if value is None:
        return "missing"
    return "ok" if ok else "low"


def alendronate_gates(a: Assessment) -> dict[str, str]:
    """Every TX-01 condition for a draft alendronate, by name; a draft needs all 'ok'/'none'/'checked'."""
    th = THRESHOLDS
    egfr = a.labs.latest(Analyte.EGFR, a.today)
    vitd = a.labs.latest(Analyte.VITAMIN_D_25OH, a.today)
    calcium = a.labs.corrected_calcium(a.today)
    if "conditions" in a.incomplete_domains:
        contraindication = "not-checked"
    elif a.has_concept(ConditionConcept.BISPHOSPHONATE_INTOLERANCE) or a.has_concept(
        ConditionConcept.ESOPHAGEAL_DISORDER
    ):
        contraindication = "recorded"
    else:
        contraindication = "none"
    tx04 = tx04_variant(a)
    return {
        "egfr": _gate_status(egfr, egfr is not None and egfr.value >= th.egfr_bisphosphonate_min),
        "vitamin_d": _gate_status(vitd, vitd is not None and vitd.value >= th.vitd_deficient_below),
        "calcium": _gate_status(calcium, calcium is not None and not calcium.below_lln),
        "contraindication": contraindication,
        "spinal_surgery": "planned-with-osteoporosis" if tx04 and tx04[0] == "04a" else "none",
        "medications": (
            "not-checked"
            if "medications" in a.incomplete_domains
            else "unreadable-entry"
            if a.unreadable_osteoporosis_drugs
            else "checked"
        ),
        # Partly fetched labs: a newer low eGFR/Ca/25(OH)D may be missing, so no draft either.
        "lab_results": "not-checked" if "labs" in a.incomplete_domains else "checked",
    }


_GATE_PASS = frozenset({"ok", "none", "checked"})


def alendronate_allowed(a: Assessment, gates: dict[str, str]) -> bool:
    """Defence in depth: the gates, plus the state conditions that §4 also enforces."""
    return (
        a.adult50
        and all(status in _GATE_PASS for status in gates.values())
        and not a.therapy.treatment_started_or_ordered
        and not a.safe01_condition
        and not a.tx02_reasons
    )


def _denosumab_caveats(a: Assessment) -> tuple[bool, tuple[str, ...]]:
    """eGFR < 35: denosumab is the alternative only with its caveats (§5 D-06, §7.7)."""
    th = THRESHOLDS
    egfr = a.labs.latest(Analyte.EGFR, a.today)
    if egfr is None or egfr.value >= th.egfr_bisphosphonate_min:
        return False, ()
    caveats = ["calcium-check-first"]
    calcium = a.labs.corrected_calcium(a.today)
    if calcium is not None and calcium.below_lln:
        caveats.append("correct-hypocalcemia-first")
    if egfr.value < th.egfr_advanced_ckd_below:
        caveats.append("boxed-warning-ckd-mbd-specialist")
    return True, tuple(caveats)


def tx01(a: Assessment) -> Recommendation | None:
    if not a.adult50 or not a.tx01_reasons:
        return None
    reasons = a.tx01_reasons
    egfr = a.labs.latest(Analyte.EGFR, a.today)
    vitd = a.labs.latest(Analyte.VITAMIN_D_25OH, a.today)
    calcium = a.labs.corrected_calcium(a.today)
    gates = alendronate_gates(a)
    draft = alendronate_allowed(a, gates)
    latest_frax = a.frax.latest
    frax_below_ignored = (
        any(r.code in _DXA_OR_FRACTURE_REASONS for r in reasons)
        and latest_frax is not None
        and not latest_frax.at_treatment_threshold
    )
    denosumab_alternative, caveats = _denosumab_caveats(a)
    unreadable = a.unreadable_osteoporosis_drugs
    values = {
        "reasons": tuple(r.as_value() for r in reasons),
        "frax_below_threshold_ignored": frax_below_ignored,
        **frax_values(a),
        "egfr_value": egfr.value if egfr else None,
        "egfr_date": egfr.effective if egfr else None,
        "vitamin_d_value": vitd.value if vitd else None,
        "vitamin_d_date": vitd.effective if vitd else None,
        "corrected_calcium": calcium.value if calcium else None,
        "calcium_lln": calcium.lln if calcium else None,
        "calcium_date": calcium.effective if calcium else None,
        "gates": gates,
        "missing_gates": tuple(name for name, status in gates.items() if status not in _GATE_PASS),
        "alendronate_draft": draft,
        "denosumab_alternative": denosumab_alternative,
        "denosumab_caveats": caveats,
        "dxa_stale": a.dxa.stale and any(r.code.startswith("osteoporosis") for r in reasons),
        "sex": str(a.facts.sex),
        # an entry naming this class could not be read (§6 last row, §7.18): "confirm current therapy", no draft
        "unreadable_drug": str(unreadable[0]) if unreadable else None,
    }
    actions: list[SuggestedAction] = []
    if not labs_unavailable(a):
        actions.extend(order_labs(missing_labs(a, PRETREATMENT_LABS)))
    if draft:
        actions.append(ALENDRONATE_DRAFT)
    return recommend(a, "TX-01", reasons[0].code, values, actions)


# --- TX-02 ---
def tx02(a: Assessment) -> Recommendation | None:
    if not a.adult50 or not a.tx02_reasons:
        return None
    reasons = a.tx02_reasons
    reading = a.frax.valid
    lowest = a.dxa.lowest_t
    values = {
        "reasons": tuple(r.as_value() for r in reasons),
        "on_therapy": a.therapy.on_therapy,
        "fracture_count": len(a.fractures.qualifying),
        "lowest_t": lowest.value if lowest else None,
        "lowest_t_site": lowest.label if lowest else None,
        "frax_mof": reading.mof if reading else None,
        "frax_hip": reading.hip if reading else None,
    }
    referral = SuggestedAction(ActionKind.REFERRAL, {"specialty": "endocrinology", "reason": "very high fracture risk"})
    return recommend(a, "TX-02", reasons[0].code, values, (referral,))


# --- TX-03 ---
def dxa_interval(a: Assessment) -> tuple[int, tuple[str, ...]]:
    """Untreated low bone mass: 24 months, or 12 with T <= -2.0 or a new risk factor (§5 D-03)."""
    th = THRESHOLDS
    reasons: list[str] = []
    lowest = a.dxa.lowest_t
    study = a.dxa.latest_with_t
    if lowest is not None and lowest.value <= th.t_advanced_osteopenia_max:
        reasons.append("t-at-or-below--2.0")
    if a.gc.qualifies:
        reasons.append("glucocorticoid")
    if study is not None and new_bone_toxic_drug_since(a.facts.medications, study.date, a.today):
        reasons.append("aromatase-inhibitor-or-adt")
    if a.has_concept(ConditionConcept.PREMATURE_MENOPAUSE):
        reasons.append("premature-menopause")
    interval = th.dxa_min_interval_months if reasons else th.dxa_default_interval_months
    return interval, tuple(reasons)


def tx03(a: Assessment) -> Recommendation | None:
    th = THRESHOLDS
    reading = a.frax.valid
    study = a.dxa.latest_with_t
    if not a.adult50 or not a.dxa.low_bone_mass or reading is None or not reading.below_thresholds:
        return None
    assert study is not None  # a valid FRAX needs a current DXA
    interval, interval_reasons = dxa_interval(a)
    lowest = a.dxa.lowest_t
    acp = (
        str(a.facts.sex) == "female"
        and a.age is not None
        and a.age >= th.acp_rec4_female_age
        and lowest is not None
        and lowest.value <= th.t_advanced_osteopenia_max
    )
    values = {
        **frax_values(a),
        **dxa_values(a),
        "next_dxa_date": add_months(study.date, interval),
        "interval_months": interval,
        "interval_reasons": interval_reasons,
        "acp_rec4_discussion": acp,
        "sex": str(a.facts.sex),
        "age": a.age,
    }
    return recommend(a, "TX-03", "below-thresholds", values)


# --- TX-04 ---
def tx04(a: Assessment) -> Recommendation | None:
    found = tx04_variant(a)
    procedure = a.spinal_procedure
    if found is None or procedure is None:
        return None
    variant, basis = found
    hu = a.labs.latest(Analyte.CT_HU, a.today)
    vitd = a.labs.latest(Analyte.VITAMIN_D_25OH, a.today)
    values = {
        "procedure": procedure.display,
        "planned_date": procedure.planned_date,
        "basis": basis,
        **dxa_values(a),
        "ct_hu": hu.value if hu else None,
        "vitamin_d_value": vitd.value if vitd else None,
        "vitamin_d_below_20": vitd is not None and vitd.value < THRESHOLDS.vitd_deficient_below,
    }
    actions: list[SuggestedAction] = []
    if variant == "04c":
        actions.extend(order_dxa(a))
    if not labs_unavailable(a):
        actions.extend(order_labs(missing_labs(a, (Analyte.VITAMIN_D_25OH,))))
    return recommend(a, "TX-04", variant, values, actions)
