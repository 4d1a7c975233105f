"""Labs: every unit encoding gives the same canonical value (C-09); a unit is never guessed (DATA-03)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decision_core.data_issues import affected_rules
from decision_core.facts import Analyte, LabResult, PatientFacts
from fhir_mappings.extract import extract_facts
from fhir_mappings.unit_conversion import (
    _BY_UCUM,
    _TABLE,
    ANALYTE_UNITS,
    AnalyteUnits,
    Unit,
    convert,
    lab_to_canonical,
    parse_unit,
    to_decimal,
)

from .builders import LOINC, NOW, obs, patient


def _facts(*resources: dict[str, Any]) -> PatientFacts:
    return extract_facts([patient(), *resources], NOW)


def _only(facts: PatientFacts) -> LabResult:
    (lab,) = facts.labs
    return lab


@pytest.mark.parametrize(
    ("resource", "analyte", "value", "unit"),
    [
        pytest.param(
            obs("l", "62292-8", 25, unit="ng/mL", ucum="ng/mL"),
            Analyte.VITAMIN_D_25OH,
            "25",
            "ng/mL",
            id="vitd-total-ng-ml",
        ),
        pytest.param(
            obs("l", "14635-7", 49.92, unit="nmol/L", ucum="nmol/L"),
            Analyte.VITAMIN_D_25OH,
            "20",
            "ng/mL",
            id="vitd-d3-nmol-l",
        ),
        pytest.param(
            obs("l", "62292-8", 20, unit="\u00b5g/L"),
            Analyte.VITAMIN_D_25OH,
            "20",
            "ng/mL",
            id="vitd-ug-l-text-only",
        ),
        pytest.param(
            obs("l", "1989-3", 20, unit="ng/ml", ucum="ng/mL"),
            Analyte.VITAMIN_D_25OH,
            "20",
            "ng/mL",
            id="vitd-d3-mass",
        ),
        pytest.param(
            obs("l", "14635-7", 49920, unit="pmol/L", ucum="pmol/L"),
            Analyte.VITAMIN_D_25OH,
            "20",
            "ng/mL",
            id="vitd-pmol-l",
        ),
        pytest.param(
            obs("l", "17861-6", 9.2, unit="mg/dL", ucum="mg/dL"),
            Analyte.CALCIUM,
            "9.2",
            "mg/dL",
            id="calcium-mass",
        ),
        pytest.param(
            obs("l", "2000-8", 2.3, unit="mmol/L", ucum="mmol/L"),
            Analyte.CALCIUM,
            "9.2184",
            "mg/dL",
            id="calcium-molar",
        ),
        pytest.param(
            obs("l", "49765-1", 9.2, unit="mg/dL", ucum="mg/dL"),
            Analyte.CALCIUM,
            "9.2",
            "mg/dL",
            id="calcium-blood-synthea",
        ),
        pytest.param(obs("l", "1751-7", 40, unit="g/L", ucum="g/L"), Analyte.ALBUMIN, "4", "g/dL", id="albumin-g-l"),
        pytest.param(
            obs("l", "1751-7", 4.1, unit="g/dL", ucum="g/dL"),
            Analyte.ALBUMIN,
            "4.1",
            "g/dL",
            id="albumin-g-dl",
        ),
        pytest.param(obs("l", "14879-1", 1, unit="mmol/L"), Analyte.PHOSPHATE, "3.097", "mg/dL", id="phosphate-molar"),
        pytest.param(obs("l", "14866-8", 5, unit="pmol/L"), Analyte.PTH, "47.125", "pg/mL", id="pth-molar"),
        pytest.param(obs("l", "2731-8", 47, unit="pg/mL"), Analyte.PTH, "47", "pg/mL", id="pth-mass"),
        pytest.param(obs("l", "6768-6", 80, unit="U/L", ucum="U/L"), Analyte.ALP, "80", "U/L", id="alp"),
        pytest.param(obs("l", "6768-6", 80, unit="IU/L"), Analyte.ALP, "80", "U/L", id="alp-iu"),
        pytest.param(obs("l", "3016-3", 1.8, unit="mIU/L", ucum="m[IU]/L"), Analyte.TSH, "1.8", "m[IU]/L", id="tsh"),
        pytest.param(obs("l", "3016-3", 1.8, unit="\u00b5IU/mL"), Analyte.TSH, "1.8", "m[IU]/L", id="tsh-uiu-ml"),
        pytest.param(
            obs("l", "2160-0", 1.1, unit="mg/dL", ucum="mg/dL"),
            Analyte.CREATININE,
            "1.1",
            "mg/dL",
            id="creatinine",
        ),
        pytest.param(
            obs("l", "14682-9", 88.4, unit="\u03bcmol/L"),
            Analyte.CREATININE,
            "0.999804",
            "mg/dL",
            id="creatinine-molar-greek-mu",
        ),
        pytest.param(
            obs("l", "38483-4", 1.1, unit="mg/dL", ucum="mg/dL"),
            Analyte.CREATININE,
            "1.1",
            "mg/dL",
            id="creatinine-blood-synthea",
        ),
        pytest.param(
            obs("l", "98979-8", 58, unit="mL/min/{1.73_m2}", ucum="mL/min/{1.73_m2}"),
            Analyte.EGFR,
            "58",
            "mL/min/{1.73_m2}",
            id="egfr-ckd-epi-2021",
        ),
        pytest.param(
            obs("l", "62238-1", 58, unit="mL/min/1.73m2"),
            Analyte.EGFR,
            "58",
            "mL/min/{1.73_m2}",
            id="egfr-ckd-epi-spelling",
        ),
        pytest.param(
            obs("l", "33914-3", 58, unit="mL/min/1.73 m2"),
            Analyte.EGFR,
            "58",
            "mL/min/{1.73_m2}",
            id="egfr-mdrd-synthea",
        ),
        pytest.param(
            obs("l", "77147-7", 58, unit="mL/min/{1.73_m2}"),
            Analyte.EGFR,
            "58",
            "mL/min/{1.73_m2}",
            id="egfr-mdrd",
        ),
    ],
)
def test_lab_encodings(resource: dict[str, Any], analyte: Analyte, value: str, unit: str) -> None:
    facts = _facts(resource)
    assert facts.data_issues == ()
    lab = _only(facts)
    assert (lab.analyte, lab.value, lab.unit) == (analyte, Decimal(value), unit)
    assert lab.original_value == Decimal(str(resource["valueQuantity"]["value"]))
    assert lab.original_unit == resource["valueQuantity"]["unit"]
    assert lab.code == f"{LOINC}|{resource['code']['coding'][0]['code']}"
    assert lab.effective == date(2025, 1, 15)


def test_vitamin_d_in_ng_ml_and_nmol_l_give_the_same_fact() -> None:
    a = _only(_facts(obs("a", "62292-8", 20, unit="ng/mL", ucum="ng/mL")))
    b = _only(_facts(obs("b", "14635-7", 49.92, unit="nmol/L", ucum="nmol/L")))
    assert (a.analyte, a.value, a.unit) == (b.analyte, b.value, b.unit)


def test_calcium_in_mg_dl_and_mmol_l_give_the_same_fact() -> None:
    a = _only(_facts(obs("a", "17861-6", 10.02, unit="mg/dL", ucum="mg/dL")))
    b = _only(_facts(obs("b", "2000-8", 2.5, unit="mmol/L", ucum="mmol/L")))
    assert a.value == b.value == Decimal("10.02")


@pytest.mark.parametrize(
    ("nmol", "ng", "below_20"),
    [
        ("49.92", "20", False),  # exactly 20.0 ng/mL: not deficient
        ("49.91", "19.99599358974358974358974359", True),
        ("29.952", "12", True),  # severe band boundary (12.0)
        ("74.88", "30", False),  # target boundary
        ("124.8", "50", False),
        ("50", "20.03205128205128205128205128", False),
    ],
)
def test_vitamin_d_conversion_boundaries_are_exact(nmol: str, ng: str, below_20: bool) -> None:
    """Exact arithmetic, rounded only at the 28th significant digit: comparisons at the C-09 band edges are
    exact (the card layer rounds for display)."""
    value = lab_to_canonical(Analyte.VITAMIN_D_25OH, Decimal(nmol), parse_unit("nmol/L"))  # type: ignore[arg-type]
    assert value == Decimal(ng)
    assert (value < Decimal("20.0")) is below_20


@pytest.mark.parametrize(
    ("quantity", "reason"),
    [
        pytest.param({"value": 45}, "unit missing", id="missing"),
        pytest.param({"value": 45, "unit": "  "}, "unit missing", id="blank"),
        pytest.param({"value": 45, "unit": "mmol"}, "unit 'mmol' not recognised", id="unknown"),
        pytest.param({"value": 45, "unit": "kg", "code": "kg"}, "cannot be converted to ng/mL", id="wrong-dimension"),
        pytest.param(
            {"value": 45, "unit": "ng/mL", "code": "nmol/L", "system": "http://unitsofmeasure.org"},
            "disagree",
            id="unit-and-code-disagree",
        ),
        pytest.param({"unit": "ng/mL"}, "no numeric value", id="no-number"),
    ],
)
def test_vitamin_d_without_an_interpretable_unit_is_not_used(quantity: dict[str, Any], reason: str) -> None:
    o = obs("v", "62292-8")
    o["valueQuantity"] = quantity
    facts = _facts(o)
    assert facts.labs == ()
    (issue,) = facts.data_issues
    assert issue.item == "25-OH vitamin D 2025-01-15"
    assert reason in issue.reason
    assert issue.record == "Observation/v"
    assert affected_rules(issue) == ("VITD-01", "TX-01", "LAB-01")


def test_value_string_is_not_interpreted() -> None:
    o = obs("v", "62292-8", valueString="<10 ng/mL")
    facts = _facts(o)
    assert facts.labs == () and [i.reason for i in facts.data_issues] == ["no numeric value"]


def test_calcium_mislabelled_units_are_implausible_not_used() -> None:
    """2.4 'mg/dL' is almost certainly mmol/L: reported, not read as severe hypocalcaemia."""
    facts = _facts(obs("c", "17861-6", 2.4, unit="mg/dL", ucum="mg/dL"))
    assert facts.labs == ()
    assert "implausible" in facts.data_issues[0].reason


def test_comparator_is_kept() -> None:
    lab = _only(
        _facts(obs("e", "98979-8", None, valueQuantity={"value": 90, "comparator": ">", "unit": "mL/min/1.73m2"}))
    )
    assert (lab.value, lab.comparator) == (Decimal("90"), ">")


def test_reference_low_is_converted() -> None:
    o = obs(
        "c",
        "2000-8",
        2.3,
        unit="mmol/L",
        ucum="mmol/L",
        referenceRange=[{"low": {"value": 2.12, "unit": "mmol/L"}, "high": {"value": 2.6, "unit": "mmol/L"}}],
    )
    assert _only(_facts(o)).reference_low == Decimal("8.49696")
    no_unit = obs("c", "2000-8", 2.3, unit="mmol/L", referenceRange=[{"low": {"value": 2.12}}])
    assert _only(_facts(no_unit)).reference_low is None  # not guessed


def test_panels_count_as_present_from_observation_or_diagnostic_report() -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "r",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "58410-2"}]},
        "effectiveDateTime": "2025-02-01",
    }
    spep = obs("s", "24351-9", None)
    facts = _facts(report, spep)
    assert [(lab.analyte, lab.value, lab.effective) for lab in facts.labs] == [
        (Analyte.CBC, None, date(2025, 2, 1)),
        (Analyte.SPEP, None, date(2025, 1, 15)),
    ]
    cancelled = dict(report, status="cancelled")
    assert _facts(cancelled).labs == ()


def test_labs_newest_first_and_preliminary_flagged() -> None:
    facts = _facts(
        obs("a", "17861-6", 9.0, unit="mg/dL", when="2024-08-01"),
        obs("b", "17861-6", 9.4, unit="mg/dL", when="2025-03-01", status="preliminary"),
    )
    assert [(lab.record, lab.preliminary) for lab in facts.labs] == [
        ("Observation/b", True),
        ("Observation/a", False),
    ]


def test_entered_in_error_lab_is_ignored() -> None:
    assert _facts(obs("a", "17861-6", 9.0, unit="mg/dL", status="entered-in-error")).labs == ()


def test_same_day_lab_duplicates() -> None:
    same = _facts(obs("a", "17861-6", 10.02, unit="mg/dL"), obs("b", "2000-8", 2.5, unit="mmol/L"))
    assert len(same.labs) == 1 and same.data_issues == ()  # 10.02 mg/dL == 2.5 mmol/L after normalisation
    conflict = _facts(obs("a", "17861-6", 9.0, unit="mg/dL"), obs("b", "17861-6", 10.5, unit="mg/dL"))
    assert conflict.labs == ()
    (issue,) = conflict.data_issues
    assert issue.item == "Calcium 2025-01-15" and "more than 10%" in issue.reason
    close = _facts(obs("a", "17861-6", 9.0, unit="mg/dL"), obs("b", "17861-6", 9.5, unit="mg/dL"))
    assert len(close.labs) == 2 and close.data_issues == ()
    other_day = _facts(
        obs("a", "17861-6", 9.0, unit="mg/dL"), obs("b", "17861-6", 11.0, unit="mg/dL", when="2025-01-16")
    )
    assert len(other_day.labs) == 2 and other_day.data_issues == ()


# --- conversion arithmetic: integers, as Fraction's would give -------------------------------------------------

_DECIMALS = st.decimals(allow_nan=False, allow_infinity=False) | st.builds(
    lambda digits, exponent, negative: Decimal((int(negative), tuple(digits), exponent)),
    st.lists(st.integers(0, 9), min_size=1, max_size=40),
    st.integers(-60, 60),
    st.booleans(),
)
_PAIRS = [(u, t) for u in _TABLE for t in _TABLE if u.dimension == t.dimension]


@settings(max_examples=300, deadline=None)
@given(_DECIMALS, st.sampled_from(_PAIRS))
def test_a_conversion_is_the_exact_fraction_rounded_the_same_way(value: Decimal, pair: tuple[Unit, Unit]) -> None:
    unit, target = pair
    expected = to_decimal(Fraction(value) * unit.factor / target.factor)
    assert convert(value, unit, target.ucum).as_tuple() == expected.as_tuple()  # type: ignore[union-attr]


@settings(max_examples=300, deadline=None)
@given(_DECIMALS, st.sampled_from(sorted(ANALYTE_UNITS.items())), st.sampled_from(_TABLE))
def test_a_lab_conversion_is_the_exact_fraction_rounded_the_same_way(
    value: Decimal, analyte_spec: tuple[Analyte, AnalyteUnits], unit: Unit
) -> None:
    analyte, spec = analyte_spec
    target = _BY_UCUM[spec.canonical]
    if unit.dimension == target.dimension:
        expected: Decimal | None = to_decimal(Fraction(value) * unit.factor / target.factor)
    elif spec.bridge_from is not None and spec.bridge_factor is not None:
        bridge = _BY_UCUM[spec.bridge_from]
        expected = (
            to_decimal(Fraction(value) * unit.factor / bridge.factor * spec.bridge_factor)
            if unit.dimension == bridge.dimension
            else None
        )
    else:
        expected = None
    found = lab_to_canonical(analyte, value, unit)
    assert (found.as_tuple() if found is not None else None) == (expected.as_tuple() if expected is not None else None)


def test_conversion_of_what_is_not_a_number_still_raises() -> None:
    kg = parse_unit("kg")
    assert kg is not None
    for bad in (Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")):
        with pytest.raises((ValueError, OverflowError)):
            convert(bad, kg, "kg")
