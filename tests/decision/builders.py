"""Small builders for PatientFacts, so each test states only what matters to it."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from decision_core import evaluate
from decision_core.conformance import assert_conforms
from decision_core.facts import (
    Analyte,
    BoneSite,
    ConditionFact,
    DataIssue,
    DrugClass,
    DxaMeasurement,
    DxaStudy,
    Fracture,
    FractureSite,
    FraxResult,
    LabResult,
    Lifestyle,
    MedicationExposure,
    MedicationSource,
    MedicationStatus,
    MenopauseStatus,
    PatientFacts,
    PlannedProcedure,
    ScoreKind,
    Sex,
    Side,
)
from decision_core.recommendation import ActionKind, Recommendation

NOW = date(2026, 3, 1)
_ids = itertools.count(1)

CANONICAL_UNIT = {
    Analyte.VITAMIN_D_25OH: "ng/mL",
    Analyte.CALCIUM: "mg/dL",
    Analyte.ALBUMIN: "g/dL",
    Analyte.PHOSPHATE: "mg/dL",
    Analyte.EGFR: "mL/min/{1.73_m2}",
    Analyte.ALP: "U/L",
    Analyte.TSH: "mIU/L",
    Analyte.TESTOSTERONE: "ng/dL",
    Analyte.CREATININE: "mg/dL",
    Analyte.CT_HU: "[hnsf'U]",
    Analyte.PTH: "pg/mL",
}


def rid(prefix: str = "Observation") -> str:
    return f"{prefix}/{next(_ids)}"


def D(x: str | int | float) -> Decimal:
    return Decimal(str(x))


def months_ago(n: int, today: date = NOW) -> date:
    from decision_core.dates import add_months

    return add_months(today, -n)


def days_ago(n: int, today: date = NOW) -> date:
    return today - timedelta(days=n)


def born(age: int, today: date = NOW) -> date:
    """A birth date giving exactly `age` whole years on `today` (birthday today)."""
    return date(today.year - age, today.month, today.day)


# --- DXA ---
def t(site: BoneSite, value: str, side: Side | None = None, vertebrae: tuple[str, ...] = ()) -> DxaMeasurement:
    return DxaMeasurement(ScoreKind.T, site, D(value), date.min, rid(), side=side, vertebrae=vertebrae)


def z(site: BoneSite, value: str, side: Side | None = None, vertebrae: tuple[str, ...] = ()) -> DxaMeasurement:
    return DxaMeasurement(ScoreKind.Z, site, D(value), date.min, rid(), side=side, vertebrae=vertebrae)


def study(day: date, *measurements: DxaMeasurement) -> DxaStudy:
    return DxaStudy(day, tuple(replace(m, effective=day) for m in measurements))


def hip_study(day: date, value: str) -> DxaStudy:
    return study(day, t(BoneSite.TOTAL_HIP, value))


# --- FRAX, fractures, conditions ---
def frax(day: date, mof: str | None = None, hip: str | None = None, gc_input: bool | None = None) -> FraxResult:
    return FraxResult(
        day,
        (rid(),),
        D(mof) if mof is not None else None,
        D(hip) if hip is not None else None,
        glucocorticoid_input=gc_input,
    )


def fracture(site: FractureSite, onset: date | None, coded: bool = False, low_trauma: bool | None = None) -> Fracture:
    return Fracture(site, onset, rid("Condition"), f"{site} fracture", coded, low_trauma)


def condition(concept: str, onset: date | None = None, active: bool = True) -> ConditionFact:
    return ConditionFact(concept, rid("Condition"), concept.replace("-", " "), onset, active)


# --- medications ---
def med(
    drug_class: DrugClass,
    drug: str,
    status: MedicationStatus = MedicationStatus.ACTIVE,
    source: MedicationSource = MedicationSource.STATEMENT,
    start: date | None = None,
    end: date | None = None,
    administrations: Iterable[date] = (),
    route: str | None = None,
    dose: str | None = None,
    pred_eq: str | None = None,
    planned_days: int | None = None,
) -> MedicationExposure:
    return MedicationExposure(
        drug_class=drug_class,
        drug=drug,
        status=status,
        source=source,
        record=rid(source.value),
        display=drug,
        start=start,
        end=end,
        administrations=tuple(administrations),
        route=route,
        dose_mg_per_day=D(dose) if dose is not None else None,
        prednisone_eq_mg_per_day=D(pred_eq) if pred_eq is not None else None,
        planned_days=planned_days,
    )


def alendronate(start: date, end: date | None = None, status: MedicationStatus = MedicationStatus.ACTIVE):
    return med(DrugClass.BISPHOSPHONATE_ORAL, "alendronate", status=status, start=start, end=end, route="oral")


def denosumab(*doses: date, status: MedicationStatus = MedicationStatus.ACTIVE) -> MedicationExposure:
    return med(
        DrugClass.DENOSUMAB,
        "denosumab",
        status=status,
        source=MedicationSource.ADMINISTRATION,
        start=doses[0] if doses else None,
        administrations=doses,
        route="subcutaneous",
    )


def zoledronic(*doses: date) -> MedicationExposure:
    return med(
        DrugClass.ZOLEDRONIC_ACID,
        "zoledronic acid",
        status=MedicationStatus.COMPLETED,
        source=MedicationSource.ADMINISTRATION,
        start=doses[0] if doses else None,
        administrations=doses,
        route="intravenous",
    )


def prednisone(mg: str, start: date | None, end: date | None = None, status=MedicationStatus.ACTIVE, planned_days=None):
    return med(
        DrugClass.GLUCOCORTICOID,
        "prednisone",
        status=status,
        start=start,
        end=end,
        route="oral",
        dose=mg,
        pred_eq=mg,
        planned_days=planned_days,
    )


# --- labs ---
def lab(
    analyte: Analyte,
    value: str | None,
    day: date = NOW,
    unit: str | type | None = ...,  # type: ignore[assignment]
    original_value: str | None = None,
    original_unit: str | None = None,
    reference_low: str | None = None,
) -> LabResult:
    if unit is ...:
        unit = CANONICAL_UNIT.get(analyte)
    return LabResult(
        analyte=analyte,
        effective=day,
        record=rid(),
        code="http://loinc.org|x",
        value=D(value) if value is not None else None,
        unit=unit,  # type: ignore[arg-type]
        original_value=D(original_value) if original_value is not None else None,
        original_unit=original_unit,
        reference_low=D(reference_low) if reference_low is not None else None,
    )


def gate_labs(day: date = NOW, egfr: str = "80", vitd: str = "35", ca: str = "9.4", albumin: str = "4.0"):
    """Pre-treatment labs that pass every TX-01 gate (override one to fail it)."""
    return (
        lab(Analyte.EGFR, egfr, day),
        lab(Analyte.VITAMIN_D_25OH, vitd, day),
        lab(Analyte.CALCIUM, ca, day),
        lab(Analyte.ALBUMIN, albumin, day),
    )


def core_labs(day: date = NOW, male: bool = False, **gates: str) -> tuple[LabResult, ...]:
    """Every LAB-01 core lab present (so LAB-01 stays quiet)."""
    rest = (
        lab(Analyte.CBC, None, day),
        lab(Analyte.PHOSPHATE, "3.5", day),
        lab(Analyte.ALP, "80", day),
        lab(Analyte.TSH, "1.5", day),
    )
    extra = (lab(Analyte.TESTOSTERONE, "500", day),) if male else ()
    return gate_labs(day, **gates) + rest + extra


# --- patient ---
def patient(
    age: int | None = 65,
    sex: Sex = Sex.FEMALE,
    menopause: MenopauseStatus = MenopauseStatus.UNKNOWN,
    studies: Iterable[DxaStudy] = (),
    fraxes: Iterable[FraxResult] = (),
    fractures: Iterable[Fracture] = (),
    meds: Iterable[MedicationExposure] = (),
    labs: Iterable[LabResult] = (),
    conditions: Iterable[ConditionFact] = (),
    lifestyle: Lifestyle | None = None,
    procedures: Iterable[PlannedProcedure] = (),
    issues: Iterable[DataIssue] = (),
    unavailable: Iterable[str] = (),
    partial: Iterable[str] = (),
    today: date = NOW,
    birth_date: date | None = None,
) -> PatientFacts:
    return PatientFacts(
        birth_date=birth_date if birth_date is not None else (born(age, today) if age is not None else None),
        sex=sex,
        menopause=menopause,
        dxa_studies=tuple(sorted(studies, key=lambda s: s.date, reverse=True)),
        frax=tuple(sorted(fraxes, key=lambda f: f.effective, reverse=True)),
        fractures=tuple(fractures),
        conditions=tuple(conditions),
        medications=tuple(meds),
        labs=tuple(sorted(labs, key=lambda x: x.effective, reverse=True)),
        lifestyle=lifestyle or Lifestyle(),
        planned_procedures=tuple(procedures),
        data_issues=tuple(issues),
        unavailable=frozenset(unavailable),
        partial=frozenset(partial),
    )


def run(facts: PatientFacts, today: date = NOW) -> list[Recommendation]:
    """Evaluate, and check every recommendation against RULE_SPECS on the way."""
    recs = evaluate(facts, today)
    assert_conforms(recs)
    return recs


def ids(recs: list[Recommendation]) -> set[tuple[str, str]]:
    return {(r.rule_id, str(r.indicator)) for r in recs}


def rule_ids(recs: list[Recommendation]) -> set[str]:
    return {r.rule_id for r in recs}


def by_id(recs: list[Recommendation]) -> dict[str, Recommendation]:
    return {r.rule_id: r for r in recs}


def action_kinds(recs: list[Recommendation]) -> set[ActionKind]:
    return {a.kind for r in recs for a in r.actions}


def has_action(recs: list[Recommendation], kind: ActionKind) -> bool:
    return kind in action_kinds(recs)
