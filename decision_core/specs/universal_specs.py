"""The contract of the universal measures rule (UNIV-01; logic in decision_core.rules.universal)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from ..recommendation import ActionKind
from ..rule_spec import Key, RuleSpec, VariantSpec
from .common_specs import I, patient_view_spec

UNIVERSAL_SPECS: tuple[RuleSpec, ...] = (
    patient_view_spec(
        "UNIV-01",
        {
            "basics": VariantSpec(I),
        },
        {
            "calcium_mg_per_day": Key(
                int, "total intake target: 1000 (men 50-70, adults <50) or 1200 (women >=51, men >=71)"
            ),
            "vitamin_d_iu_per_day": Key(int, "drafted dose: 800 (>=50; 1000 when 25(OH)D <30) or 600 (<50)"),
            "vitamin_d_iu_text": Key(str, "'800-1000' (>=50) or '600' (<50)"),
            "on_calcium": Key(bool, "active calcium supplement recorded (no draft then)"),
            "on_vitamin_d": Key(bool, "active vitamin D recorded (no draft then)"),
            "supplements_drafted": Key(tuple[str, ...], "calcium and/or vitamin-d"),
            "smoking": Key(Literal["current", "former", "never", "unknown"]),
            "alcohol_units_per_day": Key(Decimal | None),
            "glucocorticoid": Key(bool, "qualifying glucocorticoid exposure (ACR22 measures)"),
            "bhc_reasons": Key(tuple[str, ...], "why the bone-health context applies"),
            "sex_assumed": Key(bool, "sex other/unknown: the higher calcium amount used"),
        },
        ("BHOF22", "IOM11", "ACR22", "S000", "S001", "S002", "S003", "S004"),
        (ActionKind.DRAFT_CALCIUM, ActionKind.DRAFT_VITAMIN_D),
        ("medications",),
    ),
)
