"""RULE_SPECS consistency and the generated RULES.md."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import decision_core
from cards.rules_doc import render
from decision_core.frax_assessment import FraxAdjustment
from decision_core.order_rules import ORDER_RULES
from decision_core.rule_spec import EVIDENCE_KEYS
from decision_core.rules import RULES
from decision_core.specs import PATIENT_VIEW_RULE_IDS, RULE_ORDER, RULE_SPECS
from decision_core.specs.common_specs import FraxAdjustmentCode
from decision_core.specs.order_specs import ORDER_RULE_IDS


def test_every_rule_has_a_spec_and_a_function() -> None:
    assert list(RULES) == list(PATIENT_VIEW_RULE_IDS)
    assert list(RULE_ORDER) == [*PATIENT_VIEW_RULE_IDS, *ORDER_RULE_IDS]
    assert len(RULE_SPECS) == 21 + 12
    # ORD-00 (unreadable order) and ORD-06 (only when no other order card fires) are applied by evaluate_orders
    assert {rule_id for rule_id, _ in ORDER_RULES} | {"ORD-00", "ORD-06"} == set(ORDER_RULE_IDS)


def test_specs_are_well_formed() -> None:
    for spec in RULE_SPECS.values():
        assert spec.variants, spec.rule_id
        assert spec.evidence and set(spec.evidence) <= EVIDENCE_KEYS, spec.rule_id
        assert "unchecked_domains" in spec.keys
        for variant in spec.variants.values():
            assert set(variant.extra_keys) <= set(spec.variant_keys), spec.rule_id
            assert not set(variant.extra_keys) & set(spec.keys), spec.rule_id


def test_the_declared_frax_adjustment_codes_are_the_cores() -> None:
    assert set(get_args(FraxAdjustmentCode)) == {str(code) for code in FraxAdjustment}


def test_rules_md_is_current() -> None:
    path = Path(decision_core.__file__).with_name("RULES.md")
    assert path.read_text(encoding="utf-8").rstrip("\n") == render().rstrip("\n"), (
        "regenerate: python -m cards.rules_doc > decision_core/RULES.md"
    )


def test_core_has_no_clock_or_io() -> None:
    package = Path(decision_core.__file__).parent
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for forbidden in (
            "datetime.now",
            "date.today",
            "time.time(",
            "open(",
            "import flask",
            "import requests",
        ):
            assert forbidden not in text, f"{source.name}: {forbidden}"
