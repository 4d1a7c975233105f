"""The intake walk's reading of lab/vital/FRAX results (which Observations could be outdated, and their day) and the
outdated-result scan: the per-chart memo of codings and the plain loops give what the plain definitions give, on
odd shapes too and whatever was looked up before in the same chart."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fhir_mappings import extract
from fhir_mappings.fhir_json import raw_codings, raw_list
from fhir_mappings.terminology import Terminology, default_terminology, load_terminology
from fhir_mappings.typed_decoding import FhirParsing, resource_reader

from .builders import LOINC, SNOMED, coding

TODAY = date(2025, 6, 30)
VITAMIN_D, EGFR, HEIGHT, T_SCORE, FRAX_MOF = "62292-8", "98979-8", "8302-2", "38267-1", "90265-0"


def _state(term: Terminology | None = None) -> Any:
    term = term or default_terminology()
    return extract._State(term=term, today=TODAY, read=resource_reader(FhirParsing.TYPED))


def _plain_dated_result(raw: dict[str, Any], term: Terminology) -> tuple[list[tuple[str, str]], str] | None:
    """The definition: every concept of every coding of the code is a lab, vital or FRAX one; the first effective
    time that is a string beginning with a date."""
    if raw_list(raw.get("component")):
        return None
    concepts = [(e.domain, e.concept.id) for sy, co, _ in raw_codings(raw.get("code")) for e in term.lookup(sy, co)]
    if not concepts or any(domain not in extract._KEEP_MONTHS for domain, _ in concepts):
        return None
    period = raw.get("effectivePeriod")
    for value in (
        raw.get("effectiveDateTime"),
        raw.get("effectiveInstant"),
        period.get("start") if type(period) is dict else None,
        raw.get("issued"),
    ):
        if isinstance(value, str):
            found = extract._ISO_PREFIX.match(value.strip())
            if found:
                return concepts, found.group(0)
    return None


def _o(*codings: Any, **members: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "code": {"coding": list(codings)}, **members}


LAB, DXA = coding(LOINC, VITAMIN_D), coding(LOINC, T_SCORE)
ODD: list[dict[str, Any]] = [
    _o(LAB, effectiveDateTime="2021-03-01T10:00:00Z"),
    _o(LAB, effectiveDateTime="  2021-03-01 "),
    _o(LAB, effectiveDateTime="2021"),
    _o(LAB, effectiveDateTime="2021-3-1"),
    _o(LAB, effectiveDateTime="not a date", effectiveInstant="2020-02-02T00:00:00Z"),
    _o(LAB, effectiveDateTime=20210301, issued="2019-09-09T00:00:00Z"),
    _o(LAB, effectivePeriod="2021-03-01", issued="2018-08-08"),  # a Period that is not an object is absent
    _o(LAB, effectivePeriod={"start": "2017-07-07"}, issued="2018-08-08"),
    _o(LAB, effectivePeriod={"end": "2017-07-07"}),
    _o(LAB),
    _o(LAB, DXA, effectiveDateTime="2021-03-01"),  # a DXA result's history matters: always kept
    _o(DXA, LAB, effectiveDateTime="2021-03-01"),
    _o(LAB, coding(LOINC, EGFR), coding(LOINC, HEIGHT), effectiveDateTime="2021-03-01"),
    _o(LAB, LAB, effectiveDateTime="2021-03-01"),
    _o(coding(LOINC, FRAX_MOF), effectiveDateTime="2021-03-01"),
    _o(coding(SNOMED, "64859006"), effectiveDateTime="2021-03-01"),  # a condition code on an Observation
    _o(coding("urn:unknown", VITAMIN_D), effectiveDateTime="2021-03-01"),
    _o({"code": VITAMIN_D}, effectiveDateTime="2021-03-01"),
    _o({"system": LOINC, "code": 62292}, effectiveDateTime="2021-03-01"),
    _o("62292-8", LAB, [LAB], effectiveDateTime="2021-03-01"),
    {"resourceType": "Observation", "code": {"coding": LAB}, "effectiveDateTime": "2021-03-01"},
    {"resourceType": "Observation", "code": "62292-8", "effectiveDateTime": "2021-03-01"},
    _o(LAB, effectiveDateTime="2021-03-01", component=[]),
    _o(LAB, effectiveDateTime="2021-03-01", component=[{"code": {"coding": [LAB]}}]),
    _o(LAB, effectiveDateTime="2021-03-01", component={}),
    _o(LAB, effectiveDateTime="2021-03-01", component=None),
    _o(LAB, effectiveDateTime="2021-03-01", component="panel"),
    _o(LAB, effectiveDateTime="2021-03-01", component=0),
    _o(LAB, effectiveDateTime="2021-03-01", component=False),
    _o({"system": LOINC, "code": True}, effectiveDateTime="2021-03-01"),
    _o({"system": [LOINC], "code": VITAMIN_D}, LAB, effectiveDateTime="2021-03-01"),
    _o({"system": LOINC, "code": [VITAMIN_D]}, effectiveDateTime="2021-03-01"),
    {"resourceType": "Observation", "code": [LAB], "effectiveDateTime": "2021-03-01"},
    {"resourceType": "Observation", "code": {"coding": None}, "effectiveDateTime": "2021-03-01"},
]


@pytest.mark.parametrize("raw", ODD, ids=[str(i) for i in range(len(ODD))])
def test_a_result_reads_as_the_definition_says_whatever_the_chart_looked_up_before(raw: dict[str, Any]) -> None:
    expected = _plain_dated_result(raw, default_terminology())
    assert extract._dated_result(raw, _state()) == expected
    warmed = _state()
    for other in ODD:
        extract._dated_result(other, warmed)
    assert extract._dated_result(raw, warmed) == expected


def _plain_outdated(dated: dict[int, tuple[list[tuple[str, str]], str]]) -> set[int]:
    cutoffs = {d: extract._months_before(TODAY, m).isoformat() for d, m in extract._KEEP_MONTHS.items()}
    newest: dict[tuple[str, str], str] = {}
    for concepts, day in dated.values():
        for key in concepts:
            newest[key] = max(day, newest.get(key, ""))
    return {p for p, (concepts, day) in dated.items() if all(day < cutoffs[k[0]] and day < newest[k] for k in concepts)}


def test_the_outdated_scan_drops_exactly_the_old_results_that_are_not_the_newest_of_every_concept() -> None:
    vitd, egfr, frax = ("labs", "vitamin-d"), ("labs", "egfr"), ("frax", "mof")
    days = ["2020-01", "2023-05-31", "2024-05-01", "2024-06-01", "2025-06-01", "2019"]
    kinds = [[vitd], [egfr], [frax], [vitd, egfr], [egfr, frax], [vitd, vitd]]
    dated = {p: (kind, day) for p, (kind, day) in enumerate(itertools.product(kinds, days))}
    outdated = extract._outdated_observations(dated, _state())
    assert outdated == _plain_outdated(dated)
    assert 0 < len(outdated) < len(dated)


def test_a_local_code_naming_a_lab_and_a_dxa_concept_is_always_kept(tmp_path: Path) -> None:
    """One coding mapped to concepts of two domains (a site's extra codes may do it): not a result that can be
    outdated, as with two codings, one of each."""
    codes = tmp_path / "extra-codes.yaml"
    codes.write_text(
        "".join(
            f"- {{domain: {domain}, system: 'urn:x', code: a, concept: {concept}, display: x, source: s}}\n"
            for domain, concept in (("labs", "egfr"), ("dxa", "dxa-t-femoral-neck-left"))
        ),
        encoding="utf-8",
    )
    term = load_terminology(codes)
    raw = _o(coding("urn:x", "a"), effectiveDateTime="2021-03-01")
    assert {e.domain for e in term.lookup("urn:x", "a")} == {"labs", "dxa"}
    assert _plain_dated_result(raw, term) is None
    assert extract._dated_result(raw, _state(term)) is None
