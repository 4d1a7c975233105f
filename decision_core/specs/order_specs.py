"""The output contract of the order rules (decision table §10: ORD-01 ... ORD-11, and ORD-00 for an order the
service could not read; logic in decision_core.order_rules), in the same shape as the patient-view rules
(decision_core.specs adds these to RULE_SPECS). Every order card names its draft (`draft`) and the drug as ordered."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from ..recommendation import ActionKind
from ..rule_spec import Key, RuleSpec, VariantSpec
from .common_specs import UNCHECKED, C, I, W, build_spec

_DRAFT = {
    "draft": Key(str, "the draft's reference, 'MedicationRequest/<id>' (or its name when it has no id)"),
    "drug": Key(str, "ingredient, lower case, e.g. 'alendronate'"),
    "drug_display": Key(str, "the order as named, e.g. 'Alendronic acid 70 MG Oral Tablet'"),
    "product": Key(str | None, "brand named by the order, e.g. 'Prolia'"),
    "oncology": Key(bool, "Xgeva / Zometa: the oncology product, not the osteoporosis regimen (§1.1)"),
    "recognised_by_name": Key(bool, "no listed code: recognised by name (§1.1)"),
    **UNCHECKED,
}
_EGFR = {
    "egfr_value": Key(Decimal, "latest eGFR within 12 months, mL/min/1.73m2"),
    "egfr_date": Key(date),
}
_CALCIUM = {
    "corrected_calcium": Key(Decimal, "corrected calcium, mg/dL"),
    "calcium_lln": Key(Decimal, "the lab's reference low, or 8.5 mg/dL"),
    "calcium_date": Key(date),
}
DenosumabGap = Literal["calcium-not-checked", "calcium-low", "vitamin-d-low", "vitamin-d-undocumented"]
Supplement = Literal["calcium", "vitamin-d"]
Lab = Literal["Ca", "albumin", "25-OH D", "eGFR"]


def _spec(
    rule_id: str,
    variants: dict[str, VariantSpec],
    keys: dict[str, Key],
    evidence: tuple[str, ...],
    actions: tuple[ActionKind, ...],
    domains: tuple[str, ...],
) -> RuleSpec:
    """Every order rule also names its draft (and the domains it could not check)."""
    return build_spec(rule_id, variants, {**_DRAFT, **keys}, evidence, actions, domains)


ORDER_SPECS: tuple[RuleSpec, ...] = (
    _spec(
        "ORD-00",
        {"unreadable": VariantSpec(I)},
        {"problem": Key(str, "why the order could not be checked")},
        ("LBL", "BHOF22"),
        (),
        (),
    ),
    _spec(
        "ORD-01",
        {"egfr-below-35": VariantSpec(C)},
        {
            **_EGFR,
            "egfr_below_30": Key(bool, "CKD-MBD: referral instead of denosumab"),
            "alternative": Key(Literal["denosumab", "referral", "none"], "what the replacing suggestion offers"),
            "denosumab_gaps": Key(tuple[DenosumabGap, ...], "why denosumab is not offered at eGFR 30-34"),
        },
        ("LBL", "KDIGO17", "FDA24", "S001"),
        (ActionKind.REMOVE_DRAFT, ActionKind.DRAFT_DENOSUMAB, ActionKind.REFERRAL),
        ("labs",),
    ),
    _spec(
        "ORD-02",
        {"no-egfr": VariantSpec(W)},
        {},
        ("LBL", "BHOF22", "S001"),
        (ActionKind.ORDER_LABS,),
        ("labs",),
    ),
    _spec(
        "ORD-03",
        {"low-calcium": VariantSpec(C)},
        {
            **_CALCIUM,
            "vitamin_d_value": Key(Decimal | None, "25-OH D within 12 months, ng/mL"),
            "supplements_drafted": Key(tuple[Supplement, ...]),
            "labs_drafted": Key(tuple[Lab, ...]),
        },
        ("LBL", "BHOF22"),
        (ActionKind.REMOVE_DRAFT, ActionKind.DRAFT_CALCIUM, ActionKind.DRAFT_VITAMIN_D, ActionKind.ORDER_LABS),
        ("labs", "medications"),
    ),
    _spec(
        "ORD-04",
        {"vitamin-d": VariantSpec(W), "calcium-not-checked": VariantSpec(I)},
        {
            "calcium_checked_30d": Key(bool),
            "vitamin_d_value": Key(Decimal | None, "25-OH D within 12 months, ng/mL (None: undocumented)"),
            "vitamin_d_date": Key(date | None),
            "labs_drafted": Key(tuple[Lab, ...]),
            "vitamin_d_drafted": Key(bool),
        },
        ("LBL", "BHOF22"),
        (ActionKind.ORDER_LABS, ActionKind.DRAFT_VITAMIN_D),
        ("labs", "medications"),
    ),
    _spec(
        "ORD-05",
        {"advanced-ckd": VariantSpec(W)},
        dict(_EGFR),
        ("FDA24", "KDIGO17"),
        (ActionKind.REFERRAL,),
        ("labs",),
    ),
    _spec(
        "ORD-06",
        {"new-start": VariantSpec(I)},
        {},
        ("ES19", "ECTS21", "S000", "S001", "S003"),
        (),
        ("medications",),
    ),
    _spec(
        "ORD-07",
        {"no-follow-on": VariantSpec(C)},
        {
            "status": Key(str, "the order's status as sent (stopped, cancelled, on-hold ...)"),
            "last_dose": Key(date | None, "last denosumab dose on file (D)"),
            "transition_date": Key(date | None, "D + 6 months: when the follow-on should start"),
            "alternative": Key(Literal["zoledronic-acid", "alendronate", "none"]),
            "alternative_gaps": Key(
                tuple[Literal["egfr-below-35", "egfr-unknown", "calcium-low", "vitamin-d-low-or-undocumented"], ...],
                "why no bisphosphonate draft is offered",
            ),
        },
        ("ES19", "ECTS21", "LYU20"),
        (ActionKind.DRAFT_ZOLEDRONIC_ACID, ActionKind.DRAFT_ALENDRONATE, ActionKind.REFERRAL),
        ("medications", "labs"),
    ),
    _spec(
        "ORD-08",
        {"long-term-glucocorticoid": VariantSpec(W)},
        {
            "dose_mg": Key(Decimal, "the order's prednisone-equivalent mg/day"),
            "planned_days": Key(int | None, "the order's own planned days"),
            "exposure_days": Key(int, "continuous days at >= 2.5 mg/d with this order (C-07)"),
            "frax_adjusted": Key(bool, "dose > 7.5 mg/d: FRAX is adjusted upward (C-08)"),
            "with_vfa": Key(bool, "age >= 40: DXA with vertebral fracture assessment"),
            "dxa_date": Key(date | None, "latest DXA study"),
            "drafted": Key(tuple[Literal["calcium", "vitamin-d", "dxa"], ...]),
            "therapy_unclear": Key(bool, "an osteoporosis-drug entry could not be read, or medications not fetched"),
        },
        ("ACR22", "KANIS11", "S004"),
        (ActionKind.DRAFT_CALCIUM, ActionKind.DRAFT_VITAMIN_D, ActionKind.ORDER_DXA),
        ("medications", "dxa"),
    ),
    _spec(
        "ORD-09",
        {"two-bone-drugs": VariantSpec(W)},
        {
            "other_drug": Key(str, "the other bone drug"),
            "other_source": Key(Literal["current", "drafted"]),
        },
        ("ES19", "ACR22"),
        (ActionKind.REMOVE_DRAFT,),
        ("medications",),
    ),
    _spec(
        "ORD-10",
        {"within-12-months": VariantSpec(W)},
        {"last_infusion": Key(date), "months_since": Key(int)},
        ("LBL", "BHOF22"),
        (ActionKind.REMOVE_DRAFT,),
        ("medications",),
    ),
    _spec(
        "ORD-11",
        {"esophageal": VariantSpec(W), "low-calcium": VariantSpec(C)},
        {
            "contraindication": Key(str | None, "the esophageal condition as recorded"),
            "corrected_calcium": Key(Decimal | None),
            "calcium_lln": Key(Decimal | None),
            "calcium_date": Key(date | None),
            "zoledronic_offered": Key(bool),
        },
        ("LBL", "BHOF22"),
        (ActionKind.REMOVE_DRAFT, ActionKind.DRAFT_ZOLEDRONIC_ACID),
        ("conditions", "labs"),
    ),
)

ORDER_RULE_IDS: tuple[str, ...] = tuple(s.rule_id for s in ORDER_SPECS)
