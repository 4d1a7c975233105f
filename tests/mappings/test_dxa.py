"""DXA encodings seen in real data must give the same facts; bad values become data-quality findings."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from decision_core.data_issues import affected_rules
from decision_core.facts import BoneSite, DxaMeasurement, PatientFacts, ScoreKind, Side
from fhir_mappings.dxa import is_diagnostic_site, parse_vertebrae
from fhir_mappings.extract import extract_facts

from .builders import LOINC, NOW, SNOMED, obs, patient

# Verbatim from HL7/US-Core input/examples/dxa-femur-l-t-score-bmd.json (terminology.md G2).
US_CORE_FEMUR_L_T: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "dxa-femur-l-t-score-bmd",
    "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-clinical-result|9.0.0"]},
    "status": "final",
    "category": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "imaging",
                    "display": "Imaging",
                }
            ],
            "text": "Imaging",
        }
    ],
    "code": {
        "coding": [{"system": "http://loinc.org", "code": "80948-3", "display": "DXA Femur-L T-score BMD"}],
        "text": "DXA Femur-L T-score BMD",
    },
    "effectiveDateTime": "2021-11-10T19:14:41.088720-08:00",
    "valueQuantity": {"value": -1.48, "unit": "T-Score", "system": "http://unitsofmeasure.org", "code": "1"},
}

# Synthea osteoporosis module through the FHIR R4 exporter (terminology.md G1).
SYNTHEA_T: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "synthea-dxa",
    "status": "final",
    "category": [
        {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "procedure"}]}
    ],
    "code": {"coding": [{"system": "http://loinc.org", "code": "38265-5", "display": "DXA [T-score] Bone density"}]},
    "subject": {"reference": "urn:uuid:1b2c"},
    "effectiveDateTime": "2021-11-10T09:00:00-05:00",
    "valueQuantity": {
        "value": -2.9,
        "unit": "{T-score}",
        "system": "http://unitsofmeasure.org",
        "code": "{T-score}",
    },
}

NECK = {"coding": [{"system": SNOMED, "code": "29627003", "display": "Structure of neck of femur"}]}


def _only(facts: PatientFacts) -> DxaMeasurement:
    (study,) = facts.dxa_studies
    (m,) = study.measurements
    return m


def _facts(*resources: dict[str, Any]) -> PatientFacts:
    return extract_facts([patient(), *resources], NOW)


def _key(m: DxaMeasurement) -> tuple[Any, ...]:
    return (m.kind, m.site, m.side, m.vertebrae, m.value, m.effective)


# --- encodings ---


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        pytest.param(
            US_CORE_FEMUR_L_T,
            (ScoreKind.T, BoneSite.FEMUR, Side.LEFT, (), Decimal("-1.48"), date(2021, 11, 10)),
            id="us-core-femur-left",
        ),
        pytest.param(
            SYNTHEA_T,
            (ScoreKind.T, BoneSite.UNSPECIFIED, None, (), Decimal("-2.9"), date(2021, 11, 10)),
            id="synthea-38265-5-generic-display",
        ),
        pytest.param(
            obs("a", "38263-0", -1.7, ucum="{T-score}", when="2021-11-10", body_site=NECK),
            (ScoreKind.T, BoneSite.FEMORAL_NECK, None, (), Decimal("-1.7"), date(2021, 11, 10)),
            id="femur-code-plus-bodysite-neck-snomed",
        ),
        pytest.param(
            obs(
                "a",
                "80948-3",
                -1.7,
                unit="T-Score",
                ucum="1",
                when="2021-11-10",
                body_site={"text": "Neck of femur"},
            ),
            (ScoreKind.T, BoneSite.FEMORAL_NECK, Side.LEFT, (), Decimal("-1.7"), date(2021, 11, 10)),
            id="femur-left-plus-bodysite-text-neck",
        ),
        pytest.param(
            obs("a", "38264-8", -1.1, when="2021-11-10", body_site={"text": "Left total hip"}),
            (ScoreKind.T, BoneSite.TOTAL_HIP, Side.LEFT, (), Decimal("-1.1"), date(2021, 11, 10)),
            id="hip-no-unit-side-from-bodysite",
        ),
        pytest.param(
            obs("a", "80946-7", -1.1, unit="T-Score", ucum="1", when="2021-11-10"),
            (ScoreKind.T, BoneSite.TOTAL_HIP, Side.LEFT, (), Decimal("-1.1"), date(2021, 11, 10)),
            id="us-core-hip-left",
        ),
        pytest.param(
            obs("a", "38267-1", -1.3, ucum="{T-score}", when="2021-11-10", body_site={"text": "L1-L2"}),
            (ScoreKind.T, BoneSite.LUMBAR_SPINE, None, ("L1", "L2"), Decimal("-1.3"), date(2021, 11, 10)),
            id="spine-l1-l2-subset-from-bodysite",
        ),
        pytest.param(
            obs("a", "38267-1", -1.3, when="2021-11-10", text="Lumbar spine L1\u2013L4 T-score"),
            (
                ScoreKind.T,
                BoneSite.LUMBAR_SPINE,
                None,
                ("L1", "L2", "L3", "L4"),
                Decimal("-1.3"),
                date(2021, 11, 10),
            ),
            id="spine-en-dash-range-in-code-text",
        ),
        pytest.param(
            obs("a", "38265-5", -2.6, when="2021-11-10", body_site={"text": "Left radius 33%"}),
            (ScoreKind.T, BoneSite.RADIUS_33, Side.LEFT, (), Decimal("-2.6"), date(2021, 11, 10)),
            id="forearm-33-percent-radius",
        ),
        pytest.param(
            obs("a", "80944-2", -2.6, when="2021-11-10", body_site={"text": "one-third radius"}),
            (ScoreKind.T, BoneSite.RADIUS_33, Side.LEFT, (), Decimal("-2.6"), date(2021, 11, 10)),
            id="forearm-left-one-third",
        ),
        pytest.param(
            obs("a", "38265-5", -2.6, when="2021-11-10", body_site={"text": "Radius UD"}),
            (ScoreKind.T, BoneSite.FOREARM, None, (), Decimal("-2.6"), date(2021, 11, 10)),
            id="forearm-ultradistal",
        ),
        pytest.param(
            obs("a", "38265-5", -2.6, when="2021-11-10", display="DXA Radius and Ulna [T-score] Bone density"),
            (ScoreKind.T, BoneSite.FOREARM, None, (), Decimal("-2.6"), date(2021, 11, 10)),
            id="forearm-loinc-display",
        ),
        pytest.param(
            obs("a", "38265-5", -2.6, when="2021-11-10"),
            (ScoreKind.T, BoneSite.FOREARM, None, (), Decimal("-2.6"), date(2021, 11, 10)),
            id="forearm-code-only",
        ),
        pytest.param(
            obs("a", "38266-3", -2.0, when="2021-11-10"),
            (ScoreKind.T, BoneSite.CALCANEUS, None, (), Decimal("-2.0"), date(2021, 11, 10)),
            id="calcaneus",
        ),
        pytest.param(
            obs("a", "80938-4", -2.1, unit="Z-Score", ucum="1", when="2021-11-10"),
            (ScoreKind.Z, BoneSite.TOTAL_HIP, Side.LEFT, (), Decimal("-2.1"), date(2021, 11, 10)),
            id="us-core-z-hip-left",
        ),
        pytest.param(
            obs("a", "85394-5", -2.1, ucum="{Z-score}", when="2021-11-10", body_site={"text": "L2, L4"}),
            (ScoreKind.Z, BoneSite.LUMBAR_SPINE, None, ("L2", "L4"), Decimal("-2.1"), date(2021, 11, 10)),
            id="z-spine-non-contiguous",
        ),
        pytest.param(
            obs("a", "46278-8", 0.762, unit="g/cm2", ucum="g/cm2", when="2021-11-10"),
            (ScoreKind.BMD, BoneSite.TOTAL_HIP, Side.LEFT, (), Decimal("0.762"), date(2021, 11, 10)),
            id="us-core-bmd-hip-left",
        ),
        pytest.param(
            obs(
                "a",
                "24701-5",
                0.887,
                unit="g/cm\u00b2",
                ucum="g/cm-2",
                when="2021-11-10",
                text="BMD - Left Femur",
                body_site={"coding": [{"system": SNOMED, "code": "71341001:272741003=7771000"}]},
            ),
            (ScoreKind.BMD, BoneSite.FEMUR, Side.LEFT, (), Decimal("0.887"), date(2021, 11, 10)),
            id="fhir-core-bmd-example-g-cm-2",
        ),
        pytest.param(
            obs("a", "46383-6", 0.9, ucum="g/cm2", when="2021-11-10", body_site={"text": "Femoral neck"}),
            (ScoreKind.BMD, BoneSite.FEMORAL_NECK, None, (), Decimal("0.9"), date(2021, 11, 10)),
            id="generic-bmd-site-from-bodysite",
        ),
    ],
)
def test_dxa_encodings(resource: dict[str, Any], expected: tuple[Any, ...]) -> None:
    facts = _facts(resource)
    assert facts.data_issues == ()
    m = _only(facts)
    assert _key(m) == expected
    assert m.code is not None and m.code.startswith(LOINC + "|")


def test_us_core_and_femur_plus_bodysite_encodings_agree_with_a_local_neck_code() -> None:
    """Different encodings of the same left femoral neck T-score give the same fact."""
    a = _only(_facts(obs("a", "80948-3", -1.7, unit="T-Score", ucum="1", body_site=NECK)))
    b = _only(_facts(obs("b", "38263-0", -1.7, ucum="{T-score}", body_site={"text": "Left femoral neck"})))
    assert _key(a) == _key(b)


def test_same_lumbar_study_from_us_core_style_and_synthea_style_units() -> None:
    a = _only(_facts(obs("a", "38267-1", -2.5, unit="T-Score", ucum="1")))
    b = _only(_facts(obs("b", "38267-1", -2.5, unit="{T-score}", ucum="{T-score}")))
    c = _only(_facts(obs("c", "38267-1", -2.5)))  # a warehouse export without unit
    assert _key(a) == _key(b) == _key(c)
    assert a.value == Decimal("-2.5")


def test_components_of_a_dxa_panel_are_read() -> None:
    panel = obs("p", "83311-1", None, display="Bone density quantitative measurement by DXA panel")
    panel["component"] = [
        {"code": {"coding": [{"system": LOINC, "code": "38267-1"}]}, "valueQuantity": {"value": -2.7}},
        {
            "code": {"coding": [{"system": LOINC, "code": "80946-7"}]},
            "valueQuantity": {"value": -1.9, "code": "1"},
        },
    ]
    (study,) = _facts(panel).dxa_studies
    assert [(m.site, m.value) for m in study.measurements] == [
        (BoneSite.LUMBAR_SPINE, Decimal("-2.7")),
        (BoneSite.TOTAL_HIP, Decimal("-1.9")),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L1-L2", ("L1", "L2")),
        ("L1\u2013L4", ("L1", "L2", "L3", "L4")),
        ("L1-4", ("L1", "L2", "L3", "L4")),
        ("L2, L4", ("L2", "L4")),
        ("L3", ("L3",)),
        ("L1 to L3", ("L1", "L2", "L3")),
        ("Lumbar spine", ()),
        ("DXA Lumbar spine [T-score] Bone density", ()),
    ],
)
def test_parse_vertebrae(text: str, expected: tuple[str, ...]) -> None:
    assert parse_vertebrae(text) == expected


@pytest.mark.parametrize(
    ("body_site", "site", "side"),
    [
        ({"text": "Left femur, trochanter"}, BoneSite.TROCHANTER, Side.LEFT),
        ({"text": "Ward's triangle"}, BoneSite.WARDS, None),
        ({"text": "Right total hip"}, BoneSite.TOTAL_HIP, Side.RIGHT),
        ({"coding": [{"system": SNOMED, "code": "129627003"}]}, BoneSite.FEMUR, None),  # not 29627003
        (
            {"coding": [{"system": SNOMED, "code": "17771000"}]},
            BoneSite.FEMUR,
            None,
        ),  # not the laterality code
    ],
)
def test_proximal_femur_regions_from_body_site(body_site: dict[str, Any], site: BoneSite, side: Side | None) -> None:
    m = _only(_facts(obs("a", "38263-0", -1.0, body_site=body_site)))
    assert (m.site, m.side) == (site, side)


def test_diagnostic_site_helper() -> None:
    assert is_diagnostic_site(BoneSite.FEMORAL_NECK)
    assert not is_diagnostic_site(BoneSite.CALCANEUS)
    assert not is_diagnostic_site(BoneSite.UNSPECIFIED)


# --- data quality ---


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        pytest.param(obs("t", "38263-0", 0.889, unit="g/cm2", ucum="g/cm2"), "BMD unit", id="taiwan-bmd-on-t-code"),
        pytest.param(obs("t", "38267-1", 8.1, ucum="{T-score}"), "outside -6..+6", id="implausible-high"),
        pytest.param(obs("t", "38267-1", -6.01), "outside -6..+6", id="implausible-low"),
        pytest.param(obs("t", "38267-1", -2.0, unit="%", ucum="%"), "not valid for a T-score", id="percent-unit"),
        pytest.param(obs("t", "24966-4", 0.9), "unit missing", id="bmd-without-unit"),
        pytest.param(obs("t", "24966-4", -1.2, ucum="g/cm2"), "outside 0..3", id="t-score-on-bmd-code"),
        pytest.param(obs("t", "38267-1", None), "no numeric value", id="no-value"),
    ],
)
def test_uninterpretable_dxa_values_become_data_issues(resource: dict[str, Any], reason: str) -> None:
    facts = _facts(resource)
    assert facts.dxa_studies == ()
    (issue,) = facts.data_issues
    assert reason in issue.reason
    assert issue.record == "Observation/t"
    assert "DX-01" in affected_rules(issue)


def test_plausibility_bounds_are_inclusive() -> None:
    facts = _facts(obs("a", "38267-1", -6), obs("b", "38264-8", 6))
    assert facts.data_issues == ()
    assert sorted(m.value for m in facts.dxa_studies[0].measurements) == [Decimal("-6"), Decimal("6")]


def test_missing_effective_date_is_reported() -> None:
    o = obs("a", "38267-1", -2.0)
    del o["effectiveDateTime"]
    facts = _facts(o)
    assert facts.dxa_studies == ()
    assert [i.reason for i in facts.data_issues] == ["no effective date"]


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_entered_in_error_and_cancelled_are_ignored(status: str) -> None:
    facts = _facts(obs("a", "38267-1", -3.1, status=status))
    assert facts.dxa_studies == () and facts.data_issues == ()


def test_preliminary_results_are_flagged() -> None:
    assert _only(_facts(obs("a", "38267-1", -2.0, status="preliminary"))).preliminary
    assert not _only(_facts(obs("a", "38267-1", -2.0, status="amended"))).preliminary


def test_identical_same_day_duplicates_merge_silently() -> None:
    facts = _facts(obs("a", "38267-1", -2.0, status="preliminary"), obs("b", "38267-1", -2.0))
    m = _only(facts)
    assert m.record == "Observation/b" and not m.preliminary  # the final one is kept
    assert facts.data_issues == ()


def test_conflicting_same_day_values_are_reported_and_not_used() -> None:
    facts = _facts(obs("a", "38267-1", -2.0), obs("b", "38267-1", -2.6), obs("c", "38264-8", -1.0))
    (study,) = facts.dxa_studies
    assert [m.site for m in study.measurements] == [BoneSite.TOTAL_HIP]
    (issue,) = facts.data_issues
    assert "conflicting" in issue.reason and "Observation/a" in issue.reason and "Observation/b" in issue.reason


def test_close_same_day_values_are_both_kept() -> None:
    facts = _facts(obs("a", "38267-1", -2.0), obs("b", "38267-1", -2.1))  # 4.8 % apart
    assert len(facts.dxa_studies[0].measurements) == 2
    assert facts.data_issues == ()


def test_left_and_right_on_the_same_day_are_not_duplicates() -> None:
    facts = _facts(obs("a", "80946-7", -1.0), obs("b", "80945-9", -2.4))
    assert len(facts.dxa_studies[0].measurements) == 2 and facts.data_issues == ()


def test_studies_group_within_one_day_of_the_newest_date_newest_first() -> None:
    facts = _facts(
        obs("a", "38267-1", -2.0, when="2025-01-15"),
        obs("b", "38264-8", -1.0, when="2025-01-16T08:00:00Z"),
        obs("c", "38267-1", -2.4, when="2023-01-10"),
        obs("d", "38264-8", -1.2, when="2025-01-17"),
    )
    # 17th and 16th are one study; the 15th is two days from the newest date, so it starts another (C-02).
    assert [s.date for s in facts.dxa_studies] == [date(2025, 1, 17), date(2025, 1, 15), date(2023, 1, 10)]
    assert [sorted(m.record for m in s.measurements) for s in facts.dxa_studies] == [
        ["Observation/b", "Observation/d"],
        ["Observation/a"],
        ["Observation/c"],
    ]


def test_us_core_example_is_not_mutated() -> None:
    before = copy.deepcopy(US_CORE_FEMUR_L_T)
    extract_facts([US_CORE_FEMUR_L_T], NOW)
    assert before == US_CORE_FEMUR_L_T
