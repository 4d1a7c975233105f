"""The contract of the laboratory rules (VITD-01, LAB-01; logic in decision_core.rules.laboratory)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from ..recommendation import ActionKind
from ..rule_spec import Key, RuleSpec, VariantSpec
from .common_specs import I, W, patient_view_spec

# Why the work-up was evaluated (LAB-01 `context`).
LabContext = Literal["low-bone-mass", "osteoporosis", "clinical-osteoporosis", "z-low", "fragility-fracture"]

LABORATORY_SPECS: tuple[RuleSpec, ...] = (
    patient_view_spec(
        "VITD-01",
        {
            "severe": VariantSpec(W),
            "deficient": VariantSpec(W),
            "below-target": VariantSpec(I),
            "high": VariantSpec(I),
        },
        {
            "value_ng_ml": Key(Decimal, "canonical value"),
            "value_nmol_l": Key(Decimal, "original if reported in nmol/L, else value x 2.496 (1 decimal)"),
            "original_value": Key(Decimal | None, "as reported"),
            "original_unit": Key(str | None, "as reported"),
            "date": Key(date),
            "band": Key(Literal["severe", "deficient", "insufficient", "high"]),
            "on_vitamin_d": Key(bool, "an active vitamin D supplement is recorded"),
        },
        ("BHOF22", "AACE20", "IOM11", "ES24D", "S000", "S001", "S002", "S003", "S004"),
        (),
        ("labs",),
    ),
    patient_view_spec(
        "LAB-01",
        {
            "missing": VariantSpec(I),
            "not-checked": VariantSpec(I),
        },
        {
            "missing": Key(
                tuple[str, ...], "short names: CBC, Ca, albumin, phos, eGFR, ALP, TSH, 25-OH D, testosterone"
            ),
            "context": Key(tuple[LabContext, ...], "why evaluated"),
            "broader_workup": Key(bool, "Z <= -2.0 or age <50: broader work-up and specialist referral (detail)"),
            "sex": Key(str, "testosterone is listed for males only"),
        },
        ("BHOF22", "AACE20", "ES12M", "AACE10-T17", "S001", "S003", "S000"),
        (ActionKind.ORDER_LABS,),
        ("labs", "medications"),
    ),
)
