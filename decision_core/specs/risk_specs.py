"""The contract of the risk rule (RISK-01; logic in decision_core.rules.risk)."""

from __future__ import annotations

from decimal import Decimal

from ..rule_spec import Key, RuleSpec, VariantSpec
from .common_specs import LOWEST_T, I, patient_view_spec

RISK_SPECS: tuple[RuleSpec, ...] = (
    patient_view_spec(
        "RISK-01",
        {
            "low-bone-mass": VariantSpec(I),
            "fracture-normal-bmd": VariantSpec(I),
        },
        {
            "age": Key(int, "years (FRAX input)"),
            "sex": Key(str, "FRAX input"),
            "weight_kg": Key(Decimal | None, "latest weight within 12 months"),
            "height_cm": Key(Decimal | None, "latest height within 12 months"),
            "prior_fragility_fracture": Key(bool, "FRAX input"),
            "prior_fracture_sites": Key(tuple[str, ...], "sites of recorded fragility fractures"),
            "parent_hip_fracture": Key(bool | None, "None = not recorded, ask"),
            "current_smoking": Key(bool | None, "None = not recorded"),
            "glucocorticoids": Key(bool, "FRAX definition (>=5 mg/d prednisolone >=3 months, ever)"),
            "gc_dose": Key(Decimal, "current prednisone-equivalent mg/day"),
            "gc_adjust_applies": Key(bool, "gc_dose > 7.5: adjust the FRAX result per C-08 (MOF x1.15, hip x1.20)"),
            "rheumatoid_arthritis": Key(bool, "FRAX input"),
            "secondary_osteoporosis": Key(
                tuple[str, ...], "displays of secondary-osteoporosis conditions (FRAX input)"
            ),
            "alcohol_3_or_more": Key(bool | None, ">=3 units/day; None = not recorded"),
            "femoral_neck_t": Key(Decimal | None, "femoral neck T-score for FRAX (not the lowest T)"),
            "femoral_neck_site": Key(str | None, "its site label"),
            **LOWEST_T,
            "frax_note": Key(str | None, "why a FRAX on file was not used (e.g. older than the latest DXA)"),
            "frax_url": Key(str, "official calculator, US model"),
            "mof_threshold": Key(Decimal, "20 (%), BHOF22/NOF14"),
            "hip_threshold": Key(Decimal, "3 (%), BHOF22/NOF14"),
        },
        ("BHOF22", "NOF14", "AACE20", "S000", "S001", "S003", "S004"),
        (),
        ("dxa", "frax", "medications", "conditions"),
    ),
)
