"""Read the value types of decision_core.specs (e.g. "Decimal | None; meaning") and make spec-shaped sample values.

The card loader renders every template against these samples, so a template that names a key the core does not
provide for that variant, or that breaks on a None the spec allows, fails when the catalog is loaded, not in front
of a clinician. Tests use the parsed types to generate values with hypothesis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from decision_core.specs import RuleSpec


@dataclass(frozen=True)
class ValueType:
    """One alternative of a spec type: kind is str, int, Decimal, date, bool, None, tuple, record or mapping."""

    kind: str
    item: ValueType | None = None  # tuple element
    fields: tuple[tuple[str, ValueType], ...] = ()  # record fields
    choices: tuple[str, ...] = ()  # known string values, from the meaning ("female | male | ...")


@dataclass(frozen=True)
class KeyType:
    name: str
    alternatives: tuple[ValueType, ...]
    meaning: str

    @property
    def optional(self) -> bool:
        return any(a.kind == "None" for a in self.alternatives)

    @property
    def main(self) -> ValueType:
        return next((a for a in self.alternatives if a.kind != "None"), self.alternatives[0])


_BASE = {"str", "int", "Decimal", "date", "bool", "None"}


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _choices(meaning: str) -> tuple[str, ...]:
    head = meaning.split("(")[0].split(";")[0]
    if "|" not in head:
        return ()
    # "eGFR <35 only: after-calcium-check | ..." -> "after-calcium-check"
    return tuple(c.rsplit(":", 1)[-1].strip() for c in head.split("|") if c.strip())


def _field_type(name: str, declared: str | None) -> ValueType:
    if declared:
        return _parse_one(declared, "")
    if name in ("date", "effective") or name.endswith("_date"):
        return ValueType("date")
    return ValueType("str")


def _parse_one(text: str, meaning: str) -> ValueType:
    text = text.strip()
    if text in _BASE:
        return ValueType(text, choices=_choices(meaning) if text == "str" else ())
    if text.startswith("tuple[") and text.endswith("]"):
        return ValueType("tuple", item=_parse_one(text[6:-1], meaning))
    if text.startswith("dict{") and text.endswith("}"):
        fields = []
        for part in _split_top(text[5:-1], ","):
            name, _, declared = part.partition(":")
            fields.append((name.strip(), _field_type(name.strip(), declared.strip() or None)))
        return ValueType("record", fields=tuple(fields))
    if text.startswith("dict["):
        return ValueType("mapping")
    raise ValueError(f"unknown spec type {text!r}")


def parse_key(name: str, doc: str) -> KeyType:
    type_text, _, meaning = doc.partition(";")
    alternatives = tuple(_parse_one(t, meaning) for t in _split_top(type_text, "|"))
    return KeyType(name, alternatives, meaning.strip())


def variant_keys(spec: RuleSpec, variant: str) -> dict[str, KeyType]:
    """Every value key of one variant, with its parsed type."""
    docs = {**spec.keys, **{k: spec.variant_key_docs[k] for k in spec.variants[variant].extra_keys}}
    return {name: parse_key(name, doc) for name, doc in docs.items()}


def all_keys(spec: RuleSpec) -> dict[str, KeyType]:
    docs = {**spec.keys, **spec.variant_key_docs}
    return {name: parse_key(name, doc) for name, doc in docs.items()}


# --- spec-shaped samples -------------------------------------------------------------------------------------------

SAMPLE_DATE = date(2026, 6, 15)
LONG_TEXT = "Xxxxxxxxxx yyyyyyyyyyyy zzzzzzzzzzzz wwwwwwwwwwwww"  # 50 characters of words


def sample_of(value_type: ValueType, mode: str) -> Any:
    """A value of this type. mode: 'typical' (first choice, small numbers) or 'long' (longest forms)."""
    kind = value_type.kind
    long = mode == "long"
    if kind == "str":
        if value_type.choices:
            return max(value_type.choices, key=len) if long else value_type.choices[0]
        return LONG_TEXT if long else "sample text"
    if kind == "int":
        return 9999 if long else 12
    if kind == "Decimal":
        return Decimal("-9999.9") if long else Decimal("-2.6")
    if kind == "date":
        return SAMPLE_DATE
    if kind == "bool":
        return True
    if kind == "None":
        return None
    if kind == "tuple":
        assert value_type.item is not None
        count = 3 if long else 1
        if value_type.item.choices:
            choices = sorted(value_type.item.choices, key=len, reverse=long)
            return tuple(choices[:count])
        return tuple(sample_of(value_type.item, mode) for _ in range(count))
    if kind == "record":
        return {name: sample_of(field, mode) for name, field in value_type.fields}
    if kind == "mapping":
        return {}
    raise ValueError(kind)


def sample_values(keys: Mapping[str, KeyType], mode: str) -> dict[str, Any]:
    """mode 'typical' or 'long': every key filled; mode 'none': every optional key None, tuples empty."""
    values: dict[str, Any] = {}
    for name, key in keys.items():
        if mode == "none":
            if key.optional:
                values[name] = None
                continue
            if key.main.kind == "tuple":
                values[name] = ()
                continue
            values[name] = sample_of(key.main, "typical")
        else:
            values[name] = sample_of(key.main, mode)
    return values


_PLACEHOLDER = re.compile(r"\{([a-z_0-9]+)")


def spec_placeholders(summary: str) -> set[str]:
    """Value keys a decision-table summary template names ({lowest_t}, {lowest_t|not available})."""
    return set(_PLACEHOLDER.findall(summary))
