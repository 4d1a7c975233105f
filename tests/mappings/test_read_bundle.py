"""read_bundle: one pass over a Bundle as sent says whether it is readable, what patient data it holds, whether a
search failed, and where its next page is."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.fhir_json import read_bundle

OBS = {"resourceType": "Observation", "id": "o1"}
ERROR = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "processing"}]}
WARNING = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "informational"}]}


def _bundle(*entries: Any, **members: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": list(entries), **members}


@pytest.mark.parametrize(
    "bundle",
    [
        {"resourceType": "Bundle", "entry": {"resource": OBS}},
        {"resourceType": "Bundle", "entry": None},
        _bundle({"resource": OBS}, link={"relation": "next", "url": "x"}),
        _bundle({"resource": OBS}, "entry"),
        _bundle({"resource": OBS}, {"fullUrl": "urn:x"}),
        _bundle({"resource": "Observation/1"}),
        _bundle({"resource": ERROR}, {"resource": None}),  # a failed search does not make the rest readable
    ],
)
def test_an_unreadable_bundle_reads_as_none(bundle: dict[str, Any]) -> None:
    assert read_bundle(bundle) is None


def test_the_patient_data_leaves_out_outcomes_and_outcome_entries() -> None:
    note = {"resourceType": "Observation", "id": "note"}
    page = read_bundle(
        _bundle(
            {"resource": OBS, "search": {"mode": "match"}},
            {"resource": WARNING, "search": {"mode": "match"}},
            {"resource": note, "search": {"mode": "outcome"}},
            {"resource": OBS, "search": "outcome"},  # a search of another type reads as absent
            {"resource": OBS, "search": {"mode": 1}},
        )
    )
    assert page is not None
    assert page.resources == [OBS, OBS, OBS]
    assert (page.has_data, page.failed, page.next) == (True, False, None)


@pytest.mark.parametrize(
    ("entries", "has_data", "failed"),
    [
        ([], False, False),
        ([{"resource": WARNING}], False, False),
        ([{"resource": ERROR}], False, True),
        ([{"resource": OBS}, {"resource": ERROR}], True, True),
        ([{"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": 3}]}}], False, True),
        ([{"resource": {"resourceType": "Observation"}, "search": {"mode": "outcome"}}], True, False),
    ],
)
def test_data_and_failed_searches_are_told_apart(entries: list[Any], has_data: bool, failed: bool) -> None:
    page = read_bundle(_bundle(*entries))
    assert page is not None
    assert (page.has_data, page.failed) == (has_data, failed)


def test_a_bundle_without_entries_is_readable_and_empty_and_its_next_link_is_read() -> None:
    page = read_bundle({"resourceType": "Bundle", "link": [{"relation": "self", "url": "a"}, {"relation": "next"}]})
    assert page is not None and (page.resources, page.next) == ([], None)
    page = read_bundle(_bundle(link=[{"relation": "next", "url": "Observation?page=2"}]))
    assert page is not None and page.next == "Observation?page=2"
