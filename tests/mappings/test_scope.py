"""this_patient_only: what is another patient's record, at which depth, in which order (decision table §6, §7.19).

The screening loop answers the usual record (a subject reference "Patient/<id>") without `belongs_to`; these tests
pin that it keeps and drops exactly what `belongs_to` says, on odd shapes as well."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.scope import Excluded, ExclusionReason, belongs_to, this_patient_only

PID = "p1"


def _obs(rid: str, subject: Any = None, **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Observation", "id": rid, **extra}
    if subject is not None:
        resource["subject"] = subject
    return resource


def _bundle(*resources: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


ODD_SHAPES: list[dict[str, Any]] = [
    _obs("own", {"reference": "Patient/p1"}),
    _obs("other", {"reference": "Patient/p2"}),
    _obs("absolute", {"reference": "https://ehr.example/fhir/Patient/p1"}),
    _obs("absolute-other", {"reference": "https://ehr.example/fhir/Patient/p2"}),
    _obs("history", {"reference": "Patient/p1/_history/3"}),
    _obs("prefix-of-id", {"reference": "Patient/p11"}),
    _obs("id-as-prefix", {"reference": "Patient/p"}),
    _obs("group", {"reference": "Group/p1"}),
    _obs("no-reference", {"display": "someone"}),
    _obs("number", {"reference": 1}),
    _obs("string-subject", "Patient/p2", patient={"reference": "Patient/p2"}),
    _obs("list-subject", [{"reference": "Patient/p1"}], patient={"reference": "Patient/p2"}),
    _obs("own-subject-other-patient", {"reference": "Patient/p1"}, patient={"reference": "Patient/p2"}),
    _obs("no-subject-other-patient", patient={"reference": "Patient/p2"}),
    _obs("none"),
    {"resourceType": "Patient", "id": "p1"},
    {"resourceType": "Patient", "id": "p2"},
    {"resourceType": "Patient", "id": "p2", "subject": {"reference": "Patient/p1"}},  # a Patient is its id
    {"resourceType": "Medication", "id": "m", "subject": {"reference": "Patient/p2"}},
    {"resourceType": 7, "id": "x", "subject": {"reference": "Patient/p2"}},
    {"subject": {"reference": "Patient/p1"}},
]


@pytest.mark.parametrize("resource", ODD_SHAPES, ids=lambda r: str(r.get("id")))
def test_a_resource_is_kept_exactly_when_belongs_to_says_it_is_this_patients(resource: dict[str, Any]) -> None:
    screened = this_patient_only([resource], PID)
    assert (screened.resources == [resource]) is belongs_to(resource, PID)
    assert len(screened.resources) + len(screened.excluded) == 1


def test_kept_and_excluded_follow_the_entries_depth_first() -> None:
    own = [_obs(f"own-{i}", {"reference": "Patient/p1"}) for i in range(3)]
    chart = [
        own[0],
        _bundle(_obs("n1", {"reference": "Patient/p2"}), _bundle(own[1]), _obs("n2", {"reference": "Patient/p3"})),
        "not a resource",
        _obs("e1", {"reference": "Patient/p2"}),
        own[2],
    ]
    screened = this_patient_only(chart, PID)
    assert screened.resources == own
    assert screened.excluded == [
        Excluded("Observation", "Observation/n1", ExclusionReason.ANOTHER_PATIENT, where="nested Bundle"),
        Excluded("Observation", "Observation/n2", ExclusionReason.ANOTHER_PATIENT, where="nested Bundle"),
        Excluded("Observation", "Observation/e1", ExclusionReason.ANOTHER_PATIENT, where="entry"),
    ]


def test_foreign_contained_resources_are_removed_from_a_copy() -> None:
    theirs = {"resourceType": "Observation", "id": "c2", "subject": {"reference": "Patient/p2"}}
    mine = {"resourceType": "Medication", "id": "c1"}
    container = _obs("own", {"reference": "Patient/p1"}, contained=[mine, theirs, "odd"])
    screened = this_patient_only([container], PID)
    assert screened.resources == [{**container, "contained": [mine, "odd"]}]
    assert container["contained"] == [mine, theirs, "odd"]
    assert screened.excluded == [
        Excluded("Observation", "Observation/c2", ExclusionReason.ANOTHER_PATIENT, where="contained")
    ]


def test_bundles_nested_past_the_depth_limit_are_not_unwrapped() -> None:
    inner: dict[str, Any] = _obs("deep", {"reference": "Patient/p2"})
    for _ in range(17):
        inner = _bundle(inner)
    screened = this_patient_only([inner], PID)
    assert screened.excluded == []
    assert len(screened.resources) == 1 and screened.resources[0]["resourceType"] == "Bundle"
