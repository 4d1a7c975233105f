"""Spec-shaped sample values, made from the types the decision core declares (decision_core.value_types).

The card loader renders every template against these samples, so a template that names a key the core does not
provide for that variant, or that breaks on a None the spec allows, fails when the catalog is loaded, not in front
of a clinician.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from decision_core.rule_spec import Key
from decision_core.value_types import (
    NoneType,
    alternatives,
    choices,
    is_mapping,
    is_optional,
    is_reasons,
    main_type,
    record_fields,
    tuple_item,
)

SAMPLE_DATE = date(2026, 6, 15)
LONG_TEXT = "Xxxxxxxxxx yyyyyyyyyyyy zzzzzzzzzzzz wwwwwwwwwwwww"  # 50 characters of words


def sample_of(declared: Any, mode: str) -> Any:
    """A value of this type. mode: 'typical' (first known value, small numbers) or 'long' (longest forms)."""
    declared = main_type(declared)
    long = mode == "long"
    if known := choices(declared):
        return max(known, key=len) if long else known[0]
    if (item := tuple_item(declared)) is not None:
        count = 3 if long else 1
        if known := choices(main_type(item)):
            return tuple(sorted(known, key=len, reverse=long)[:count])
        return tuple(sample_of(item, mode) for _ in range(count))
    if fields := record_fields(declared):
        return {name: sample_of(field, mode) for name, field in fields.items()}
    if is_mapping(declared):
        return {}
    if declared is str:
        return LONG_TEXT if long else "sample text"
    if declared is bool:
        return True
    if declared is int:
        return 9999 if long else 12
    if declared is Decimal:
        return Decimal("-9999.9") if long else Decimal("-2.6")
    if declared is date:
        return SAMPLE_DATE
    if declared is NoneType:
        return None
    raise ValueError(f"no sample for {declared!r}")


def sample_values(keys: Mapping[str, Key], mode: str) -> dict[str, Any]:
    """mode 'typical' or 'long': every key filled; mode 'none': every optional key None, tuples empty."""
    values: dict[str, Any] = {}
    for name, key in keys.items():
        if mode == "none":
            if is_optional(key.type):
                values[name] = None
            elif tuple_item(key.type) is not None and not is_reasons(key.type):
                values[name] = ()
            else:
                values[name] = sample_of(key.type, "typical")
        else:
            values[name] = sample_of(key.type, mode)
    return values


def _member_for(value: Any, declared: Any) -> Any:
    """The alternative of a union that `value` is: for coded records, the one whose `code` allows value's code."""
    if isinstance(value, dict) and "code" in value:
        for member in alternatives(declared):
            if value["code"] in choices(record_fields(member).get("code")):
                return member
    return main_type(declared)


def from_yaml(value: Any, declared: Any) -> Any:
    """A value written in YAML (floats, lists, ISO date strings) as the core gives it (Decimal, tuple, date)."""
    if value is None:
        return None
    declared = _member_for(value, declared)
    if (item := tuple_item(declared)) is not None:
        return tuple(from_yaml(v, item) for v in value)
    if fields := record_fields(declared):
        return {k: from_yaml(v, fields[k]) if k in fields else v for k, v in value.items()}
    if declared is Decimal:
        return Decimal(str(value))
    if declared is int and not isinstance(value, bool):
        return int(value)
    if declared is date and isinstance(value, str):
        return date.fromisoformat(value)
    return value
