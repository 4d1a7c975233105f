"""The one unit-conversion table (UCUM codes plus spellings seen in real data) and the arithmetic on it.

Arithmetic is exact (fractions.Fraction) and the result is a Decimal rounded only at the 28th significant
digit (the default Decimal context): 49.92 nmol/L -> exactly 20 ng/mL. Rules compare these full-precision
values; any rounding for display is the card layer's business. A unit is never inferred from a code: a
missing or unknown unit is reported, never guessed (decision table C-09, DATA-03)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

from decision_core.facts import Analyte
from fhir_mappings.drugs.units import COUNT_UNITS


@dataclass(frozen=True, slots=True)
class Unit:
    ucum: str
    dimension: str
    factor: Fraction  # value in this unit x factor = value in the dimension's base unit


def _u(ucum: str, dimension: str, factor: str | int = 1) -> Unit:
    return Unit(ucum, dimension, Fraction(str(factor)))


# Base units: mass-conc g/L; molar-conc mol/L; mass kg; length cm; others as listed.
_TABLE: tuple[Unit, ...] = (
    _u("g/L", "mass-conc"),
    _u("g/dL", "mass-conc", 10),
    _u("mg/dL", "mass-conc", "0.01"),
    _u("mg/L", "mass-conc", "0.001"),
    _u("ug/mL", "mass-conc", "0.001"),
    _u("ug/dL", "mass-conc", "0.00001"),
    _u("ug/L", "mass-conc", "0.000001"),
    _u("ng/mL", "mass-conc", "0.000001"),
    _u("ng/dL", "mass-conc", "0.00000001"),
    _u("ng/L", "mass-conc", "0.000000001"),
    _u("pg/mL", "mass-conc", "0.000000001"),
    _u("mol/L", "molar-conc"),
    _u("mmol/L", "molar-conc", "0.001"),
    _u("umol/L", "molar-conc", "0.000001"),
    _u("nmol/L", "molar-conc", "0.000000001"),
    _u("pmol/L", "molar-conc", "0.000000000001"),
    _u("U/L", "activity-conc"),
    _u("m[IU]/L", "arbitrary-conc"),
    _u("u[IU]/mL", "arbitrary-conc"),
    _u("m[IU]/mL", "arbitrary-conc", 1000),
    _u("mL/min/{1.73_m2}", "egfr"),
    _u("kg", "mass"),
    _u("g", "mass", "0.001"),
    _u("mg", "mass", "0.000001"),
    _u("ug", "mass", "0.000000001"),
    _u("[lb_av]", "mass", "0.45359237"),
    _u("[oz_av]", "mass", "0.028349523125"),
    _u("cm", "length"),
    _u("m", "length", 100),
    _u("mm", "length", "0.1"),
    _u("[in_i]", "length", "2.54"),
    _u("[ft_i]", "length", "30.48"),
    _u("kg/m2", "bmi"),
    _u("%", "percent"),
    _u("g/cm2", "areal-density"),
    _u("mg/cm2", "areal-density", "0.001"),
    _u("[hnsf'U]", "hounsfield"),
    _u("{drinks}/d", "drinks-per-day"),
)
_BY_UCUM: dict[str, Unit] = {u.ucum: u for u in _TABLE}

# Spellings seen in real data -> UCUM. Matched after folding case, micro signs and blanks (see _fold).
_ALIASES: dict[str, str] = {
    "ng/ml": "ng/mL",
    "ug/l": "ug/L",
    "mcg/l": "ug/L",
    "ng/dl": "ng/dL",
    "pg/ml": "pg/mL",
    "ng/l": "ng/L",
    "ug/ml": "ug/mL",
    "ug/dl": "ug/dL",
    "g/l": "g/L",
    "g/dl": "g/dL",
    "mg/dl": "mg/dL",
    "mg/l": "mg/L",
    "mol/l": "mol/L",
    "mmol/l": "mmol/L",
    "umol/l": "umol/L",
    "nmol/l": "nmol/L",
    "pmol/l": "pmol/L",
    "u/l": "U/L",
    "iu/l": "U/L",
    "[iu]/l": "U/L",
    "miu/l": "m[IU]/L",
    "m[iu]/l": "m[IU]/L",
    "uiu/ml": "u[IU]/mL",
    "u[iu]/ml": "u[IU]/mL",
    "miu/ml": "m[IU]/mL",
    "m[iu]/ml": "m[IU]/mL",
    "ml/min/{1.73_m2}": "mL/min/{1.73_m2}",
    "ml/min/1.73_m2": "mL/min/{1.73_m2}",
    "ml/min/1.73m2": "mL/min/{1.73_m2}",
    "ml/min/1.73m^2": "mL/min/{1.73_m2}",
    "ml/min/1.73m²": "mL/min/{1.73_m2}",
    "ml/min/{1.73m2}": "mL/min/{1.73_m2}",
    "ml/min/1.73.m2": "mL/min/{1.73_m2}",
    "ml/min/1.73sqm": "mL/min/{1.73_m2}",
    "ml/min/1.73sq.m": "mL/min/{1.73_m2}",
    "ml/min/bsa": "mL/min/{1.73_m2}",
    "kg": "kg",
    "kgs": "kg",
    "g": "g",
    "mg": "mg",
    "ug": "ug",
    "mcg": "ug",
    "[lb_av]": "[lb_av]",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "[oz_av]": "[oz_av]",
    "oz": "[oz_av]",
    "cm": "cm",
    "m": "m",
    "mm": "mm",
    "[in_i]": "[in_i]",
    "in": "[in_i]",
    "inch": "[in_i]",
    "inches": "[in_i]",
    "[ft_i]": "[ft_i]",
    "ft": "[ft_i]",
    "kg/m2": "kg/m2",
    "kg/m^2": "kg/m2",
    "kg/m²": "kg/m2",
    "%": "%",
    "percent": "%",
    "{percent}": "%",
    "g/cm2": "g/cm2",
    "g/cm^2": "g/cm2",
    "g/cm²": "g/cm2",
    "mg/cm2": "mg/cm2",
    # The FHIR core BMD example writes g/cm-2 (in UCUM that would be g.cm2); terminology.md G3: accept it as
    # g/cm2.
    "g/cm-2": "g/cm2",
    "[hnsf'u]": "[hnsf'U]",
    "hu": "[hnsf'U]",
    "{drinks}/d": "{drinks}/d",
    "{drink}/d": "{drinks}/d",
    "drinks/day": "{drinks}/d",
    "/d": "{drinks}/d",
}


def _fold(text: str) -> str:
    t = text.strip().replace("\u00b5", "u").replace("\u03bc", "u")  # micro sign and Greek mu
    t = re.sub(r"\s+", "", t)
    return t.lower()


def parse_unit(text: str | None) -> Unit | None:
    """A unit from a UCUM code or a common spelling; None if missing or not in the table."""
    if text is None or not text.strip():
        return None
    exact = _BY_UCUM.get(text.strip())
    if exact is not None:
        return exact
    ucum = _ALIASES.get(_fold(text))
    return _BY_UCUM.get(ucum) if ucum is not None else None


def is_annotation(text: str | None) -> bool:
    """UCUM curly-brace annotation such as {T-score}: dimensionless."""
    return bool(text) and bool(re.fullmatch(r"\{[^{}]*\}", text.strip()))  # type: ignore[union-attr]


_PRECISION = 28  # significant digits of converted values


def to_decimal(value: Fraction) -> Decimal:
    """Exact when representable, otherwise rounded at the 28th significant digit; no exponent for integers."""
    return _quotient(value.numerator, value.denominator)


def _quotient(numerator: int, denominator: int) -> Decimal:
    """to_decimal of numerator / denominator, which need not be in lowest terms: a Decimal division of integers is
    correctly rounded and its exponent follows from the value, so any ratio of the same value gives the same."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        d = Decimal(numerator) / Decimal(denominator)
    if d == d.to_integral_value() and d.adjusted() < _PRECISION:  # a larger integer has no exponent-free form here
        return d.quantize(Decimal(1))
    return d.normalize()


def convert(value: Decimal, unit: Unit, target_ucum: str) -> Decimal | None:
    """Same-dimension conversion; None when the dimensions differ."""
    target = _BY_UCUM[target_ucum]
    if unit.dimension != target.dimension:
        return None
    # value x unit.factor / target.factor in integers: the exact value, without Fraction's arithmetic (~2 us).
    n, d = value.as_integer_ratio()
    f, g = unit.factor, target.factor
    return _quotient(n * f.numerator * g.denominator, d * f.denominator * g.numerator)


# ---------------------------------------------------------------------------------------------------------
# Lab analytes: canonical unit and, for analytes reported in molar units, the mass <-> molar bridge.


@dataclass(frozen=True, slots=True)
class AnalyteUnits:
    canonical: str  # UCUM code
    bridge_from: str | None = None  # molar unit the factor is stated for
    bridge_factor: Fraction | None = None  # value[bridge_from] x factor = value[canonical]


ANALYTE_UNITS: dict[Analyte, AnalyteUnits] = {
    # C-09: 25(OH)D nmol/L / 2.496 = ng/mL; ug/L = ng/mL (same mass-conc dimension).
    Analyte.VITAMIN_D_25OH: AnalyteUnits("ng/mL", "nmol/L", 1 / Fraction("2.496")),
    # C-09: calcium mmol/L x 4.008 = mg/dL.
    Analyte.CALCIUM: AnalyteUnits("mg/dL", "mmol/L", Fraction("4.008")),
    # C-09: albumin g/L / 10 = g/dL (mass-conc scaling).
    Analyte.ALBUMIN: AnalyteUnits("g/dL"),
    # terminology.md C2: phosphate mmol/L x 3.097 = mg/dL; PTH pmol/L x 9.425 = pg/mL.
    Analyte.PHOSPHATE: AnalyteUnits("mg/dL", "mmol/L", Fraction("3.097")),
    Analyte.PTH: AnalyteUnits("pg/mL", "pmol/L", Fraction("9.425")),
    Analyte.ALP: AnalyteUnits("U/L"),
    Analyte.TSH: AnalyteUnits("m[IU]/L"),
    # terminology.md C3 (MIRACUM): creatinine umol/L x 0.01131 = mg/dL.
    Analyte.CREATININE: AnalyteUnits("mg/dL", "umol/L", Fraction("0.01131")),
    Analyte.EGFR: AnalyteUnits("mL/min/{1.73_m2}"),
    # Not in the reference notes: nmol/L x 28.84 = ng/dL from the molar mass of testosterone (288.4 g/mol).
    # Only LAB-01 (presence within 12 months) reads testosterone.
    Analyte.TESTOSTERONE: AnalyteUnits("ng/dL", "nmol/L", Fraction("28.84")),
    Analyte.CT_HU: AnalyteUnits("[hnsf'U]"),
}


def lab_to_canonical(analyte: Analyte, value: Decimal, unit: Unit) -> Decimal | None:
    """Value in the analyte's canonical unit, or None if `unit` cannot be converted for this analyte."""
    spec = ANALYTE_UNITS[analyte]
    direct = convert(value, unit, spec.canonical)
    if direct is not None:
        return direct
    if spec.bridge_from is None or spec.bridge_factor is None:
        return None
    bridge = _BY_UCUM[spec.bridge_from]
    if unit.dimension != bridge.dimension:
        return None
    n, d = value.as_integer_ratio()
    f, g, b = unit.factor, bridge.factor, spec.bridge_factor
    return _quotient(n * f.numerator * g.denominator * b.numerator, d * f.denominator * g.numerator * b.denominator)


# ---------------------------------------------------------------------------------------------------------
# Time units (timing.repeat.periodUnit, Duration) in days. UCUM mo = 30.4375 d and a = 365.25 d (Julian).

_DAYS_PER: dict[str, Fraction] = {
    "s": Fraction(1, 86400),
    "min": Fraction(1, 1440),
    "h": Fraction(1, 24),
    "d": Fraction(1),
    "wk": Fraction(7),
    "mo": Fraction("30.4375"),
    "a": Fraction("365.25"),
}
_TIME_ALIASES: dict[str, str] = {
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "minute": "min",
    "minutes": "min",
    "hour": "h",
    "hours": "h",
    "hr": "h",
    "hrs": "h",
    "day": "d",
    "days": "d",
    "week": "wk",
    "weeks": "wk",
    "month": "mo",
    "months": "mo",
    "year": "a",
    "years": "a",
    "yr": "a",
    "yrs": "a",
}


def days_per(unit: str | None) -> Fraction | None:
    if not unit:
        return None
    u = unit.strip()
    if u in _DAYS_PER:
        return _DAYS_PER[u]
    alias = _TIME_ALIASES.get(u.lower())
    return _DAYS_PER[alias] if alias else None


def is_count_unit(unit: str | None) -> bool:
    """A unit meaning "one tablet / capsule / unit of the product" in a dose quantity: dose = count x strength."""
    return unit is not None and unit.strip().lower() in COUNT_UNITS


def mass_to_mg(value: Decimal, unit_text: str | None) -> Decimal | None:
    unit = parse_unit(unit_text)
    if unit is None or unit.dimension != "mass":
        return None
    return convert(value, unit, "mg")
