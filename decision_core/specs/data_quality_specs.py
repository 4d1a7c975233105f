"""The contract of the data rules (DATA-01 ... DATA-03; logic in decision_core.rules.data_quality)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal, TypedDict

from ..recommendation import ActionKind
from ..rule_spec import Key, RuleSpec, VariantSpec
from ..value_types import reasons
from .common_specs import I, patient_view_spec

# Known values of DATA-01's coded keys.
ScreeningReason = Literal[
    "female-65",
    "postmenopausal-risk-factor",
    "male-70",
    "male-50-69-risk-factor",
    "any-sex-70",
    "any-sex-50-risk-factor",
    "fragility-fracture",
    "glucocorticoid",
    "osteoporosis-drug",
]
ScreeningRiskFactor = Literal[
    "fracture-after-50", "glucocorticoid", "bmi-below-20", "parental-hip-fracture", "smoking", "alcohol-3-or-more"
]


class IssueValue(TypedDict):
    """One DATA-03 item, as decision_core.data_issues.issue_value makes it."""

    item: str
    reason: str
    record: str | None
    affects: tuple[str, ...]


DATA_QUALITY_SPECS: tuple[RuleSpec, ...] = (
    patient_view_spec(
        "DATA-01",
        {
            "no-dxa": VariantSpec(I),
        },
        {
            "reasons": Key(reasons(ScreeningReason), "every indication met, first = the one the summary names"),
            "risk_factors": Key(tuple[ScreeningRiskFactor, ...]),
            "menopause_assumed": Key(bool),
            "non_diagnostic_dxa_date": Key(
                date | None, "the newest study with only non-diagnostic sites (forearm, heel): no diagnostic DXA"
            ),
        },
        ("USPSTF25", "ISCD", "ES12M", "ACR22"),
        (ActionKind.ORDER_DXA,),
        ("dxa", "medications", "conditions"),
    ),
    patient_view_spec(
        "DATA-02",
        {
            "stale-dxa": VariantSpec(I),
        },
        {
            "dxa_date": Key(date),
            "months_old": Key(int),
            "category": Key(Literal["low-bone-mass", "normal"], "normal: a historical category"),
            "lowest_t": Key(Decimal),
            "lowest_t_site": Key(str),
            "risk_changes": Key(tuple[Literal["glucocorticoid", "new-fragility-fracture", "bone-toxic-drug"], ...]),
        },
        ("BHOF22", "CW", "S004", "S002", "S003", "S000"),
        (ActionKind.ORDER_DXA,),
        ("dxa", "medications"),
    ),
    patient_view_spec(
        "DATA-03",
        {
            "uninterpretable": VariantSpec(I),
        },
        {
            "issues": Key(tuple[IssueValue, ...], "every item, treated as missing by the rules named"),
            "first_item": Key(str),
            "first_reason": Key(str),
            "count": Key(int),
        },
        ("ISCD", "IOM11"),
        (),
        (),
    ),
)
