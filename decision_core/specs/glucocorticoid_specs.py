"""The contract of the glucocorticoid rule (GC-01; logic in decision_core.rules.glucocorticoid)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, TypedDict

from ..recommendation import ActionKind
from ..rule_spec import Key, RuleSpec, VariantSpec
from ..value_types import reasons
from .common_specs import FraxAdjustmentCode, I, W, patient_view_spec


class AcrCriterion(TypedDict):
    code: Literal[
        "prior-fracture",
        "frax-very-high",
        "frax-high",
        "frax-moderate",
        "frax-needed",
        "no-dxa",
        "no-z-score",
        "no-dxa-no-frax",
        "no-criterion",
    ]


class AcrDoseCriterion(TypedDict):
    code: Literal["very-high-dose"]
    dose_mg: Decimal


class AcrTScoreCriterion(TypedDict):
    code: Literal["t-score"]
    t_score: Decimal
    site: str


class AcrZScoreCriterion(TypedDict):
    code: Literal["z-score-with-dose"]
    z_score: Decimal
    site: str


AcrBasis = AcrCriterion | AcrDoseCriterion | AcrTScoreCriterion | AcrZScoreCriterion

GLUCOCORTICOID_SPECS: tuple[RuleSpec, ...] = (
    patient_view_spec(
        "GC-01",
        {
            "untreated": VariantSpec(W),
            "not-assessable": VariantSpec(W),
            "low": VariantSpec(W),
            "treated": VariantSpec(I),
        },
        {
            "gc_dose": Key(Decimal, "current prednisone-equivalent mg/day"),
            "gc_days": Key(int, "continuous days at >=2.5 mg/d, elapsed plus planned"),
            "gc_cum12_mg": Key(Decimal, "prednisone-equivalent mg over the past 12 months"),
            "drugs": Key(tuple[str, ...], "glucocorticoids of the current course"),
            "acr_category": Key(Literal["very-high", "high", "moderate", "low", "not-assessable"]),
            "category_basis": Key(reasons(AcrBasis), "ACR criteria met, or why none could be assessed"),
            "age_column": Key(str, "'>=40' or '<40' (ACR22 table column used)"),
            "needs_dxa": Key(bool, "no DXA within 12 months: DXA order drafted (subject to the 12-month floor)"),
            "needs_frax": Key(bool, ">=40 and no valid FRAX"),
            "frax_adjustment": Key(
                FraxAdjustmentCode, "how FRAX was (or would be) adjusted for the current dose (C-08)"
            ),
            "frax_mof": Key(Decimal | None, "adjusted"),
            "frax_hip": Key(Decimal | None, "adjusted"),
            "frax_mof_raw": Key(Decimal | None, "as recorded (rev 2: raw and adjusted are both shown)"),
            "frax_hip_raw": Key(Decimal | None, "as recorded"),
            "on_therapy": Key(bool),
        },
        ("ACR22", "ACR17", "KANIS11", "ISCD-GC", "S004", "S001", "S003", "S000"),
        (ActionKind.ORDER_DXA,),
        ("medications", "dxa", "frax", "conditions"),
    ),
)
