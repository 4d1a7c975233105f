"""The contract of the drug safety rules (SAFE-01 ... SAFE-03; logic in decision_core.rules.safety)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from ..recommendation import ActionKind
from ..rule_spec import Key, RuleSpec, VariantSpec
from .common_specs import EGFR, C, I, W, patient_view_spec

# Every safety rule carries it, with the same meaning.
_ONCOLOGY_PRODUCT = Key(
    Literal["Xgeva", "Zometa"] | None,
    "the oncology product the drug is listed as (same class for the safety rules, named, §1.1)",
)

SAFETY_SPECS: tuple[RuleSpec, ...] = (
    patient_view_spec(
        "SAFE-01",
        {
            "overdue-critical": VariantSpec(C),
            "overdue-warning": VariantSpec(W),
            "stopped": VariantSpec(I),
        },
        {
            "last_dose": Key(date, "D"),
            "due_date": Key(date, "D + 6 months"),
            "months_since_last_dose": Key(int),
            "oncology_product": _ONCOLOGY_PRODUCT,
            **EGFR,
            "egfr_below_35": Key(
                bool | None, "bisphosphonate follow-on not possible: resume denosumab, specialist (None = eGFR unknown)"
            ),
            "correct_calcium_first": Key(
                bool, "corrected Ca within 30 days below LLN (SAFE-03 critical): nothing 'now'"
            ),
            "planned_follow_on": Key(
                str | None, "a bisphosphonate ordered, not yet given (not a follow-on), e.g. zoledronic acid"
            ),
            "planned_follow_on_date": Key(date | None, "its planned start, else the order's authoredOn"),
        },
        ("ES19", "ECTS21", "LYU20", "KIM24", "LBL", "ACR22", "S000", "S001", "S003"),
        (),
        ("medications",),
    ),
    patient_view_spec(
        "SAFE-02",
        {
            "bisphosphonate-low-egfr": VariantSpec(C),
        },
        {
            "drug": Key(str, "e.g. alendronate"),
            "oncology_product": _ONCOLOGY_PRODUCT,
            **EGFR,
            "egfr_below_30": Key(bool, "KDIGO CKD-MBD evaluation; denosumab only with boxed-warning caveat"),
        },
        ("LBL", "KDIGO17", "FDA24", "S001", "S000"),
        (),
        ("medications", "labs"),
    ),
    patient_view_spec(
        "SAFE-03",
        {
            "low-calcium": VariantSpec(C),
            "advanced-ckd": VariantSpec(W),
            "calcium-not-checked": VariantSpec(I),
        },
        {
            "drug": Key(Literal["denosumab", "zoledronic acid"]),
            "trigger": Key(Literal["dose-due", "ordered"]),
            "due_date": Key(date | None, "next denosumab dose (None for an order without date)"),
            "corrected_calcium": Key(Decimal | None, "within 30 days, mg/dL"),
            "calcium_lln": Key(Decimal | None),
            "calcium_date": Key(date | None),
            "oncology_product": _ONCOLOGY_PRODUCT,
            **EGFR,
            "egfr_below_30": Key(bool),
            "calcium_checked_30d": Key(bool),
            "dose_overdue": Key(bool, "the due date has passed: the dose is overdue"),
            "vitamin_d_value": Key(Decimal | None, "ng/mL within 12 months"),
        },
        ("LBL", "FDA24", "S000"),
        (ActionKind.ORDER_LABS,),
        ("medications", "labs"),
    ),
)
