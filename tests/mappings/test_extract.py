"""extract_facts as a whole: patient, lifestyle, FRAX, robustness against bad data."""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decision_core.facts import PatientFacts, Sex, SmokingStatus
from fhir_mappings.extract import extract_facts
from fhir_mappings.fhir_json import parse

from .builders import LOINC, NOW, RXNORM, SNOMED, coding, condition, med_request, obs, patient, rx


def _facts(*resources: Any) -> PatientFacts:
    return extract_facts(list(resources), NOW)


# --- patient ---


@pytest.mark.parametrize(
    ("gender", "sex"),
    [("female", Sex.FEMALE), ("male", Sex.MALE), ("other", Sex.OTHER), ("unknown", Sex.UNKNOWN)],
)
def test_patient_sex_and_birth_date(gender: str, sex: Sex) -> None:
    facts = _facts(patient(gender=gender, birth="1955-07-01"))
    assert (facts.sex, facts.birth_date) == (sex, date(1955, 7, 1))
    assert facts.age_on(NOW.date()) == 69


def test_partial_birth_date_is_reported_not_guessed() -> None:
    facts = _facts(patient(birth="1955"))
    assert facts.birth_date is None
    assert "incomplete" in facts.data_issues[0].reason


def test_no_patient_resource() -> None:
    facts = _facts(obs("a", "38267-1", -2.0))
    assert (facts.sex, facts.birth_date, facts.unreadable_records) == (Sex.UNKNOWN, None, 0)


# --- lifestyle ---


def test_lifestyle_latest_values_in_canonical_units() -> None:
    smoking = obs(
        "s",
        "72166-2",
        when="2024-05-01",
        valueCodeableConcept={"coding": [coding(SNOMED, "449868002")], "text": "Every day"},
    )
    facts = _facts(
        obs("w1", "29463-7", 60, unit="kg", ucum="kg", when="2023-01-01"),
        obs("w2", "29463-7", 150, unit="lb", ucum="[lb_av]", when="2025-01-01"),
        obs("h", "8302-2", 64, unit="in", ucum="[in_i]"),
        obs("b", "39156-5", 25.7, unit="kg/m2", ucum="kg/m2"),
        obs("al", "74013-4", 3, ucum="{drinks}/d"),
        smoking,
    )
    ls = facts.lifestyle
    assert ls.weight_kg is not None and (ls.weight_kg.value, ls.weight_kg.record) == (
        Decimal("68.0388555"),
        "Observation/w2",
    )
    assert ls.height_cm is not None and ls.height_cm.value == Decimal("162.56")
    assert ls.bmi is not None and ls.bmi.value == Decimal("25.7")
    assert ls.alcohol_units_per_day is not None and ls.alcohol_units_per_day.value == Decimal("3")
    assert ls.smoking is SmokingStatus.CURRENT


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("8517006", SmokingStatus.FORMER),
        ("266919005", SmokingStatus.NEVER),
        ("266927001", SmokingStatus.UNKNOWN),
        ("999", SmokingStatus.UNKNOWN),
    ],
)
def test_smoking_answers(code: str, status: SmokingStatus) -> None:
    o = obs("s", "72166-2", valueCodeableConcept={"coding": [coding(SNOMED, code)]})
    assert _facts(o).lifestyle.smoking is status


def test_weight_without_unit_is_reported() -> None:
    facts = _facts(obs("w", "29463-7", 70))
    assert facts.lifestyle.weight_kg is None and facts.data_issues[0].reason == "unit missing"


# --- FRAX ---


def test_frax_mof_and_hip_of_one_day_combine() -> None:
    mof = obs("m", "90265-0", 21.3, unit="%", ucum="%", when="2025-02-01", method={"text": "FRAX with BMD"})
    hip = obs("h", "90266-8", 3.3, unit="%", ucum="%", when="2025-02-01")
    old = obs("o", "90265-0", 12, unit="%", ucum="%", when="2023-09-01")
    facts = _facts(mof, hip, old)
    assert [(f.effective, f.mof_percent, f.hip_percent) for f in facts.frax] == [
        (date(2025, 2, 1), Decimal("21.3"), Decimal("3.3")),
        (date(2023, 9, 1), Decimal("12"), None),
    ]
    assert facts.frax[0].records == ("Observation/h", "Observation/m")
    assert facts.frax[0].bmd_used is True and facts.frax[0].glucocorticoid_input is None
    assert not facts.frax[0].preliminary
    prelim = _facts(obs("m", "90265-0", 21.3, unit="%", status="preliminary"))
    assert prelim.frax[0].preliminary


def test_frax_as_components_with_inputs(tmp_path: Any) -> None:
    from fhir_mappings.terminology import load_terminology

    extra = tmp_path / "x.yaml"
    extra.write_text(
        "- {domain: frax, system: 'urn:local', code: gc, concept: frax-input-glucocorticoids, "
        "display: GC input, source: local}\n",
        encoding="utf-8",
    )
    panel = obs(
        "p",
        "frax-panel",
        system="urn:local",
        method={"text": "FRAX without BMD"},
        component=[
            {"code": {"coding": [coding(LOINC, "90265-0")]}, "valueQuantity": {"value": 31, "unit": "%"}},
            {"code": {"coding": [coding(LOINC, "90266-8")]}, "valueQuantity": {"value": 4.6, "code": "%"}},
            {"code": {"coding": [coding("urn:local", "gc")]}, "valueCodeableConcept": {"text": "Yes"}},
        ],
    )
    (frax,) = extract_facts([panel], NOW, terminology=load_terminology(extra)).frax
    assert (frax.mof_percent, frax.hip_percent, frax.glucocorticoid_input, frax.bmd_used) == (
        Decimal("31"),
        Decimal("4.6"),
        True,
        False,
    )


@pytest.mark.parametrize(
    ("quantity", "reason"),
    [
        ({"value": 21}, "unit missing"),
        ({"value": 0.21, "unit": "ratio"}, "not recognised"),
        ({"value": 120, "unit": "%"}, "outside 0..100"),
    ],
)
def test_frax_uninterpretable(quantity: dict[str, Any], reason: str) -> None:
    o = obs("m", "90265-0")
    o["valueQuantity"] = quantity
    facts = _facts(o)
    assert facts.frax == () and reason in facts.data_issues[0].reason


def test_frax_same_day_conflict() -> None:
    facts = _facts(
        obs("a", "90265-0", 10, unit="%"), obs("b", "90265-0", 25, unit="%"), obs("c", "90266-8", 2, unit="%")
    )
    (frax,) = facts.frax
    assert (frax.mof_percent, frax.hip_percent) == (None, Decimal("2"))
    assert "conflicting" in facts.data_issues[0].reason


# --- robustness ---


def test_the_same_resource_twice_is_read_once() -> None:
    o = obs("a", "38267-1", -2.0)
    newer = copy.deepcopy(o)
    newer["valueQuantity"]["value"] = -2.2
    newer["meta"] = {"lastUpdated": "2025-02-01T00:00:00Z"}
    facts = _facts(patient(), o, copy.deepcopy(o))
    assert len(facts.dxa_studies[0].measurements) == 1 and facts.data_issues == ()
    facts = _facts(o, newer)
    assert [m.value for m in facts.dxa_studies[0].measurements] == [Decimal("-2.2")]


def test_malformed_relevant_resources_are_counted_not_raised() -> None:
    bad_status = obs("a", "38267-1", -2.0, status="bogus")
    bad_value = obs("b", "38267-1", None, valueQuantity={"value": "minus two"})
    no_subject_request = med_request("c", rx("904419"))
    del no_subject_request["subject"]
    facts = _facts(
        patient(),
        bad_status,
        bad_value,
        no_subject_request,
        "not a dict",
        None,
        {"no": "type"},
        obs("ok", "38267-1", -2.0),
    )
    assert facts.unreadable_records == 6
    assert len(facts.dxa_studies) == 1


def test_irrelevant_resources_are_not_parsed_or_counted() -> None:
    junk_but_irrelevant = {
        "resourceType": "Observation",
        "id": "x",
        "status": "bogus",
        "code": {"coding": [coding(LOINC, "8867-4")]},
        "valueQuantity": {"value": "fast"},
    }
    facts = _facts(junk_but_irrelevant, {"resourceType": "Encounter", "id": "e", "status": 7})
    assert facts.unreadable_records == 0


def test_known_quirks_are_repaired() -> None:
    naive_time = obs("a", "38267-1", -2.0, when="2025-01-15T10:30:00")
    unknown_element = obs("b", "38264-8", -1.0, vendorExtra={"x": 1})
    coding_as_object = obs("c", "85394-5", -0.5)
    coding_as_object["code"]["coding"] = coding_as_object["code"]["coding"][0]
    facts = _facts(naive_time, unknown_element, coding_as_object)
    assert facts.unreadable_records == 0
    assert len(facts.dxa_studies[0].measurements) == 3


def test_numeric_codes_are_read_as_strings() -> None:
    raw = med_request("m", {"medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": 904419}]}})
    facts = _facts(raw)
    assert [m.drug for m in facts.medications] == ["alendronate"] and facts.unreadable_records == 0


def test_data_absent_reason_is_not_a_data_issue() -> None:
    absent = obs("a", "62292-8", dataAbsentReason={"coding": [{"code": "not-performed"}]})
    facts = _facts(absent)
    assert facts.labs == () and facts.data_issues == ()
    assert len(_facts(obs("b", "62292-8")).data_issues) == 1  # no value and no reason: reported


def test_sandbox_medication_request_category_object_parses() -> None:
    raw = med_request("request-123", rx("904419"), status="draft", category={"text": "outpatient"})
    assert parse(raw) is not None
    assert raw["category"] == {"text": "outpatient"}  # the caller's dict is not modified


def test_unwrapped_bundle_is_tolerated() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": obs("a", "38267-1", -2.0)}, {"fullUrl": "x"}],
    }
    facts = _facts(bundle)
    assert len(facts.dxa_studies) == 1 and facts.unreadable_records == 1


def test_unavailable_and_partial_domains_pass_through() -> None:
    facts = extract_facts([], NOW, unavailable=frozenset({"labs"}), partial=frozenset({"medications"}))
    assert (facts.unavailable, facts.partial) == (frozenset({"labs"}), frozenset({"medications"}))


def test_now_may_be_a_date() -> None:
    facts = extract_facts([med_request("m", rx("8640"))], date(2025, 6, 30))
    assert facts.data_issues[0].reason == "Glucocorticoid with no dose"


def test_a_broken_iterable_keeps_what_was_read() -> None:
    def gen() -> Any:
        yield obs("a", "38267-1", -2.0)
        raise RuntimeError("connection reset")

    facts = extract_facts(gen(), NOW)
    assert len(facts.dxa_studies) == 1 and facts.unreadable_records == 1


# --- property: never raises ---

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_types = st.sampled_from(
    [
        "Patient",
        "Observation",
        "Condition",
        "MedicationStatement",
        "MedicationRequest",
        "MedicationAdministration",
        "Medication",
        "Procedure",
        "ServiceRequest",
        "Appointment",
        "FamilyMemberHistory",
        "DiagnosticReport",
        "Bundle",
        "Encounter",
    ]
)
_codes = st.sampled_from(
    [
        coding(LOINC, "38267-1"),
        coding(LOINC, "62292-8"),
        coding(LOINC, "90265-0"),
        coding(SNOMED, "64859006"),
        coding("http://hl7.org/fhir/sid/icd-10-cm", "M80.08XA"),
        coding("http://www.nlm.nih.gov/research/umls/rxnorm", "993452"),
        coding("http://www.ama-assn.org/go/cpt", "22612"),
        coding(LOINC, "72166-2"),
    ]
)


@st.composite
def _resource(draw: st.DrawFn) -> Any:
    base: dict[str, Any] = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "status",
                    "code",
                    "valueQuantity",
                    "effectiveDateTime",
                    "component",
                    "bodySite",
                    "subject",
                    "intent",
                    "medicationCodeableConcept",
                    "medicationReference",
                    "dosage",
                    "dosageInstruction",
                    "onsetDateTime",
                    "clinicalStatus",
                    "verificationStatus",
                    "birthDate",
                    "gender",
                    "condition",
                    "relationship",
                    "entry",
                    "contained",
                    "valueCodeableConcept",
                    "serviceType",
                    "effectivePeriod",
                    "dispenseRequest",
                ]
            ),
            _json,
            max_size=8,
        )
    )
    base["resourceType"] = draw(_types)
    if draw(st.booleans()):
        cc = {"coding": [draw(_codes)]}
        base["code"] = cc
        base["medicationCodeableConcept"] = cc
    if draw(st.booleans()):
        base["subject"] = {"reference": "Patient/p1"}
        base["status"] = draw(st.sampled_from(["final", "active", "completed", "preliminary", "draft", "x"]))
    return base


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_resource() | _json, max_size=6))
def test_extract_facts_never_raises_on_junk(resources: list[Any]) -> None:
    facts = extract_facts(resources, datetime(2025, 1, 1))
    assert isinstance(facts, PatientFacts)
    assert facts.unreadable_records >= 0


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(max_size=8), _json, max_size=6), st.sampled_from(["Observation", "Condition"]))
def test_missing_and_odd_fields_around_a_relevant_code(extra: dict[str, Any], rtype: str) -> None:
    base = obs("a", "38267-1", -2.0) if rtype == "Observation" else condition("c", coding(SNOMED, "64859006"))
    base.update({k: v for k, v in extra.items() if k not in ("resourceType",)})
    extract_facts([base], NOW)


def test_warm_up_returns_the_terminology_and_loads_models() -> None:
    from fhir_mappings.extract import warm_up
    from fhir_mappings.fhir_json import model_class

    term = warm_up()
    assert term.is_known(LOINC, "38267-1")
    assert model_class("Observation").__module__ == "fhir.resources.R4B.observation"
    assert model_class("Encounter") is None


def test_results_no_rule_can_use_are_not_read() -> None:
    """Labs, vitals and FRAX older than 25 months are skipped before parsing unless they are the newest of their
    kind; DXA history is always read. A unit problem in a skipped result is therefore not reported."""
    old_vitd_bad_unit = obs("v-old", "62292-8", 45, unit="xx", ucum="xx", when="2021-03-01")
    recent_vitd = obs("v-new", "62292-8", 31, unit="ng/mL", ucum="ng/mL", when="2025-01-10")
    only_egfr = obs("e-old", "98979-8", 55, unit="mL/min/{1.73_m2}", ucum="mL/min/{1.73_m2}", when="2020-05-05")
    old_dxa = obs("d-old", "38267-1", -2.7, unit="{T-score}", ucum="{T-score}", when="2015-04-04")

    facts = _facts(old_vitd_bad_unit, recent_vitd, only_egfr, old_dxa)

    assert {lab.record for lab in facts.labs} == {"Observation/v-new", "Observation/e-old"}
    assert facts.data_issues == ()
    assert [study.date for study in facts.dxa_studies] == [date(2015, 4, 4)]
