"""What the decision core returns: recommendations as data, for the card renderer to word."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Indicator(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class ActionKind(StrEnum):
    """Intents for suggestions. The card layer turns them into draft FHIR resources (never orders)."""

    ORDER_DXA = "order-dxa"
    ORDER_LABS = "order-labs"  # params: {"labs": ("25-OH D", "Ca", ...)} using the LAB-01 short names
    DRAFT_ALENDRONATE = "draft-alendronate"  # 70 mg PO weekly, only when every TX-01 gate holds
    DRAFT_CALCIUM = "draft-calcium"  # params: {"mg_per_day": 1200}
    DRAFT_VITAMIN_D = "draft-vitamin-d"  # params: {"iu_per_day": 800}
    REFERRAL = "referral"  # params: {"specialty": "endocrinology"}
    # Order hooks (§10). Any drug draft may carry params {"replaces": "MedicationRequest/<id>", "replaced_drug": ...}:
    # the suggestion then creates it and deletes that draft (create listed first, for the sandbox).
    REMOVE_DRAFT = "remove-draft"  # params: {"draft": "MedicationRequest/<id>", "drug": "alendronate"}
    DRAFT_DENOSUMAB = "draft-denosumab"  # 60 mg SC every 6 months, only when every ORD-01 gate holds
    DRAFT_ZOLEDRONIC_ACID = "draft-zoledronic-acid"  # 5 mg IV yearly; params may hold {"start": "YYYY-MM-DD"}


@dataclass(frozen=True, slots=True)
class SuggestedAction:
    kind: ActionKind
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recommendation:
    rule_id: str  # decision table id, e.g. "TX-01"
    indicator: Indicator
    variant: str  # which summary template of the rule applies, e.g. "persistence", "04a", "severe"
    # the patient's values the card cites (str, int, Decimal, date, tuples of those)
    values: Mapping[str, Any]
    actions: tuple[SuggestedAction, ...] = ()
    evidence: tuple[str, ...] = ()  # source keys of decision-table §0.1/§0.2, e.g. ("BHOF22", "S001")
