"""mg per day of a recognised drug from a dose and a frequency: a mass dose as given, a count of tablets (or of
the sandbox's `1 {pill}`) x the strength per unit from the clinical-drug name, a volume x the strength per mL.
Anything else is refused with a reason, never guessed (a dose of "2" with no unit could be tablets or mg).

Prednisone equivalents are not computed here: the C-07 ratios live in the decision core
(`decision_core.glucocorticoids.PREDNISONE_EQUIVALENT_FACTORS`), keyed by the ingredient name this package
returns (`DrugRecognition.primary.name`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from .model import DrugRecognition
from .units import clean_decimal, days_per, is_count, is_international_units, mg_factor, ml_factor, plain_decimal


@dataclass(frozen=True, slots=True)
class DailyDose:
    """`mg_per_day` None means refused; `reason` says why in words a DATA-03 card can quote."""

    mg_per_day: Decimal | None
    mg_per_administration: Decimal | None
    administrations_per_day: Fraction | None
    ingredient: str | None
    reason: str | None = None
    basis: str | None = None  # "2 tablet x 5 mg x 1/day"


def daily_dose_mg(
    recognition: DrugRecognition,
    dose: Mapping[str, Any] | Decimal | int | float | str | None,
    unit: str | None = None,
    *,
    per_day: Fraction | Decimal | int | None = None,
    frequency: int | Decimal | None = None,
    period: Decimal | int | float | str | None = None,
    period_unit: str | None = None,
    ingredient: str | None = None,
) -> DailyDose:
    """mg/day of `ingredient` (default: the entry's primary ingredient, e.g. alendronate in Fosamax Plus D).

    `dose`: a FHIR Quantity (value, code, unit) or a number with `unit`. Frequency: `per_day` administrations,
    or Timing.repeat's `frequency` per `period` `period_unit` (2 per 1 d; 1 per 1 wk)."""
    iid = ingredient or recognition.primary.id
    value, units, problem = _dose(dose, unit)
    times, frequency_problem = _per_day(per_day, frequency, period, period_unit)
    if problem is not None:
        return DailyDose(None, None, times, iid, problem)
    assert value is not None
    per_admin, how, problem = _per_administration(recognition, iid, value, units)
    if per_admin is None:
        return DailyDose(None, None, times, iid, problem)
    if times is None:
        return DailyDose(None, per_admin, None, iid, frequency_problem, how)
    mg_day = clean_decimal(per_admin * Decimal(times.numerator) / Decimal(times.denominator))
    return DailyDose(mg_day, per_admin, times, iid, None, f"{how} x {_fraction_text(times)}/day")


def _dose(
    dose: Mapping[str, Any] | Decimal | int | float | str | None, unit: str | None
) -> tuple[Decimal | None, list[str], str | None]:
    if isinstance(dose, Mapping):
        raw, units = (
            dose.get("value"),
            [u for u in (dose.get("code"), dose.get("unit")) if isinstance(u, str) and u.strip()],
        )
    else:
        raw, units = dose, [unit] if unit and unit.strip() else []
    if raw is None or isinstance(raw, bool):
        return None, units, "no dose is recorded"
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None, units, f"the dose {raw!r} is not a number"
    if not value.is_finite() or value <= 0:
        return None, units, f"the dose {raw!r} is not a positive number"
    if not units:
        return None, units, f"the dose {plain_decimal(value)} has no unit (tablets or mg?)"
    kinds = {_kind(u) for u in units}
    if len(kinds) > 1:
        return None, units, f"the dose's code and unit disagree ({' / '.join(units)})"
    return value, units, None


def _kind(unit: str) -> str:
    if mg_factor(unit) is not None:
        return "mass"
    if ml_factor(unit) is not None:
        return "volume"
    if is_count(unit):
        return "count"
    if is_international_units(unit):
        return "iu"
    return f"other:{unit.strip().lower()}"


def _per_administration(
    recognition: DrugRecognition, iid: str, value: Decimal, units: list[str]
) -> tuple[Decimal | None, str | None, str | None]:
    unit = units[0]
    kind = _kind(unit)
    name = next((i.name for i in recognition.ingredients if i.id == iid), iid)
    strength = recognition.strength_of(iid)
    if kind == "mass":
        factor = mg_factor(unit)
        assert factor is not None
        mg = clean_decimal(value * factor)
        return mg, f"{plain_decimal(mg)} mg", None
    if kind == "count":
        per_unit = strength.mg_per_unit if strength is not None else None
        if per_unit is None:
            if strength is not None and strength.mg_per_ml is not None:
                return None, None, f"a count of {recognition.dose_form or 'a liquid'} needs the volume (mL) or mg"
            return None, None, f"the {name} strength per unit is not known"
        mg = clean_decimal(value * per_unit)
        return mg, f"{plain_decimal(value)} x {plain_decimal(per_unit)} mg", None
    if kind == "volume":
        factor = ml_factor(unit)
        assert factor is not None
        per_ml = strength.mg_per_ml if strength is not None else None
        if per_ml is None:
            return None, None, f"the {name} strength per mL is not known"
        ml = value * factor
        mg = clean_decimal(ml * per_ml)
        return mg, f"{plain_decimal(ml)} mL x {plain_decimal(per_ml)} mg/mL", None
    if kind == "iu":
        return None, None, "the dose is in international units, not a mass"
    return None, None, f"a dose in {unit!r} cannot be converted to mg"


def _per_day(
    per_day: Fraction | Decimal | int | None,
    frequency: int | Decimal | None,
    period: Decimal | int | float | str | None,
    period_unit: str | None,
) -> tuple[Fraction | None, str | None]:
    if per_day is not None:
        times = Fraction(per_day)
        return (times, None) if times > 0 else (None, "the frequency is not positive")
    if frequency is None and period is None:
        return None, "no frequency is recorded"
    days = days_per(period_unit) if period_unit else (Fraction(1) if period is None else None)
    if days is None:
        return None, f"the period unit {period_unit!r} is not a time unit"
    try:
        length = Fraction(str(period)) if period is not None else Fraction(1)
        count = Fraction(str(frequency)) if frequency is not None else Fraction(1)
    except (ValueError, ZeroDivisionError):
        return None, "the frequency is not a number"
    if length <= 0 or count <= 0:
        return None, "the frequency is not positive"
    return count / (length * days), None


def _fraction_text(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
