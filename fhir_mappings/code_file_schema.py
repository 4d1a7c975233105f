"""The JSON Schema of the code-list files (code-file.schema.yaml) and its problems in words an integration engineer
can act on: `<file>:<line>: entry 3: field 'route' must be one of [...] (got 'IV')`, one line per problem."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError, validators

from fhir_mappings.code_file_reader import CodeFile, InvalidCodeFile, Location

SCHEMA_FILE = Path(__file__).parent / "code-file.schema.yaml"
_PER_KEY_KEYWORDS = frozenset({"required", "additionalProperties", "unevaluatedProperties"})  # one error per key
_MAX_PROBLEMS = 20  # listed per file; a file that is wrong throughout needs its first problems, not all of them


def _finite_number(_checker: Any, value: Any) -> bool:
    # YAML reads .inf and .nan as floats; neither is a strength or a limit.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole_number(_checker: Any, value: Any) -> bool:
    # JSON Schema counts 1.0 as an integer; a code written 1.0 would be read as "1.0", so only ints are.
    return isinstance(value, int) and not isinstance(value, bool)


CODE_FILE_TYPES = Draft202012Validator.TYPE_CHECKER.redefine_many({"number": _finite_number, "integer": _whole_number})
_FastLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Direct tests of the leaf schemas (text, flag, an enum, ...) that `properties` names, by id() of the subschema
# (filled when the schema is read; the cached schema keeps those objects, so their ids stay theirs). jsonschema
# builds a validator object for every value it descends into; testing a value directly first and descending only
# when the test fails, with the same verdicts and messages, makes the start-up check of the 300 built-in entries
# several times faster (tests/mappings/test_code_file_schema.py compares the two).
_QUICK_TESTS: dict[int, Callable[[Any], bool]] = {}
# The checker's own definitions of the types the leaf schemas use (string and boolean as in jsonschema).
_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "integer": lambda value: _whole_number(None, value),
    "number": lambda value: _finite_number(None, value),
}
_QUICK_KEYWORDS = frozenset({"type", "enum", "pattern", "exclusiveMinimum", "description", "$comment"})


@functools.cache
def code_file_schema() -> dict[str, Any]:
    """The schema, read once (tests/mappings/test_code_file_schema.py checks it against the 2020-12 metaschema)."""
    schema: dict[str, Any] = yaml.load(SCHEMA_FILE.read_text(encoding="utf-8"), Loader=_FastLoader)
    _QUICK_TESTS.clear()  # a re-read schema is new objects
    for properties in _all_properties(schema):
        for subschema in properties.values():
            test = quick_test(subschema, schema["$defs"])
            if test is not None:
                _QUICK_TESTS[id(subschema)] = test
    return schema


def _all_properties(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        if isinstance(node.get("properties"), Mapping):
            yield node["properties"]
        for value in node.values():
            yield from _all_properties(value)
    elif isinstance(node, list):
        for value in node:
            yield from _all_properties(value)


def quick_test(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """A function true exactly when a value is valid against `schema`, for a leaf schema (type, string enum,
    pattern, exclusiveMinimum), an anyOf of leaves, or a lone $ref to one; None for anything else."""
    if set(schema) == {"$ref"}:
        ref = schema["$ref"]
        return quick_test(defs[ref.removeprefix("#/$defs/")], defs) if ref.startswith("#/$defs/") else None
    if "anyOf" in schema and set(schema) <= {"anyOf", "description", "$comment"}:
        branches = [quick_test(branch, defs) for branch in schema["anyOf"]]
        tests = [t for t in branches if t is not None]
        return (lambda value: any(t(value) for t in tests)) if len(tests) == len(branches) else None
    if not set(schema) <= _QUICK_KEYWORDS:
        return None
    declared = schema.get("type")
    names = (declared,) if isinstance(declared, str) else tuple(declared or ())
    if not set(names) <= set(_TYPE_TESTS):
        return None
    types = tuple(_TYPE_TESTS[name] for name in names)
    enum = schema.get("enum")
    if enum is not None and not all(isinstance(v, str) for v in enum):
        return None  # jsonschema's enum equality for other values is not plain ==
    allowed = frozenset(enum) if enum is not None else None
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
    minimum = schema.get("exclusiveMinimum")

    def test(value: Any) -> bool:
        if types and not any(is_type(value) for is_type in types):
            return False
        if allowed is not None and not (isinstance(value, str) and value in allowed):
            return False
        if pattern is not None and isinstance(value, str) and not pattern.search(value):
            return False
        return not (minimum is not None and _finite_number(None, value) and value <= minimum)

    return test


def _properties(validator: Any, properties: Mapping[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
    """jsonschema's `properties` keyword, trying the quick test of a property before descending into it."""
    if not validator.is_type(instance, "object"):
        return
    for name, subschema in properties.items():
        if name in instance:
            test = _QUICK_TESTS.get(id(subschema))
            if test is None or not test(instance[name]):
                yield from validator.descend(instance[name], subschema, path=name, schema_path=name)


def _ref(validator: Any, ref: str, instance: Any, schema: Any) -> Iterator[Any]:
    """jsonschema's `$ref` keyword, with the schema's own "#/$defs/<name>" looked up in the dict: the general
    resolution (`referencing`) was half of the remaining time. Same subschema, so the same verdicts."""
    name = ref.removeprefix("#/$defs/")
    defs = code_file_schema()["$defs"]
    if name != ref and name in defs:
        yield from validator.descend(instance, defs[name])
    else:
        yield from _STANDARD_REF(validator, ref, instance, schema)


_STANDARD_REF = Draft202012Validator.VALIDATORS["$ref"]
_CodeFileValidator: Any = validators.extend(
    Draft202012Validator, validators={"properties": _properties, "$ref": _ref}, type_checker=CODE_FILE_TYPES
)


@functools.cache
def code_file_validator(definition: str) -> Any:
    defs = code_file_schema()["$defs"]
    if definition not in defs:
        raise KeyError(f"no definition {definition!r} in {SCHEMA_FILE.name}")
    return _CodeFileValidator({"$ref": f"#/$defs/{definition}", "$defs": defs})


def check_code_file(file: CodeFile, definition: str) -> None:
    """Validate `file` against `$defs/<definition>` of the schema; raises InvalidCodeFile listing the problems in
    file order."""
    validator = code_file_validator(definition)
    problems: dict[tuple[int | None, str], None] = {}  # ordered and without repeats
    reported: set[tuple[tuple[str | int, ...], str]] = set()
    for error in validator.iter_errors(file.data):
        at = (tuple(error.absolute_path), str(error.validator))
        if error.validator not in _PER_KEY_KEYWORDS:
            if at in reported:  # e.g. a non-mapping entry fails `type` in two combined schemas: say it once
                continue
            reported.add(at)
        for problem in _describe(file, error, validator):
            problems.setdefault(problem)
    if not problems:
        return
    ordered = sorted(problems, key=lambda p: p[0] or 0)
    shown = ordered[:_MAX_PROBLEMS]
    if len(ordered) > len(shown):
        shown.append((None, f"... and {len(ordered) - len(shown)} more problems"))
    (line, message), *more = shown
    raise InvalidCodeFile(file.path, line, message, more)


def _describe(file: CodeFile, error: ValidationError, validator: Any) -> Iterator[tuple[int | None, str]]:
    location = list(error.absolute_path)
    subject, field = _subject(location)
    prefix = f"{subject}: " if subject else ""
    keyword = error.validator
    if keyword == "required":
        missing = ", ".join(repr(k) for k in error.validator_value if k not in error.instance)
        noun = "top-level key" if not subject and not field else "field"
        what = f"field {_field_name(field)} is missing key" if field else f"missing required {noun}"
        yield file.line(location), f"{prefix}{what} {missing}"
    elif keyword in ("additionalProperties", "unevaluatedProperties"):
        allowed = _declared_keys(error.schema, error.instance, validator)
        noun = "top-level key" if not subject and not field else "field"
        inside = f" in {_field_name(field)}" if field else ""
        for key in (k for k in error.instance if k not in allowed):
            message = f"{prefix}unknown {noun} {key!r}{inside} (allowed: {sorted(allowed)})"
            yield file.key_line(location, key), message
    elif "propertyNames" in error.absolute_schema_path:
        where = f"field {_field_name(field)}" if field else "the file"
        yield (
            file.key_line(location, error.instance),
            f"{prefix}{where}: {error.instance!r} cannot be a key: it must be {_expected(error)}",
        )
    elif keyword == "enum" and field and field[-1] == "domain":
        yield file.key_line(location[:-1], "domain"), f"{prefix}unknown domain {error.instance!r} ({_expected(error)})"
    elif field:
        line = file.key_line(location[:-1], location[-1])
        yield line, f"{prefix}field {_field_name(field)} must be {_expected(error)} (got {_shown(error.instance)})"
    else:
        yield file.line(location), f"{prefix}expected {_expected(error)} (got {_shown(error.instance)})"


def _subject(location: Location) -> tuple[str, Location]:
    """What the problem is in ("entry 3", "concept 'egfr'", "site 'wards'", or "" for the file's top level) and
    the path of the field within it."""
    head = location[:2]
    if location and isinstance(location[0], int):  # a site's file: a list of entries
        return f"entry {location[0] + 1}", location[1:]
    if len(head) == 2 and head[0] == "codes" and isinstance(head[1], int):
        return f"entry {head[1] + 1}", location[2:]
    if len(head) == 2 and head[0] == "concepts":
        return f"concept {head[1]!r}", location[2:]
    if len(head) == 2 and head[0] == "sites":
        return f"site {head[1]!r}", location[2:]
    return "", location


def _field_name(field: Location) -> str:
    name, *rest = field
    return f"{name!r}" + "".join(f" item {step + 1}" if isinstance(step, int) else f".{step}" for step in rest)


def _expected(error: ValidationError) -> str:
    if error.validator == "enum":
        return f"one of {list(error.validator_value)}"
    if error.validator == "const":
        return repr(error.validator_value)
    description = error.schema.get("description") if isinstance(error.schema, Mapping) else None
    return str(description) if description else error.message


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _declared_keys(schema: Mapping[str, Any], instance: Any, validator: Any) -> set[str]:
    """The keys `schema` declares for `instance`: its own `properties` and those of the `$ref`, `allOf` and
    applicable `if`/`then` parts it combines (the keys `unevaluatedProperties: false` lets through)."""
    keys = set(schema.get("properties", ()))
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        keys |= _declared_keys(code_file_schema()["$defs"][ref.removeprefix("#/$defs/")], instance, validator)
    for part in schema.get("allOf", ()):
        keys |= _declared_keys(part, instance, validator)
    if "if" in schema and "then" in schema and validator.evolve(schema=schema["if"]).is_valid(instance):
        keys |= _declared_keys(schema["then"], instance, validator)
    return keys
