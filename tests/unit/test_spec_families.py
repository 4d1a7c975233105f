"""A rule's contract sits next to its logic: `decision_core/specs/<family>_specs.py` holds the contract of exactly the
rules whose function is in `decision_core/rules/<family>.py` (`order_specs`: `decision_core/order_rules.py`), each rule
of RULE_SPECS is defined in exactly one of them, and `common_specs` holds only key groups several families carry."""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import decision_core.specs
from decision_core.order_rules import ORDER_RULES, evaluate_orders
from decision_core.rule_spec import Key, RuleSpec
from decision_core.rules import RULES
from decision_core.specs import RULE_SPECS, common_specs

SPECS_PACKAGE = Path(decision_core.specs.__file__).parent
FAMILY_MODULES = sorted(path.stem for path in SPECS_PACKAGE.glob("*_specs.py") if path.stem != "common_specs")


def defined_specs(module_name: str) -> list[RuleSpec]:
    """Every RuleSpec a module of decision_core.specs holds, alone or in a tuple."""
    module = importlib.import_module(f"decision_core.specs.{module_name}")
    found: list[RuleSpec] = []
    for value in vars(module).values():
        if isinstance(value, RuleSpec):
            found.append(value)
        elif isinstance(value, tuple):
            found += [item for item in value if isinstance(item, RuleSpec)]
    return found


def logic_module(rule_id: str) -> str:
    """The module of the rule's function; ORD-00 and ORD-06 are applied by evaluate_orders itself."""
    if rule_id in RULES:
        return RULES[rule_id].__module__
    return dict(ORDER_RULES).get(rule_id, evaluate_orders).__module__


def contract_module(logic: str) -> str:
    """decision_core.rules.diagnosis -> diagnosis_specs; decision_core.order_rules -> order_specs."""
    return logic.rsplit(".", 1)[1].removesuffix("_rules") + "_specs"


def misplaced(contracts: Mapping[str, Sequence[RuleSpec]]) -> list[str]:
    return [
        f"{spec.rule_id} is in {module}, its logic in {logic_module(spec.rule_id)}"
        for module, specs in contracts.items()
        for spec in specs
        if contract_module(logic_module(spec.rule_id)) != module
    ]


def test_every_rule_is_defined_in_exactly_one_family_module() -> None:
    defined = [spec for module in [*FAMILY_MODULES, "common_specs"] for spec in defined_specs(module)]
    assert Counter(spec.rule_id for spec in defined) == Counter(list(RULE_SPECS))
    assert all(RULE_SPECS[spec.rule_id] is spec for spec in defined)


def test_each_family_module_holds_the_rules_of_its_logic_module() -> None:
    assert misplaced({module: defined_specs(module) for module in [*FAMILY_MODULES, "common_specs"]}) == []


def test_every_family_of_rules_has_its_contract_module() -> None:
    assert {contract_module(logic_module(rule_id)) for rule_id in RULE_SPECS} == set(FAMILY_MODULES)


def test_the_placement_check_sees_a_rule_in_the_wrong_family() -> None:
    assert misplaced({"diagnosis_specs": [RULE_SPECS["DX-01"], RULE_SPECS["TX-01"]]}) == [
        "TX-01 is in diagnosis_specs, its logic in decision_core.rules.treatment"
    ]


def test_common_specs_holds_only_key_groups_several_families_carry() -> None:
    groups = {
        name: value
        for name, value in vars(common_specs).items()
        if isinstance(value, dict) and value and all(isinstance(key, Key) for key in value.values())
    }
    assert groups
    for name, group in groups.items():
        carriers = {
            module
            for module in FAMILY_MODULES
            for spec in defined_specs(module)
            if any(key is declared for key in group.values() for declared in spec.all_keys().values())
        }
        assert len(carriers) >= 2, f"common_specs.{name} is carried by {sorted(carriers)} only"
