"""Strength from the clinical-drug name and mg/day from a dose that gives only a count (fhir_mappings/drugs)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from fhir_mappings.drugs import DrugRecognition, StrengthBasis, daily_dose_mg, recognise
from fhir_mappings.drugs.drug_catalog import RXNORM
from fhir_mappings.drugs.units import COUNT_UNITS, is_count
from fhir_mappings.medications import dose_mg
from fhir_mappings.observations import Qty
from fhir_mappings.unit_conversion import is_count_unit


def _drug(entry: Any) -> DrugRecognition:
    r = recognise(entry)
    assert isinstance(r, DrugRecognition), r
    return r


@pytest.mark.parametrize(
    ("name", "ingredient", "mg_per_unit", "mg_per_ml", "basis"),
    [
        ("Prednisone 5 MG Oral Tablet", "prednisone", "5", None, StrengthBasis.UNIT),
        ("prednisone 2.5 MG Oral Tablet", "prednisone", "2.5", None, StrengthBasis.UNIT),
        ("prednisolone 5 MG/ML Oral Solution", "prednisolone", None, "5", StrengthBasis.ML),
        ("prednisolone 15 mg/5 mL oral solution", "prednisolone", None, "3", StrengthBasis.ML),
        ("Denosumab 60 MG/ML Prefilled Syringe", "denosumab", None, "60", StrengthBasis.ML),
        ("1 ML denosumab 60 MG/ML Prefilled Syringe", "denosumab", "60", "60", StrengthBasis.ML),
        ("100 ML zoledronic acid 0.05 MG/ML Injection", "zoledronic-acid", "5", "0.05", StrengthBasis.ML),
        ("0.25 ML leuprolide acetate 30 MG/ML Prefilled Syringe", "leuprolide", "7.5", "30", StrengthBasis.ML),
        ("24 HR Budesonide 9 MG Extended Release Oral Tablet", "budesonide", "9", None, StrengthBasis.UNIT),
        ("{21 (methylprednisolone 4 MG Oral Tablet) } Pack", "methylprednisolone", "4", None, StrengthBasis.UNIT),
        ("dexamethasone 0.75 MG Oral Tablet", "dexamethasone", "0.75", None, StrengthBasis.UNIT),
        ("Forteo 600 mcg/2.4 mL pen", "teriparatide", None, "0.25", StrengthBasis.ML),
        ("calcium carbonate 1 g chewable", "calcium", "1000", None, StrengthBasis.UNIT),
        ("fosamax 70mg weekly", "alendronate", "70", None, StrengthBasis.UNIT),
    ],
)
def test_strength_from_the_name(
    name: str, ingredient: str, mg_per_unit: str | None, mg_per_ml: str | None, basis: StrengthBasis
) -> None:
    s = _drug(name).strength_of(ingredient)
    assert s is not None and s.basis is basis
    assert s.mg_per_unit == (Decimal(mg_per_unit) if mg_per_unit else None)
    assert s.mg_per_ml == (Decimal(mg_per_ml) if mg_per_ml else None)


def test_strengths_in_international_units_are_not_milligrams() -> None:
    s = _drug("Cholecalciferol 50,000 UNT Oral Capsule").strength_of("vitamin-d")
    assert s is not None and (s.amount, s.unit, s.mg_per_unit) == (Decimal(50000), "[iU]", None)


@pytest.mark.parametrize(
    ("entry", "dose", "per_day", "mg_day"),
    [
        ("Prednisone 5 MG Oral Tablet", {"value": 2, "code": "{tbl}"}, 1, "10"),  # issue 11: 2 tablets a day
        ("prednisone 5 MG Oral Tablet", {"value": 1.5, "unit": "tablets"}, 1, "7.5"),  # decision table §1.1
        ({"coding": [{"system": RXNORM, "code": "312617"}]}, {"value": 1, "code": "{pill}"}, 2, "10"),  # sandbox
        ({"coding": [{"system": RXNORM, "code": "312617"}]}, {"value": 1, "code": "1"}, 1, "5"),  # UCUM unity
        ("prednisolone 5 MG/ML Oral Solution", {"value": 3, "unit": "mL"}, 1, "15"),
        ("Dexamethasone 0.75 MG Oral Tablet", {"value": 1.5, "code": "mg"}, 1, "1.5"),
        ("Dexamethasone 0.75 MG Oral Tablet", {"value": 1500, "code": "ug"}, 1, "1.5"),
        ("Alendronic acid 70 MG Oral Tablet", {"value": 1, "code": "{tbl}"}, Fraction(1, 7), "10"),
        ("1 ML denosumab 60 MG/ML Prefilled Syringe", {"value": 1, "code": "{syringe}"}, Fraction(1, 182), "60/182"),
    ],
)
def test_daily_dose_from_a_count_or_a_mass(entry: Any, dose: dict[str, Any], per_day: Any, mg_day: str) -> None:
    result = daily_dose_mg(_drug(entry), dose, per_day=per_day)
    expected = Decimal(Fraction(mg_day).numerator) / Decimal(Fraction(mg_day).denominator)
    assert result.reason is None and result.mg_per_day is not None
    assert abs(result.mg_per_day - expected) < Decimal("1e-20")


def test_frequency_from_timing_repeat() -> None:
    r = _drug("Prednisone 5 MG Oral Tablet")
    twice_daily = daily_dose_mg(r, {"value": 1, "code": "{tbl}"}, frequency=2, period=1, period_unit="d")
    assert twice_daily.mg_per_day == Decimal(10) and twice_daily.basis == "1 x 5 mg x 2/day"
    every_other_day = daily_dose_mg(r, {"value": 2, "code": "{tbl}"}, frequency=1, period=2, period_unit="d")
    assert every_other_day.mg_per_day == Decimal(5)
    weekly = daily_dose_mg(_drug("fosamax 70 mg"), {"value": 70, "code": "mg"}, frequency=1, period=1, period_unit="wk")
    assert weekly.mg_per_day == Decimal(10)


@pytest.mark.parametrize(
    ("entry", "dose", "reason"),
    [
        ("Prednisone 5 MG Oral Tablet", {"value": 2}, "has no unit"),
        ("Prednisone 5 MG Oral Tablet", {"value": 2, "code": "puff"}, "cannot be converted"),
        ("Prednisone 5 MG Oral Tablet", {"value": 2, "code": "mg", "unit": "tablet"}, "disagree"),
        ("Prednisone 5 MG Oral Tablet", {"value": 0, "code": "{tbl}"}, "not a positive number"),
        ("Prednisone 5 MG Oral Tablet", {"value": "two", "code": "{tbl}"}, "not a number"),
        ("Prednisone 5 MG Oral Tablet", None, "no dose"),
        ("prednisolone 5 MG/ML Oral Solution", {"value": 1, "code": "{tbl}"}, "needs the volume"),
        ("Prednisone Oral Tablet", {"value": 1, "code": "{tbl}"}, "strength per unit is not known"),
        ("Prednisone 5 MG Oral Tablet", {"value": 5, "code": "mL"}, "strength per mL is not known"),
        ("Vitamin D3 1000 IU", {"value": 1000, "code": "[iU]"}, "international units"),
    ],
)
def test_refused_with_a_reason_when_units_do_not_allow_it(entry: str, dose: Any, reason: str) -> None:
    result = daily_dose_mg(_drug(entry), dose, per_day=1)
    assert result.mg_per_day is None and result.reason is not None and reason in result.reason


def test_no_frequency_gives_the_dose_but_no_daily_dose() -> None:
    result = daily_dose_mg(_drug("Prednisone 5 MG Oral Tablet"), {"value": 2, "code": "{tbl}"})
    assert (result.mg_per_day, result.mg_per_administration, result.reason) == (
        None,
        Decimal(10),
        "no frequency is recorded",
    )
    bad = daily_dose_mg(
        _drug("Prednisone 5 MG Oral Tablet"), {"value": 2, "code": "{tbl}"}, frequency=1, period=1, period_unit="lunar"
    )
    assert bad.mg_per_day is None and "not a time unit" in (bad.reason or "")


def test_combination_product_dose_is_per_ingredient() -> None:
    r = _drug("Alendronic acid 70 MG / Cholecalciferol 2800 UNT Oral Tablet [Fosamax Plus D]")
    alendronate = daily_dose_mg(r, {"value": 1, "code": "{tbl}"}, per_day=1)
    assert (alendronate.ingredient, alendronate.mg_per_day) == ("alendronate", Decimal(70))
    vitamin_d = daily_dose_mg(r, {"value": 1, "code": "{tbl}"}, per_day=1, ingredient="vitamin-d")
    assert vitamin_d.mg_per_day is None  # 2800 IU is not a mass


@pytest.mark.parametrize("unit", sorted(COUNT_UNITS))
def test_a_count_unit_is_a_count_for_orders_and_for_the_patient_view(unit: str) -> None:
    assert is_count(unit) and is_count(f" {unit.upper()} ")
    assert is_count_unit(unit) and is_count_unit(f" {unit.upper()} ")


@pytest.mark.parametrize("unit", ["pills", "doses", "syringes", "{patch}", "patch", "suppository", "packet", "{unit}"])
def test_plurals_and_patches_are_counts_for_order_drafts_only(unit: str) -> None:
    """As before the count units were one list: the patient-view dose of "2 patch" stays unknown (changing that
    would change patient-view cards)."""
    assert is_count(unit)
    assert not is_count_unit(unit)
    assert dose_mg(Qty(Decimal(2), unit, unit), Decimal(5)) is None
    assert dose_mg(Qty(Decimal(2), "{tbl}", "{tbl}"), Decimal(5)) == 10


def test_no_unit_is_not_a_count() -> None:
    assert not is_count(None) and not is_count("") and not is_count_unit(None) and not is_count_unit("mg")
