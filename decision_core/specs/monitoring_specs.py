"""The contract of the monitoring rules (MON-01 ... MON-04; logic in decision_core.rules.monitoring)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from ..recommendation import ActionKind
from ..rule_spec import Key, RuleSpec, VariantSpec
from .common_specs import LOWEST_T, DxaIntervalReason, I, W, patient_view_spec

# Continuation criteria found in the chart: during a bisphosphonate course (MON-03), and now, on a holiday (MON-04).
ContinuationCriterion = Literal[
    "hip-t-at-or-below--2.5", "prior-major-fracture", "fracture-on-therapy", "frax-at-threshold", "glucocorticoid"
]
HolidayCriterion = Literal["hip-t-at-or-below--2.5", "prior-major-fracture", "frax-at-threshold", "glucocorticoid"]

MONITORING_SPECS: tuple[RuleSpec, ...] = (
    patient_view_spec(
        "MON-01",
        {
            "repeat-dxa": VariantSpec(I),
        },
        {
            **LOWEST_T,
            "interval_months": Key(int, "12 or 24"),
            "due_date": Key(date, "DXA + interval"),
            "interval_reasons": Key(tuple[DxaIntervalReason, ...], "why 12 months"),
        },
        ("GOURLAY12", "ISCD", "CW", "BHOF22", "S004", "S002", "S003", "S000"),
        (ActionKind.ORDER_DXA,),
        ("dxa", "medications"),
    ),
    patient_view_spec(
        "MON-02",
        {
            "follow-up-dxa": VariantSpec(I),
        },
        {
            "drug": Key(str, "current osteoporosis drug"),
            "last_dxa_date": Key(date | None),
            "months_since_dxa": Key(int | None),
            "therapy_start": Key(date | None),
        },
        ("BHOF22", "NOF14", "ES19", "ACP17", "S002", "S003", "S000"),
        (),
        ("dxa", "medications"),
    ),
    patient_view_spec(
        "MON-03",
        {
            "reassess": VariantSpec(W),
        },
        {
            "drug": Key(str, "current bisphosphonate"),
            "years": Key(Decimal, "one decimal"),
            "oral_months": Key(int, "cumulative oral bisphosphonate months"),
            "zoledronic_infusions": Key(int),
            "continuation_criteria": Key(tuple[ContinuationCriterion, ...], "found in chart"),
            "holiday_reasonable": Key(bool, "no continuation criteria found: 2-3 year holiday reasonable to discuss"),
        },
        ("ASBMR16", "ES19", "ACP17", "ACP23", "S000", "S002"),
        (ActionKind.ORDER_DXA,),
        ("medications", "dxa", "frax", "conditions"),
    ),
    patient_view_spec(
        "MON-04",
        {
            "resume-criteria": VariantSpec(W),
            "reassess": VariantSpec(I),
        },
        {
            "drug": Key(str, "the course's bisphosphonate, e.g. alendronate, zoledronic acid"),
            "route": Key(Literal["oral", "intravenous"]),
            "years": Key(Decimal, "oral course in years, one decimal (cut)"),
            "oral_months": Key(int, "cumulative oral months (0 for an IV course)"),
            "zoledronic_infusions": Key(int, "infusions of the course (0 for an oral course)"),
            "last_exposure": Key(date, "last oral day or last infusion"),
            "holiday_since": Key(date, "coverage end: last oral exposure, or last infusion + 12 months"),
            "holiday_months": Key(int, "whole months since the coverage end"),
            "holiday_criteria": Key(tuple[HolidayCriterion, ...], "continuation criteria found now"),
            "last_dxa_date": Key(date | None, "latest diagnostic DXA"),
        },
        ("ASBMR16", "ES19", "ACP17", "S000", "S002"),
        (ActionKind.ORDER_DXA,),
        ("medications", "dxa", "frax", "conditions"),
    ),
)
