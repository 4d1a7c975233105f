"""What the card-rule contracts of several families share: the indicator short names, the key groups more than one
family's rules carry, the known values of a coded key more than one family emits, and `patient_view_spec`, which
adds the keys every patient-view rule carries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from ..recommendation import ActionKind, Indicator
from ..rule_spec import Key, RuleSpec, VariantSpec

I, W, C = Indicator.INFO, Indicator.WARNING, Indicator.CRITICAL  # noqa: E741 - short names keep the tables legible

# How a FRAX result was adjusted for glucocorticoids (C-08; decision_core.frax_assessment.FraxAdjustment; TX, GC-01).
FraxAdjustmentCode = Literal["applied", "not-applied-dose-at-or-below-7.5", "not-applied-gc-input-no", "none"]
# Why the next DXA is due in 12 months rather than 24 (TX-03, MON-01).
DxaIntervalReason = Literal["t-at-or-below--2.0", "glucocorticoid", "aromatase-inhibitor-or-adt", "premature-menopause"]

UNCHECKED = {
    "unchecked_domains": Key(tuple[str, ...], "data domains this rule needs that could not be (fully) fetched")
}

# Every rule that reads the medication list: which of its entries were recognised by name only (§1.1 rev 2).
BY_NAME = {
    "drugs_recognised_by_name": Key(
        tuple[str, ...], "medication entries recognised by name, with no listed code (§1.1): the card says so"
    )
}

LOWEST_T = {
    "lowest_t": Key(Decimal | None, "lowest valid-site T-score of the latest DXA"),
    "lowest_t_site": Key(str | None, "its site label, e.g. 'left femoral neck', 'lumbar spine L1-L2'"),
    "dxa_date": Key(date | None, "date of the latest diagnostic DXA study"),
}
EGFR = {
    "egfr_value": Key(Decimal | None, "latest eGFR within 12 months, mL/min/1.73m2"),
    "egfr_date": Key(date | None, "its date"),
}


def build_spec(
    rule_id: str,
    variants: dict[str, VariantSpec],
    keys: dict[str, Key],
    evidence: tuple[str, ...],
    actions: tuple[ActionKind, ...],
    domains: tuple[str, ...],
    variant_keys: dict[str, Key] | None = None,
) -> RuleSpec:
    """A read-only contract from the plain dicts and tuples the family tables are written in."""
    return RuleSpec(
        rule_id=rule_id,
        variants=MappingProxyType(variants),
        keys=MappingProxyType(keys),
        variant_keys=MappingProxyType(variant_keys or {}),
        evidence=evidence,
        action_kinds=frozenset(actions),
        domains=domains,
    )


def patient_view_spec(
    rule_id: str,
    variants: dict[str, VariantSpec],
    keys: dict[str, Key],
    evidence: tuple[str, ...],
    actions: tuple[ActionKind, ...],
    domains: tuple[str, ...],
    variant_keys: dict[str, Key] | None = None,
) -> RuleSpec:
    """Every patient-view rule also carries the domains it could not check, and a rule reading the medication
    list the entries recognised by name only."""
    common = {**UNCHECKED, **(BY_NAME if "medications" in domains else {})}
    return build_spec(rule_id, variants, {**keys, **common}, evidence, actions, domains, variant_keys)
