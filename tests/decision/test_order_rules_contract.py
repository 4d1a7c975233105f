"""Every order card the rules emit for the boundary charts conforms to its contract (decision_core.specs.order_specs:
variant, indicator, value keys and types, action kinds, evidence), and renders as a valid card."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cards.catalog import default_catalog
from cards.render import render_cards
from cds_service.services import ORDER_SIGN
from decision_core.conformance import recommendation_problems
from decision_core.order_rules import evaluate_orders
from fhir_mappings.extract import extract_facts
from fhir_mappings.orders import read_drafts
from fhir_mappings.terminology import default_terminology
from testkit.orders import SHAPES, draft_orders
from tests.integration.test_order_hooks import CASES, Case, _chart, _draft, _pid

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_order_recommendations_conform_to_their_spec(case: Case, shape: str) -> None:
    pid = _pid(case, shape)
    facts = extract_facts(_chart(case, pid), NOW, terminology=default_terminology())
    drafts = read_drafts(draft_orders(_draft(case, pid, shape)))

    recommendations = evaluate_orders(facts, drafts, NOW)

    assert {r.rule_id: r.indicator.value for r in recommendations} == dict(case.expected)
    assert [p for r in recommendations for p in recommendation_problems(r)] == []
    assert ORDER_SIGN.rule_ids >= {r.rule_id for r in recommendations}
    render_cards(recommendations, default_catalog(), pid)
