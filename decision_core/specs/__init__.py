"""The output contract of every card rule, machine-checkable: variants, indicator per variant, value keys with
their declared types (decision_core.value_types), actions and evidence.

Every Recommendation the core emits has `values` whose keys are exactly `spec.keys` plus the variant's extra keys,
each conforming to its declared type, an indicator equal to its variant's indicator, actions whose kinds are in
`spec.action_kinds`, and the evidence of the spec (decision_core.conformance checks it). The card files in
cards/rules/ are checked against this table when they are loaded; RULES.md is generated from both.

One module per rule family, named after the module that holds the family's logic: `diagnosis_specs` is the contract
of `decision_core.rules.diagnosis`, ..., `order_specs` that of `decision_core.order_rules`; `common_specs` holds what
several families share.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..rule_spec import RuleSpec
from .data_quality_specs import DATA_QUALITY_SPECS
from .diagnosis_specs import DIAGNOSIS_SPECS
from .glucocorticoid_specs import GLUCOCORTICOID_SPECS
from .laboratory_specs import LABORATORY_SPECS
from .monitoring_specs import MONITORING_SPECS
from .order_specs import ORDER_SPECS
from .risk_specs import RISK_SPECS
from .safety_specs import SAFETY_SPECS
from .treatment_specs import TREATMENT_SPECS
from .universal_specs import UNIVERSAL_SPECS

# Decision-table order: cards of one indicator are sorted by it (decision_core.precedence), and it is the order of
# decision_core.rules.RULES.
_PATIENT_VIEW_SPECS: tuple[RuleSpec, ...] = (
    *DIAGNOSIS_SPECS,
    *RISK_SPECS,
    *TREATMENT_SPECS,
    *GLUCOCORTICOID_SPECS,
    *SAFETY_SPECS,
    *LABORATORY_SPECS,
    *UNIVERSAL_SPECS,
    *MONITORING_SPECS,
    *DATA_QUALITY_SPECS,
)

PATIENT_VIEW_RULE_IDS: tuple[str, ...] = tuple(s.rule_id for s in _PATIENT_VIEW_SPECS)
# Every rule of every service: the patient-view rules, then the order rules (§10, decision_core.specs.order_specs).
RULE_SPECS: Mapping[str, RuleSpec] = MappingProxyType({s.rule_id: s for s in (*_PATIENT_VIEW_SPECS, *ORDER_SPECS)})
RULE_ORDER: tuple[str, ...] = tuple(RULE_SPECS)
