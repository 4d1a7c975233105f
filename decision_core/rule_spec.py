"""The shape of a card rule's output contract: variants, the indicator of each, value keys with their declared
types, the actions it may emit, its evidence and the data domains it reads. Types and keys only: what a clinician
reads (titles, triggers, summaries, details) lives once, in cards/rules/*.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .recommendation import ActionKind, Indicator

# Source keys of decision table §0.1/§0.2 (cards/evidence.yaml words them).
EVIDENCE_KEYS = frozenset(
    {
        "BHOF22", "NOF14", "AACE20", "ACP23", "ACP17", "ES19", "ES12M", "ISCD", "USPSTF25", "IOM11", "ES24D",
        "ACR22", "ACR17", "KANIS11", "ISCD-GC", "LBL", "FDA24", "KDIGO17", "ECTS21", "LYU20", "KIM24",
        "ASBMR16",
        "GOURLAY12", "CW", "CNS21", "AACE10-T17", "S000", "S001", "S002", "S003", "S004",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Key:
    """One value key: its declared type (decision_core.value_types) and what it means, for card authors."""

    type: Any
    doc: str = ""


@dataclass(frozen=True, slots=True)
class VariantSpec:
    indicator: Indicator
    extra_keys: tuple[str, ...] = ()  # keys of `RuleSpec.variant_keys` present in this variant only


@dataclass(frozen=True, slots=True)
class RuleSpec:
    rule_id: str
    variants: Mapping[str, VariantSpec]
    keys: Mapping[str, Key]  # present in every variant
    variant_keys: Mapping[str, Key]  # present in the variants that name them
    evidence: tuple[str, ...]
    action_kinds: frozenset[ActionKind]
    domains: tuple[str, ...]  # data domains the rule reads (reported in `unchecked_domains` when incomplete)

    @property
    def default_indicator(self) -> Indicator:
        return next(iter(self.variants.values())).indicator

    def required_keys(self, variant: str) -> frozenset[str]:
        return frozenset(self.keys) | frozenset(self.variants[variant].extra_keys)

    def keys_of(self, variant: str) -> dict[str, Key]:
        """Every value key of one variant."""
        return {**self.keys, **{name: self.variant_keys[name] for name in self.variants[variant].extra_keys}}

    def all_keys(self) -> dict[str, Key]:
        return {**self.keys, **self.variant_keys}
