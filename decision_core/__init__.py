"""The decision core: pure functions from patient facts and the evaluation time to recommendations.

No Flask, no FHIR, no I/O. `evaluate(facts, now)` is the entry point for patient-view;
`evaluate_orders(facts, drafts, now)` (decision_core.order_rules) for the order hooks (§10).
"""

from .assessment import Assessment, assess
from .engine import evaluate
from .order_rules import evaluate_orders
from .recommendation import ActionKind, Indicator, Recommendation, SuggestedAction
from .rule_spec import RuleSpec, VariantSpec
from .specs import RULE_ORDER, RULE_SPECS
from .thresholds import THRESHOLDS

__all__ = [
    "RULE_ORDER",
    "RULE_SPECS",
    "THRESHOLDS",
    "ActionKind",
    "Assessment",
    "Indicator",
    "Recommendation",
    "RuleSpec",
    "SuggestedAction",
    "VariantSpec",
    "assess",
    "evaluate",
    "evaluate_orders",
]
