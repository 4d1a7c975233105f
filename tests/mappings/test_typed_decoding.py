"""Typed decoding (fhir_mappings.typed_decoding) against the strict R4B path: the same facts on every fixture chart
and on hostile variants of their resources, and, resource by resource, the same values the handlers read."""

from __future__ import annotations

import copy
import gzip
import importlib
import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_mappings.extract import extract_facts
from fhir_mappings.fhir_json import model_class, parse
from fhir_mappings.typed_decoding import STRUCTS, Coding, FhirParsing, decode, parse_typed, resource_reader
from testkit import charts, fuzz

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# The suite's evaluation time and one 20 months later (tests/support/golden.py), plus one before most records.
TIMES = (datetime(2026, 11, 25, 9), datetime(2028, 7, 25, 9), datetime(2019, 6, 1))


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle["entry"]]


def _read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def _prefetch_resources(request: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for value in request["prefetch"].values():
        out.extend(_entries(value) if value.get("resourceType") == "Bundle" else [value])
    return out


def fixture_charts() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every chart of tests/fixtures, examples/, testkit/ and bench/data."""
    for path in sorted((FIXTURES / "seeds").glob("*.json")):
        yield f"seed-{path.stem}", _entries(_read(path)["bundle"])
    for path in sorted((FIXTURES / "synthea").glob("*.json")):
        yield f"synthea-{path.stem}", _entries(_read(path))
    yield "example-bundle-osteoporosis", _entries(_read(ROOT / "examples" / "bundle-osteoporosis.json"))
    yield "example-patient-view-request", _prefetch_resources(_read(ROOT / "examples" / "patient-view-request.json"))
    yield "charts-osteoporosis", charts.osteoporosis_chart()
    yield "charts-denosumab-without-dose-dates", charts.denosumab_without_dose_dates_chart()
    yield "charts-uninterpretable-results", charts.uninterpretable_results_chart()
    yield "fuzz-realistic-chart", fuzz.realistic_chart()
    for path in sorted((ROOT / "bench" / "data").glob("*.json.gz")):
        yield f"bench-{path.name.removesuffix('.json.gz')}", _entries(json.loads(gzip.decompress(path.read_bytes())))


CHARTS = dict(fixture_charts())


def differences(typed: Any, strict: Any, path: str) -> list[str]:
    """Where a typed resource and its R4B model give the handlers different values (or types): every element the
    Struct holds, recursively. Datetimes must be the same instant, shown the same way."""
    if isinstance(typed, msgspec.Struct):
        if strict is None:
            return [f"{path}: typed {typed!r}, R4B None"]
        return [
            found
            for name in typed.__struct_fields__
            if name != "resourceType"
            for found in differences(getattr(typed, name), getattr(strict, name), f"{path}.{name}")
        ]
    if isinstance(typed, list):
        if not isinstance(strict, list) or len(typed) != len(strict):
            return [f"{path}: typed {typed!r}, R4B {strict!r}"]
        return [
            found
            for i, pair in enumerate(zip(typed, strict, strict=True))
            for found in differences(*pair, f"{path}[{i}]")
        ]
    same = type(typed) is type(strict) and typed == strict
    if same and isinstance(typed, Decimal | datetime | date):
        same = str(typed) == str(strict) and (
            not isinstance(typed, datetime) or typed.utcoffset() == strict.utcoffset()
        )
    return (
        [] if same else [f"{path}: typed {typed!r} ({type(typed).__name__}), R4B {strict!r} ({type(strict).__name__})"]
    )


def decoded_differences(raw: dict[str, Any]) -> list[str]:
    """[] when the typed decoding leaves `raw` to R4B, or reads it as R4B does."""
    typed = decode(raw)
    if typed is None:
        return []
    return differences(typed, parse(raw), str(raw.get("resourceType")))


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_typed_and_strict_parsing_give_the_same_facts_on_every_fixture_chart(name: str) -> None:
    chart = CHARTS[name]
    for now in TIMES:
        strict = extract_facts(copy.deepcopy(chart), now, parsing=FhirParsing.STRICT)
        typed = extract_facts(copy.deepcopy(chart), now, parsing=FhirParsing.TYPED)
        assert typed == strict


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_typed_decoding_reads_every_fixture_resource_as_r4b_does(name: str) -> None:
    readable = [r for r in CHARTS[name] if r.get("resourceType") in STRUCTS]
    assert [found for raw in readable for found in decoded_differences(raw)] == []
    assert [f"{r['resourceType']}/{r.get('id')}" for r in readable if decode(r) is None] == []  # none left to R4B


def test_the_strict_setting_reads_with_r4b_only() -> None:
    observation = next(r for r in charts.osteoporosis_chart() if r["resourceType"] == "Observation")
    assert resource_reader(FhirParsing.STRICT) is parse
    assert resource_reader(FhirParsing.TYPED) is parse_typed
    assert isinstance(parse_typed(observation), STRUCTS["Observation"])
    assert isinstance(parse(observation), model_class("Observation"))


# --- hostile variants ------------------------------------------------------------------------------------------

# Resources extraction reads, from the fixture charts (a few of each type), to be damaged.
_SEEDS = [
    raw
    for name in sorted(CHARTS)
    for raw in CHARTS[name][:40]
    if raw.get("resourceType") in STRUCTS and decode(raw) is not None
]
# Values the primitives are picky about: dates R4B keeps as strings, repairs or rejects; numbers as strings;
# codes with odd whitespace; empty and blank strings; out-of-range integers. A string member mostly gets another
# string, a number another number, so that each primitive's edges are reached often.
_HOSTILE_TEXTS = st.sampled_from(
    [
        "2024",
        "2024-07",
        "2024-07-01",
        "2024-02-30",
        "2024-13",
        "0000-01-01",
        "2024-07-01T10:00:00",
        "2024-07-01T10:00",
        "2024-07-01T10:00:00Z",
        "2024-07-01T23:59:60Z",
        "2024-07-01T10:00:00.1234567+02:00",
        "2024-07-01T10:00:00.123+14:00",
        "2024-07-01T10:00:00-00:00",
        "2024-07-01T24:00:00Z",
        " 2024-07-01",
        "2024-07-01\n",
        "1.5",
        "-0",
        "1e3",
        "01",
        "",
        " ",
        "\t",
        "\x0b",
        "a  b",
        "a b",
        "a\u00a0b",
        "a\tb",
        "final",
        "active",
        "x\n",
        "Patient/p1",
        "http://loinc.org",
    ]
)
_HOSTILE_NUMBERS = st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63, 1.0, -0.0, 1e16, 1e-7, 0.1, 3.0])
_HOSTILE_OTHERS = st.sampled_from([True, False, None, [], [None], {}, {"extension": [{"url": "x"}]}])
_EVERY_HOSTILE = [*_HOSTILE_TEXTS.elements, *_HOSTILE_NUMBERS.elements, *_HOSTILE_OTHERS.elements]


def _hostile(current: Any) -> st.SearchStrategy[Any]:
    if isinstance(current, str):
        return st.one_of(_HOSTILE_TEXTS, _HOSTILE_TEXTS, _HOSTILE_NUMBERS, _HOSTILE_OTHERS)
    if isinstance(current, int | float) and not isinstance(current, bool):
        return st.one_of(_HOSTILE_NUMBERS, _HOSTILE_NUMBERS, _HOSTILE_TEXTS, _HOSTILE_OTHERS)
    return st.one_of(_HOSTILE_OTHERS, _HOSTILE_TEXTS, _HOSTILE_NUMBERS, fuzz.json_values)


@st.composite
def damaged_resources(draw: st.DrawFn) -> dict[str, Any]:
    """A fixture resource with one to three members replaced by a hostile value, deleted, or given a sibling
    (an `_element`, a second choice value, an unknown member)."""
    raw = copy.deepcopy(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in fuzz.member_paths(raw) if p != ("resourceType",)]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = raw
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "sibling"]))
        if action == "replace":
            parent[path[-1]] = copy.deepcopy(draw(_hostile(parent[path[-1]])))
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            sibling = draw(st.sampled_from([f"_{path[-1]}", "valueBoolean", "effectivePeriod", "extension", "zz"]))
            parent[sibling] = copy.deepcopy(draw(_hostile(None)))
    return raw


def _at(tree: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def _shape(raw: dict[str, Any]) -> tuple[str, frozenset[tuple[str | int, ...]]]:
    return raw["resourceType"], frozenset(
        tuple(p for p in path if isinstance(p, str)) for path in fuzz.member_paths(raw)
    )


# One resource of each shape (type and members present) among the seeds.
_SHAPES = list({_shape(raw): raw for raw in _SEEDS}.values())


def _leaf_paths(raw: dict[str, Any]) -> list[tuple[str | int, ...]]:
    return [
        path
        for path in fuzz.member_paths(raw)
        if path != ("resourceType",) and not isinstance(_at(raw, path), dict | list)
    ]


@pytest.mark.parametrize("index", range(len(_SHAPES)))
def test_every_primitive_with_every_hostile_value_reads_as_r4b_reads_it(index: int) -> None:
    """Each member that holds a value, in a resource of each shape, replaced by each hostile value in turn."""
    seed = _SHAPES[index]
    found = []
    for path in _leaf_paths(seed):
        for value in _EVERY_HOSTILE:
            found += decoded_differences(fuzz.replaced(seed, path, copy.deepcopy(value)))
    assert found == []


# Members added beside what a resource has: the other values of choice elements, primitive extensions, modifier
# extensions, unknown members.
_SIBLINGS: dict[str, Any] = {
    "valueBoolean": True,
    "valueCodeableConcept": {"text": "x"},
    "valueQuantity": {"value": 1},
    "valueString": "x",
    "effectivePeriod": {"start": "2024"},
    "effectiveInstant": "2024-07-01T10:00:00Z",
    "effectiveDateTime": "2024",
    "deceasedBoolean": False,
    "deceasedDateTime": "2024",
    "multipleBirthBoolean": True,
    "multipleBirthInteger": 2,
    "onsetPeriod": {"start": "2024"},
    "onsetString": "child",
    "abatementPeriod": {"end": "2024"},
    "abatementDateTime": "2024",
    "medicationReference": {"reference": "Medication/m"},
    "medicationCodeableConcept": {"text": "x"},
    "performedPeriod": {"start": "2024"},
    "occurrencePeriod": {"start": "2024"},
    "asNeededBoolean": True,
    "asNeededCodeableConcept": {"text": "x"},
    "doseRange": {"low": {"value": 1}},
    "doseQuantity": {"value": 1},
    "boundsPeriod": {"start": "2024"},
    "boundsDuration": {"value": 1},
    "itemReference": {"reference": "Substance/s"},
    "_status": {"extension": [{"url": "x", "valueString": "y"}]},
    "_display": {"id": "x"},
    "modifierExtension": [{"url": "x", "valueBoolean": True}],
    "extension": [{"url": "x", "valueBoolean": True}],
    "id": "x",
    "zz": 1,
}


@pytest.mark.parametrize("index", range(len(_SHAPES)))
def test_every_object_with_every_sibling_reads_as_r4b_reads_it(index: int) -> None:
    """Each object of a resource of each shape (the resource itself included) given each extra member in turn."""
    seed = _SHAPES[index]
    objects = [(), *(path for path in fuzz.member_paths(seed) if isinstance(_at(seed, path), dict))]
    found = []
    for path in objects:
        for name, value in _SIBLINGS.items():
            damaged = copy.deepcopy(seed)
            _at(damaged, path)[name] = copy.deepcopy(value)
            found += decoded_differences(damaged)
    assert found == []


@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_resources())
def test_damaged_resources_read_as_r4b_reads_them(raw: dict[str, Any]) -> None:
    assert decoded_differences(raw) == []


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CHARTS)), st.lists(damaged_resources(), min_size=1, max_size=4))
def test_damaged_charts_give_the_same_facts(name: str, damaged: list[dict[str, Any]]) -> None:
    chart = [*CHARTS[name][:60], *damaged]
    strict = extract_facts(copy.deepcopy(chart), TIMES[0], parsing=FhirParsing.STRICT)
    typed = extract_facts(copy.deepcopy(chart), TIMES[0], parsing=FhirParsing.TYPED)
    assert typed == strict


# --- primitives, one character at a time ------------------------------------------------------------------------


def _r4b_coding_accepts(member: str, value: str) -> bool:
    from pydantic import ValidationError

    r4b_coding = importlib.import_module("fhir.resources.R4B.coding").Coding
    try:
        r4b_coding.model_validate({member: value})
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("member", ["code", "display", "system"])
def test_every_text_the_typed_coding_accepts_r4b_accepts(member: str) -> None:
    """code, string and uri, with each character of the Basic Multilingual Plane's first blocks alone, inside and at
    the end (R4B checks with Rust regex, the typed decoding with Python's: their whitespace differs)."""
    accepted = []
    for point in [*range(0x3100), 0x1680, 0x180E, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF, 0xFFFD]:
        for text in (chr(point), f"a{chr(point)}b", f"a{chr(point)}"):
            try:
                msgspec.convert({member: text}, Coding)
            except msgspec.ValidationError:
                continue
            accepted.append(text)
    assert [text for text in accepted if not _r4b_coding_accepts(member, text)] == []
    assert len(accepted) > 3000  # ordinary text takes the typed path
