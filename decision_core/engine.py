"""The entry point: patient facts and the evaluation time in, recommendations out. Pure: no clock, no I/O."""

from __future__ import annotations

from datetime import date, datetime

from .assessment import Assessment, assess
from .facts import PatientFacts
from .population import Population
from .precedence import apply_precedence, finalize_actions, sort_recommendations
from .recommendation import Recommendation
from .rules import AGE_INDEPENDENT_RULES, RULES


def triggered(facts: PatientFacts, now: date | datetime) -> tuple[Assessment, list[Recommendation]]:
    """The assessment and every rule whose own trigger holds, before §4 suppression (for tests and audit)."""
    a = assess(facts, now)
    if a.population == Population.OUT_OF_SCOPE:
        return a, []
    rules = RULES if a.population != Population.UNKNOWN else AGE_INDEPENDENT_RULES
    return a, [rec for rule in rules.values() if (rec := rule(a)) is not None]


def evaluate(facts: PatientFacts, now: date | datetime) -> list[Recommendation]:
    """Recommendations for one patient at `now` (the hook invocation time, injected by the caller).

    Ordered by indicator (critical, warning, info), then by decision-table order. At most one per rule id.
    """
    a, raw = triggered(facts, now)
    return sort_recommendations(finalize_actions(apply_precedence(raw, a), a))
