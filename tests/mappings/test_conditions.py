"""Conditions, fractures (C-05), family history, menopausal status and planned spinal instrumentation."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from decision_core.facts import FractureSite, MenopauseStatus, PatientFacts
from fhir_mappings.extract import extract_facts
from fhir_mappings.terminology import load_terminology

from .builders import CPT, ICD10CM, NOW, SNOMED, coding, condition, obs, patient


def _facts(*resources: dict[str, Any]) -> PatientFacts:
    return extract_facts([patient(), *resources], NOW)


# --- conditions ---


@pytest.mark.parametrize(
    ("code", "concepts"),
    [
        (coding(SNOMED, "64859006", "Osteoporosis (disorder)"), ["osteoporosis"]),
        (coding(ICD10CM, "M81.0"), ["osteoporosis"]),
        (coding(SNOMED, "312894000"), ["osteopenia"]),
        (coding(ICD10CM, "M85.89"), ["osteopenia"]),
        (coding(SNOMED, "69896004"), ["rheumatoid-arthritis"]),
        (coding(ICD10CM, "M05.79"), ["rheumatoid-arthritis"]),
        (coding(ICD10CM, "E21.0"), ["hyperparathyroidism"]),
        (coding(ICD10CM, "E05.90"), ["hyperthyroidism"]),
        (coding(ICD10CM, "K90.0"), ["malabsorption"]),
        (coding(ICD10CM, "K50.90"), ["inflammatory-bowel-disease"]),
        (coding(ICD10CM, "N18.4"), ["ckd-stage-4"]),
        (coding(SNOMED, "433146000"), ["ckd-stage-5"]),
        (coding(ICD10CM, "N18.6"), ["esrd"]),
        (coding(ICD10CM, "E28.310"), ["premature-menopause"]),
        (coding(ICD10CM, "E10.9"), ["type-1-diabetes"]),
        (coding(SNOMED, "161898004"), ["falls"]),
        (coding(ICD10CM, "W19.XXXA"), ["falls"]),
        (coding(SNOMED, "445501000124107"), ["parent-hip-fracture"]),
        (coding(SNOMED, "38341003", "Hypertension"), []),
    ],
)
def test_condition_concepts(code: dict[str, Any], concepts: list[str]) -> None:
    facts = _facts(condition("c", code))
    assert [c.concept for c in facts.conditions] == concepts
    assert all(c.onset == date(2024, 3, 1) and c.active and c.record == "Condition/c" for c in facts.conditions)


def test_snomed_and_icd_codings_of_one_condition_give_one_fact() -> None:
    facts = _facts(condition("c", coding(SNOMED, "64859006"), coding(ICD10CM, "M81.0")))
    assert [c.concept for c in facts.conditions] == ["osteoporosis"]


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_refuted_and_entered_in_error_conditions_are_ignored(verification: str) -> None:
    facts = _facts(condition("c", coding(ICD10CM, "M80.08XA"), verification=verification))
    assert facts.conditions == () and facts.fractures == ()


@pytest.mark.parametrize("clinical", ["inactive", "resolved", "remission"])
def test_inactive_conditions_are_kept_inactive_and_fractures_keep_their_onset(clinical: str) -> None:
    facts = _facts(condition("c", coding(SNOMED, "431031001"), clinical=clinical, onset="2019-05-02"))
    assert [(c.concept, c.active) for c in facts.conditions] == [("osteoporosis", False)]
    assert [(f.site, f.onset) for f in facts.fractures] == [(FractureSite.HIP, date(2019, 5, 2))]


# --- fractures ---


@pytest.mark.parametrize(
    ("codings", "site", "osteoporotic"),
    [
        ([coding(SNOMED, "359817006", "Closed fracture of hip")], FractureSite.HIP, False),
        ([coding(ICD10CM, "S72.001A")], FractureSite.HIP, False),
        ([coding(SNOMED, "431031001")], FractureSite.HIP, True),
        ([coding(ICD10CM, "M80.051A")], FractureSite.HIP, True),
        ([coding(SNOMED, "15724005")], FractureSite.VERTEBRAL, False),
        ([coding(ICD10CM, "S32.000A")], FractureSite.VERTEBRAL, False),
        ([coding(ICD10CM, "M48.50XA")], FractureSite.VERTEBRAL, False),
        ([coding(ICD10CM, "M80.08XA")], FractureSite.VERTEBRAL, True),
        ([coding(ICD10CM, "M8088XA")], FractureSite.VERTEBRAL, True),
        ([coding(SNOMED, "240198002")], FractureSite.VERTEBRAL, True),
        ([coding(SNOMED, "263102004")], FractureSite.DISTAL_FOREARM, False),
        ([coding(SNOMED, "65966004")], FractureSite.DISTAL_FOREARM, False),
        ([coding(ICD10CM, "S52.501A")], FractureSite.DISTAL_FOREARM, False),
        ([coding(SNOMED, "704336007")], FractureSite.DISTAL_FOREARM, True),
        ([coding(ICD10CM, "S42.201A")], FractureSite.PROXIMAL_HUMERUS, False),
        ([coding(ICD10CM, "M80.021A")], FractureSite.PROXIMAL_HUMERUS, True),
        ([coding(SNOMED, "33737001")], FractureSite.OTHER, False),
        ([coding(SNOMED, "443165006")], FractureSite.OTHER, True),
        ([coding(ICD10CM, "M80.9")], FractureSite.OTHER, True),
        # One resource, two codings: the specific site and the osteoporotic flag both survive.
        ([coding(SNOMED, "443165006"), coding(ICD10CM, "S72.001A")], FractureSite.HIP, True),
    ],
)
def test_fracture_sites(codings: list[dict[str, Any]], site: FractureSite, osteoporotic: bool) -> None:
    facts = _facts(condition("f", *codings, onset="2023-02-10"))
    (f,) = facts.fractures
    assert (f.site, f.coded_osteoporotic, f.onset, f.record, f.low_trauma) == (
        site,
        osteoporotic,
        date(2023, 2, 10),
        "Condition/f",
        None,
    )


def test_m80_gives_both_osteoporosis_and_fracture() -> None:
    facts = _facts(
        condition(
            "f",
            coding(
                ICD10CM,
                "M80.08XA",
                "Age-related osteoporosis with current pathological fracture, vertebra(e), initial encounter",
            ),
        )
    )
    assert [c.concept for c in facts.conditions] == ["osteoporosis"]
    assert [(f.site, f.coded_osteoporotic) for f in facts.fractures] == [(FractureSite.VERTEBRAL, True)]
    assert facts.fractures[0].display.startswith("Age-related osteoporosis")


def test_fracture_onset_sources() -> None:
    period = condition("a", coding(SNOMED, "5913000"), onset=None, onsetPeriod={"start": "2022-08-01"})
    recorded = condition("b", coding(SNOMED, "5913000"), onset=None, recordedDate="2022-09-01")
    partial = condition("c", coding(SNOMED, "5913000"), onset="2015")
    history = condition("d", coding(ICD10CM, "Z87.310"), onset=None, recordedDate="2025-06-01")
    facts = _facts(period, recorded, partial, history)
    assert {f.record: f.onset for f in facts.fractures} == {
        "Condition/a": date(2022, 8, 1),
        "Condition/b": date(2022, 9, 1),
        "Condition/c": date(2015, 1, 1),
        "Condition/d": None,
    }  # a "history of" code dated only by recordedDate has no known onset
    assert [f.record for f in facts.fractures][-1] == "Condition/d"  # newest first, unknown last


def test_local_low_trauma_flag_and_hip_repair_procedure(tmp_path: Path) -> None:
    extra = tmp_path / "x.yaml"
    extra.write_text(
        "- {domain: conditions, system: 'urn:local', code: LTF-HIP, concept: fracture-hip, low_trauma: true,"
        " display: Low-trauma hip fracture, source: local}\n"
        "- {domain: conditions, system: 'urn:local', code: HIP-REPAIR, concept: fracture-hip,"
        " display: Hip fracture repair, source: local}\n",
        encoding="utf-8",
    )
    t = load_terminology(extra)
    procedure = {
        "resourceType": "Procedure",
        "id": "p",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "urn:local", "code": "HIP-REPAIR"}]},
        "performedDateTime": "2021-04-03",
    }
    facts = extract_facts([condition("c", coding("urn:local", "LTF-HIP")), procedure], NOW, terminology=t)
    assert {(f.record, f.low_trauma, f.onset) for f in facts.fractures} == {
        ("Condition/c", True, date(2024, 3, 1)),
        ("Procedure/p", None, date(2021, 4, 3)),
    }


# --- family history ---


def _fmh(relationship: str, *codes: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    return {
        "resourceType": "FamilyMemberHistory",
        "id": "h",
        "status": status,
        "patient": {"reference": "Patient/p1"},
        "relationship": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": relationship}]
        },
        "condition": [{"code": {"coding": [c]}} for c in codes],
    }


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (_fmh("MTH", coding(SNOMED, "359817006", "Closed fracture of hip")), True),
        (_fmh("FTH", coding(ICD10CM, "S72.001A")), True),
        (_fmh("SIS", coding(SNOMED, "359817006")), False),  # a sister's hip fracture is not a FRAX input
        (_fmh("MTH", coding(SNOMED, "15724005")), False),
        (_fmh("FAMMEMB", coding(SNOMED, "445121000124105")), True),  # the code itself says "paternal"
        (_fmh("MTH", coding(SNOMED, "359817006"), status="entered-in-error"), False),
        (condition("c", coding(SNOMED, "416072008")), True),
    ],
)
def test_parent_hip_fracture(resource: dict[str, Any], expected: bool) -> None:
    facts = _facts(resource)
    assert ([c.concept for c in facts.conditions] == ["parent-hip-fracture"]) is expected
    assert facts.fractures == ()  # a relative's fracture is never the patient's


# --- menopause ---


def test_menopause_from_verified_codes() -> None:
    assert _facts().menopause is MenopauseStatus.UNKNOWN
    assert _facts(condition("c", coding(ICD10CM, "E28.319"))).menopause is MenopauseStatus.POSTMENOPAUSAL
    assert _facts(condition("c", coding(SNOMED, "102447009"))).menopause is MenopauseStatus.POSTMENOPAUSAL
    assert _facts(condition("c", coding(SNOMED, "735614005"))).menopause is MenopauseStatus.POSTMENOPAUSAL
    assert _facts(condition("c", coding(SNOMED, "64859006"))).menopause is MenopauseStatus.UNKNOWN


def test_menopause_from_local_observation_codes(tmp_path: Path) -> None:
    extra = tmp_path / "x.yaml"
    extra.write_text(
        "".join(
            f"- {{domain: conditions, system: 'urn:local', code: {code}, concept: {concept}, display: x, source: l}}\n"
            for code, concept in [
                ("premeno", "premenopausal"),
                ("perimeno", "perimenopausal"),
                ("postmeno", "postmenopausal"),
            ]
        ),
        encoding="utf-8",
    )
    t = load_terminology(extra)
    as_code = obs("m1", "premeno", system="urn:local", when="2020-01-01")
    as_answer = obs(
        "m2",
        "menopause-status",
        system="urn:local",
        when="2024-01-01",
        valueCodeableConcept={"coding": [{"system": "urn:local", "code": "perimeno"}]},
    )
    facts = extract_facts([as_code, as_answer], NOW, terminology=t)
    assert facts.menopause is MenopauseStatus.PERIMENOPAUSAL  # the latest documented status
    post = obs("m3", "postmeno", system="urn:local", when="2019-01-01")
    assert extract_facts([as_code, as_answer, post], NOW, terminology=t).menopause is MenopauseStatus.POSTMENOPAUSAL


# --- planned spinal instrumentation (TX-04) ---


def _sr(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": "s",
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [coding(CPT, "22612")]},
        **extra,
    }


@pytest.mark.parametrize(
    ("resource", "planned"),
    [
        (_sr("draft", occurrenceDateTime="2025-09-01"), date(2025, 9, 1)),
        (_sr("active", occurrencePeriod={"start": "2025-10-01"}), date(2025, 10, 1)),
        (_sr("active"), None),
        (
            {
                "resourceType": "Procedure",
                "id": "s",
                "status": "preparation",
                "subject": {"reference": "Patient/p1"},
                "code": {"coding": [coding(CPT, "22842")]},
                "performedDateTime": "2025-08-01",
            },
            date(2025, 8, 1),
        ),
        (
            {
                "resourceType": "Appointment",
                "id": "s",
                "status": "booked",
                "start": "2025-11-05T08:00:00Z",
                "end": "2025-11-05T12:00:00Z",
                "serviceType": [{"coding": [coding(CPT, "22633")]}],
                "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"}],
            },
            date(2025, 11, 5),
        ),
    ],
)
def test_planned_spinal_instrumentation(resource: dict[str, Any], planned: date | None) -> None:
    facts = _facts(resource)
    (p,) = facts.planned_procedures
    assert (p.kind, p.planned_date, p.record) == (
        "spinal-instrumentation",
        planned,
        f"{resource['resourceType']}/s",
    )


@pytest.mark.parametrize(
    "resource",
    [
        _sr("completed"),
        _sr("revoked"),
        {
            "resourceType": "Procedure",
            "id": "s",
            "status": "completed",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [coding(CPT, "22842")]},
        },
        {
            "resourceType": "ServiceRequest",
            "id": "s",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [coding(CPT, "77080")]},
        },
    ],
)
def test_not_planned_spinal_instrumentation(resource: dict[str, Any]) -> None:
    assert _facts(resource).planned_procedures == ()
