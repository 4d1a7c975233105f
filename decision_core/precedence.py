"""Decision table §4 precedence and suppression, as data, applied in one place.

"If this fires" is read on the raw trigger set: a winner suppresses its losers even when the winner is itself
suppressed by a third rule (this never un-suppresses anything, so it is the conservative reading).
State rows ("current therapy", ...) are predicates on the assessment rather than on another card.
After suppression, `finalize_actions` enforces the action-level rules: the 12-month DXA floor for every card,
a single DXA suggestion across all cards, and no lab ordered twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from .assessment import Assessment
from .dxa_assessment import BmdCategory
from .recommendation import ActionKind, Indicator, Recommendation, SuggestedAction
from .rules.common import dxa_allowed
from .specs import RULE_ORDER


def _always(_: Recommendation) -> bool:
    return True


def _reason_codes(rec: Recommendation) -> set[str]:
    return {r["code"] for r in rec.values.get("reasons", ())}


def _tx02_bmd_only(rec: Recommendation) -> bool:
    return _reason_codes(rec) <= {"very-low-t", "frax-very-high"}


def _tx02_without_fracture_on_therapy(rec: Recommendation) -> bool:
    return "fracture-on-therapy" not in _reason_codes(rec)


def _gc_moderate_or_higher(rec: Recommendation) -> bool:
    return rec.values.get("acr_category") in ("moderate", "high", "very-high")


def _offers_dxa(rec: Recommendation) -> bool:
    return any(action.kind == ActionKind.ORDER_DXA for action in rec.actions)


@dataclass(frozen=True, slots=True)
class CardRow:
    """When a card of `winners` fires (and `winner_applies`), `losers` cards (if `loser_applies`) do not."""

    winners: frozenset[str]
    losers: frozenset[str]
    note: str
    winner_applies: Callable[[Recommendation], bool] = _always
    loser_applies: Callable[[Recommendation], bool] = _always


@dataclass(frozen=True, slots=True)
class StateRow:
    """When the patient is in `state`, cards of `losers` do not fire."""

    state: str
    losers: frozenset[str]
    note: str
    holds: Callable[[Assessment], bool]


def _current_therapy_or_ordered(a: Assessment) -> bool:
    # An osteoporosis drug already ordered counts as 'treatment decided' (RULES.md D-ORDERED).
    return a.therapy.treatment_started_or_ordered


def _current_therapy(a: Assessment) -> bool:
    return a.therapy.on_therapy


def _not_naive(a: Assessment) -> bool:
    return not a.therapy.naive


def _naive_normal_without_bhc(a: Assessment) -> bool:
    return a.therapy.naive and a.dxa.effective_category == BmdCategory.NORMAL and not a.bhc


CARD_ROWS: tuple[CardRow, ...] = (
    CardRow(
        frozenset({"DX-02"}),
        frozenset({"DX-01", "RISK-01", "TX-01", "TX-03", "MON-01", "DATA-02"}),
        "DX-02 (YOUNG): WHO categories, FRAX and T-score based treatment do not apply",
    ),
    CardRow(
        frozenset({"DX-02"}),
        frozenset({"TX-02"}),
        "DX-02 (YOUNG): TX-02 BMD criteria do not apply",
        loser_applies=_tx02_bmd_only,
    ),
    CardRow(
        frozenset({"SAFE-01"}),
        frozenset({"TX-01", "TX-03", "RISK-01", "MON-02", "MON-03"}),
        "SAFE-01: the denosumab lapse is the action; no initiation, FRAX or holiday logic",
    ),
    CardRow(
        frozenset({"SAFE-01"}),
        frozenset({"TX-02"}),
        "SAFE-01 suppresses TX-02 except for a fracture on therapy",
        loser_applies=_tx02_without_fracture_on_therapy,
    ),
    CardRow(frozenset({"TX-02"}), frozenset({"TX-01"}), "TX-02 supersedes TX-01"),
    CardRow(
        frozenset({"TX-01", "TX-02"}),
        frozenset({"TX-03", "RISK-01", "MON-01"}),
        "Treatment is indicated: no FRAX prompt, no 'below thresholds', no untreated monitoring",
    ),
    CardRow(
        frozenset({"GC-01"}),
        frozenset({"TX-03"}),
        "GC-01 at ACR moderate or higher recommends therapy",
        winner_applies=_gc_moderate_or_higher,
    ),
    CardRow(
        frozenset({"GC-01"}),
        frozenset({"MON-01"}),
        "GC-01 already offers the DXA (one DXA suggestion only)",
        winner_applies=_offers_dxa,
    ),
    CardRow(frozenset({"DATA-02"}), frozenset({"RISK-01", "MON-01"}), "Stale DXA: repeat DXA first"),
    CardRow(frozenset({"MON-03"}), frozenset({"MON-02"}), "The reassessment includes the DXA"),
    CardRow(
        frozenset({"MON-04"}),
        frozenset({"TX-01", "TX-03", "RISK-01", "MON-01", "DATA-02"}),
        "Bisphosphonate holiday: a planned pause, not 'untreated'. TX-01 (c)/(d) by the table; (a)/(b) too, since a"
        " fracture after the course ends the holiday and earlier ones are the holiday card's resume criteria",
    ),
)

STATE_ROWS: tuple[StateRow, ...] = (
    StateRow(
        "current-therapy-or-ordered",
        frozenset({"RISK-01", "TX-01", "TX-03"}),
        "On current osteoporosis therapy (or one is ordered): no initiation decisions, FRAX ignored (§7.14)",
        _current_therapy_or_ordered,
    ),
    StateRow(
        "current-therapy",
        frozenset({"DATA-02"}),
        "On current therapy: MON-02 handles DXA timing",
        _current_therapy,
    ),
    StateRow("not-treatment-naive", frozenset({"LAB-01"}), "LAB-01 is for treatment-naive patients", _not_naive),
    StateRow(
        "naive-normal-without-bhc",
        frozenset({"UNIV-01", "VITD-01", "LAB-01"}),
        "Treatment-naive normal BMD without bone-health context",
        _naive_normal_without_bhc,
    ),
)


def suppressed_by(raw: Iterable[Recommendation], a: Assessment) -> dict[str, list[str]]:
    """rule id -> the winners (rule ids or 'state:<name>') that suppress it."""
    recs = list(raw)
    result: dict[str, list[str]] = {}
    for loser in recs:
        for row in CARD_ROWS:
            if loser.rule_id not in row.losers or not row.loser_applies(loser):
                continue
            for winner in recs:
                if winner.rule_id in row.winners and winner is not loser and row.winner_applies(winner):
                    result.setdefault(loser.rule_id, []).append(winner.rule_id)
        for state_row in STATE_ROWS:
            if loser.rule_id in state_row.losers and state_row.holds(a):
                result.setdefault(loser.rule_id, []).append(f"state:{state_row.state}")
    return result


def apply_precedence(raw: list[Recommendation], a: Assessment) -> list[Recommendation]:
    suppressed = suppressed_by(raw, a)
    return [rec for rec in raw if rec.rule_id not in suppressed]


# Which card keeps the single DXA suggestion, and which keeps a lab that several cards would order.
DXA_PRIORITY: tuple[str, ...] = ("GC-01", "TX-04", "DATA-01", "DATA-02", "MON-03", "MON-04", "MON-01")
LAB_PRIORITY: tuple[str, ...] = ("TX-01", "SAFE-03", "LAB-01", "TX-04")


def _priority(order: tuple[str, ...], rule_id: str) -> int:
    return order.index(rule_id) if rule_id in order else len(order)


def finalize_actions(recs: list[Recommendation], a: Assessment) -> list[Recommendation]:
    floor_ok = dxa_allowed(a)
    dxa_owner: str | None = None
    if floor_ok:
        offering = [r.rule_id for r in recs if _offers_dxa(r)]
        if offering:
            dxa_owner = min(offering, key=lambda rid: _priority(DXA_PRIORITY, rid))
    ordered_labs: set[str] = set()
    lab_actions: dict[str, tuple[SuggestedAction, ...]] = {}
    for rec in sorted(recs, key=lambda r: _priority(LAB_PRIORITY, r.rule_id)):
        kept: list[SuggestedAction] = []
        for action in rec.actions:
            if action.kind != ActionKind.ORDER_LABS:
                continue
            names = tuple(n for n in action.params.get("labs", ()) if n not in ordered_labs)
            ordered_labs.update(names)
            if names:
                kept.append(SuggestedAction(ActionKind.ORDER_LABS, {**action.params, "labs": names}))
        lab_actions[rec.rule_id] = tuple(kept)
    final: list[Recommendation] = []
    for rec in recs:
        actions: list[SuggestedAction] = []
        for action in rec.actions:
            if action.kind == ActionKind.ORDER_DXA:
                if rec.rule_id == dxa_owner and not any(x.kind == ActionKind.ORDER_DXA for x in actions):
                    actions.append(action)
            elif action.kind != ActionKind.ORDER_LABS:
                actions.append(action)
        actions.extend(lab_actions.get(rec.rule_id, ()))
        final.append(replace(rec, actions=tuple(actions)) if tuple(actions) != rec.actions else rec)
    return final


_SEVERITY = {Indicator.CRITICAL: 0, Indicator.WARNING: 1, Indicator.INFO: 2}


def sort_recommendations(recs: list[Recommendation]) -> list[Recommendation]:
    return sorted(recs, key=lambda r: (_SEVERITY[r.indicator], RULE_ORDER.index(r.rule_id)))
