"""The few units a medication dose uses: mass (to mg), volume (mL), counts of a unit of the product, and time
periods. Self-contained on purpose (fhir_mappings/unit_conversion.py imports the facts model, which this package
must not); the spellings follow that module's, and the count units are defined here for both."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

_MASS_MG: dict[str, Decimal] = {
    "mg": Decimal(1),
    "milligram": Decimal(1),
    "milligrams": Decimal(1),
    "g": Decimal(1000),
    "gm": Decimal(1000),
    "gram": Decimal(1000),
    "grams": Decimal(1000),
    "ug": Decimal("0.001"),
    "mcg": Decimal("0.001"),
    "microgram": Decimal("0.001"),
    "micrograms": Decimal("0.001"),
}
_VOLUME_ML: dict[str, Decimal] = {
    "ml": Decimal(1),
    "milliliter": Decimal(1),
    "milliliters": Decimal(1),
    "millilitre": Decimal(1),
    "millilitres": Decimal(1),
    "l": Decimal(1000),
}
# "One tablet / capsule / syringe of the product": a dose of N of these is N x the strength per unit. UCUM's
# unity "1" is a count; a missing unit is not (it could be tablets or mg). The one list of count units: the
# patient-view mapping reads COUNT_UNITS too (fhir_mappings/unit_conversion.py, is_count_unit).
COUNT_UNITS: frozenset[str] = frozenset(
    {
        "1",
        "{tbl}",
        "{tablet}",
        "{tablets}",
        "{tab}",
        "tab",
        "tabs",
        "tablet",
        "tablets",
        "{capsule}",
        "{capsules}",
        "{cap}",
        "cap",
        "caps",
        "capsule",
        "capsules",
        "{pill}",
        "pill",
        "{each}",
        "each",
        "ea",
        "{dose}",
        "dose",
        "{syringe}",
        "syringe",
        "{injection}",
        "injection",
        "{implant}",
        "implant",
    }
)
# Counts for this package's dose arithmetic only (the order hooks' drafts), added with it (issue 11): plurals and
# more per-unit products. The patient-view mapping has never read them as counts (its dose stays unknown), and
# reading them there would change patient-view cards: a clinical decision, not a refactor.
_MORE_COUNT_UNITS: frozenset[str] = frozenset(
    {
        "{pills}",
        "pills",
        "doses",
        "{unit}",
        "syringes",
        "{patch}",
        "patch",
        "{suppository}",
        "suppository",
        "{packet}",
        "packet",
    }
)
_COUNT = COUNT_UNITS | _MORE_COUNT_UNITS
_INTERNATIONAL_UNITS: frozenset[str] = frozenset(
    {"[iu]", "iu", "[iu]/d", "u", "unt", "unit", "units", "international unit"}
)
_DAYS: dict[str, Fraction] = {
    "s": Fraction(1, 86400),
    "min": Fraction(1, 1440),
    "h": Fraction(1, 24),
    "hr": Fraction(1, 24),
    "hour": Fraction(1, 24),
    "hours": Fraction(1, 24),
    "d": Fraction(1),
    "day": Fraction(1),
    "days": Fraction(1),
    "wk": Fraction(7),
    "week": Fraction(7),
    "weeks": Fraction(7),
    "mo": Fraction("30.4375"),  # UCUM mean Julian month
    "month": Fraction("30.4375"),
    "months": Fraction("30.4375"),
    "a": Fraction("365.25"),
    "year": Fraction("365.25"),
    "years": Fraction("365.25"),
}


def _fold(unit: str) -> str:
    return unit.strip().replace("\u00b5", "u").replace("\u03bc", "u").lower()


def mg_factor(unit: str | None) -> Decimal | None:
    """mg per one of `unit` (mass units only)."""
    return _MASS_MG.get(_fold(unit)) if unit else None


def ml_factor(unit: str | None) -> Decimal | None:
    return _VOLUME_ML.get(_fold(unit)) if unit else None


def is_count(unit: str | None) -> bool:
    return bool(unit) and _fold(unit or "") in _COUNT


def is_international_units(unit: str | None) -> bool:
    return bool(unit) and _fold(unit or "") in _INTERNATIONAL_UNITS


def days_per(unit: str | None) -> Fraction | None:
    """Days in one `unit` (UCUM periodUnit codes and spelled-out forms)."""
    if not unit:
        return None
    return _DAYS.get(unit.strip()) or _DAYS.get(_fold(unit))


def plain_decimal(value: Decimal) -> str:
    """70 -> "70", 0.040 -> "0.04": for text a clinician reads."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def clean_decimal(value: Decimal) -> Decimal:
    """70.0 -> 70, 0.040 -> 0.04; never an exponent (Decimal.normalize alone turns 70 into 7E+1)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()
