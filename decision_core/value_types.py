"""The value types a rule's contract declares for the keys of `Recommendation.values`: plain Python types.

A declared type is one of `str`, `int`, `bool`, `Decimal`, `date`, a `Literal` of strings (the known values), a
`tuple[T, ...]`, a `TypedDict` (a record of named fields), `Mapping[str, str]` (free names to codes), or a union of
these with `None`. `reasons(T)` declares a non-empty tuple of coded reasons (codes, or records with a `code` field)
that the card words, code by code. The core checks what it emits against them (`conforms`); cards fill templates
with values made from them; RULES.md prints them (`describe`).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args, get_origin, is_typeddict

NoneType = type(None)
SCALARS: tuple[type, ...] = (str, int, bool, Decimal, date)
_REASONS = "reasons"  # Annotated marker: a non-empty tuple of coded reasons, worded by the card


def reasons(item: Any) -> Any:
    """The type of a non-empty tuple of coded reasons: `item` is a Literal of codes, or (a union of) TypedDicts
    whose `code` field is a Literal of codes."""
    return Annotated[tuple[item, ...], _REASONS]


def _bare(declared: Any) -> Any:
    return get_args(declared)[0] if get_origin(declared) is Annotated else declared


def is_reasons(declared: Any) -> bool:
    return get_origin(declared) is Annotated and _REASONS in declared.__metadata__


def reason_codes(declared: Any) -> tuple[str, ...]:
    """Every code a `reasons(...)` type allows (empty for any other type)."""
    if not is_reasons(declared):
        return ()
    codes: list[str] = []
    for member in alternatives(tuple_item(declared)):
        codes += choices(member) or choices(record_fields(member).get("code"))
    return tuple(codes)


def reason_record(declared: Any, code: str) -> Any:
    """The member of a `reasons(...)` type that carries `code`: a TypedDict, or the Literal of plain codes."""
    for member in alternatives(tuple_item(declared)):
        if code in choices(member) or code in choices(record_fields(member).get("code")):
            return member
    raise KeyError(code)


def alternatives(declared: Any) -> tuple[Any, ...]:
    """The members of a union (`Decimal | None` -> (Decimal, NoneType)), or the type itself."""
    declared = _bare(declared)
    if get_origin(declared) in (types.UnionType, typing.Union):
        return get_args(declared)
    return (declared,)


def is_optional(declared: Any) -> bool:
    return NoneType in alternatives(declared)


def main_type(declared: Any) -> Any:
    """The first alternative that is not None."""
    return next((a for a in alternatives(declared) if a is not NoneType), NoneType)


def choices(declared: Any) -> tuple[str, ...]:
    """The known values of a `Literal` of strings (empty for any other type)."""
    return tuple(get_args(declared)) if get_origin(declared) is Literal else ()


def tuple_item(declared: Any) -> Any | None:
    """T of `tuple[T, ...]`, else None."""
    declared = _bare(declared)
    if get_origin(declared) is tuple:
        return get_args(declared)[0]
    return None


def is_mapping(declared: Any) -> bool:
    return get_origin(declared) in (dict, Mapping)


def record_fields(declared: Any) -> dict[str, Any]:
    """Field name -> declared type of a TypedDict record (empty for any other type)."""
    return typing.get_type_hints(declared) if is_typeddict(declared) else {}


def describe(declared: Any) -> str:
    """The type as RULES.md writes it: `Decimal | None`, `tuple[str]`, `'hip' | 'vertebral'`, `SiteValue{...}`."""
    parts = alternatives(declared)
    if len(parts) > 1:
        return " | ".join(describe(p) for p in parts)
    if declared is NoneType:
        return "None"
    if get_origin(declared) is Literal:
        return " | ".join(f"'{c}'" for c in get_args(declared))
    if is_reasons(declared):
        return f"reasons[{describe(tuple_item(declared))}]"
    if (item := tuple_item(declared)) is not None:
        return f"tuple[{describe(item)}]"
    if is_mapping(declared):
        return "Mapping[str, str]"
    if is_typeddict(declared):
        fields = ", ".join(f"{name}: {describe(tp)}" for name, tp in record_fields(declared).items())
        return f"{declared.__name__}{{{fields}}}"
    return str(declared.__name__)


def conforms(value: Any, declared: Any, path: str) -> list[str]:
    """Every way `value` departs from `declared` (empty when it conforms)."""
    if is_reasons(declared):
        if value == ():
            return [f"{path}: at least one reason is required"]
        declared = _bare(declared)
    problems: list[list[str]] = []
    for alternative in alternatives(declared):
        found = _conforms_one(value, alternative, path)
        if not found:
            return []
        problems.append(found)
    return problems[0] if len(problems) == 1 else [f"{path}: {value!r} is not {describe(declared)}"]


def _conforms_one(value: Any, declared: Any, path: str) -> list[str]:
    if declared is NoneType:
        return [] if value is None else [f"{path}: expected None"]
    if get_origin(declared) is Literal:
        return [] if value in get_args(declared) else [f"{path}: {value!r} is not one of {get_args(declared)}"]
    if (item := tuple_item(declared)) is not None:
        if type(value) is not tuple:
            return [f"{path}: expected a tuple, got {type(value).__name__}"]
        return [p for i, v in enumerate(value) for p in conforms(v, item, f"{path}[{i}]")]
    if is_mapping(declared):
        if type(value) is not dict or not all(type(k) is str and type(v) is str for k, v in value.items()):
            return [f"{path}: expected a mapping of str to str"]
        return []
    if is_typeddict(declared):
        fields = record_fields(declared)
        if type(value) is not dict or set(value) != set(fields):
            keys = sorted(value) if isinstance(value, dict) else type(value).__name__
            return [f"{path}: expected the fields {sorted(fields)}, got {keys}"]
        return [p for name, tp in fields.items() for p in conforms(value[name], tp, f"{path}.{name}")]
    if declared is date:
        return [] if type(value) is date and not isinstance(value, datetime) else [f"{path}: expected a date"]
    return [] if type(value) is declared else [f"{path}: expected {declared.__name__}, got {type(value).__name__}"]
