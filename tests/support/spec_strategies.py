"""Hypothesis strategies for the decision core's Recommendation.values, made from the types decision_core.specs
declares."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from decision_core.rule_spec import RuleSpec
from decision_core.value_types import (
    NoneType,
    alternatives,
    choices,
    is_mapping,
    is_reasons,
    record_fields,
    tuple_item,
)

# Chart text can hold anything: markup, HTML, U+2212 minus signs, newlines.
_HOSTILE = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=y>",
        "**bold**",
        "[x](javascript:1)",
        "a|b",
        "# heading",
        "\u22122.5",
        "line\nbreak",
        "&lt;b&gt;",
        "`code`",
        "> quote",
    ]
)
_TEXT = st.one_of(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60), _HOSTILE)


def value_strategy(declared: Any) -> st.SearchStrategy[Any]:
    members = alternatives(declared)
    if len(members) > 1:
        return st.one_of([value_strategy(m) for m in members])
    if known := choices(declared):
        return st.sampled_from(known)
    if (item := tuple_item(declared)) is not None:
        min_size = 1 if is_reasons(declared) else 0  # a recommendation states at least one reason
        return st.lists(value_strategy(item), min_size=min_size, max_size=4).map(tuple)
    if fields := record_fields(declared):
        return st.fixed_dictionaries({name: value_strategy(field) for name, field in fields.items()})
    if is_mapping(declared):
        return st.just({})
    strategies: dict[Any, st.SearchStrategy[Any]] = {
        str: _TEXT,
        int: st.integers(-9999, 9999),
        Decimal: st.decimals(Decimal("-9999.99"), Decimal("9999.99"), places=2, allow_nan=False, allow_infinity=False),
        date: st.dates(date(1900, 1, 1), date(2199, 12, 31)),
        bool: st.booleans(),
        NoneType: st.none(),
    }
    return strategies[declared]


def values_strategy(spec: RuleSpec, variant: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({name: value_strategy(key.type) for name, key in spec.keys_of(variant).items()})
