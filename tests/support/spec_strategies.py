"""Hypothesis strategies for the decision core's Recommendation.values, read from decision_core.specs types."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from cards.spec_values import KeyType, ValueType, variant_keys
from decision_core.specs import RuleSpec

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


def value_strategy(value_type: ValueType) -> st.SearchStrategy[Any]:
    kind = value_type.kind
    if kind == "str":
        return st.sampled_from(value_type.choices) if value_type.choices else _TEXT
    if kind == "int":
        return st.integers(-9999, 9999)
    if kind == "Decimal":
        return st.decimals(Decimal("-9999.99"), Decimal("9999.99"), places=2, allow_nan=False, allow_infinity=False)
    if kind == "date":
        return st.dates(date(1900, 1, 1), date(2199, 12, 31))
    if kind == "bool":
        return st.booleans()
    if kind == "None":
        return st.none()
    if kind == "tuple":
        assert value_type.item is not None
        return st.lists(value_strategy(value_type.item), max_size=4).map(tuple)
    if kind == "record":
        return st.fixed_dictionaries({name: value_strategy(field) for name, field in value_type.fields})
    if kind == "mapping":
        return st.just({})
    raise ValueError(kind)


def key_strategy(key: KeyType) -> st.SearchStrategy[Any]:
    return st.one_of([value_strategy(a) for a in key.alternatives])


def values_strategy(spec: RuleSpec, variant: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({name: key_strategy(key) for name, key in variant_keys(spec, variant).items()})
