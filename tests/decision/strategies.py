"""Hypothesis strategies for random but plausible PatientFacts, biased towards the thresholds."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from decision_core.facts import (
    Analyte,
    BoneSite,
    ConditionConcept,
    ConditionFact,
    DataDomain,
    DataIssue,
    DrugClass,
    DxaMeasurement,
    DxaStudy,
    Fracture,
    FractureSite,
    FraxResult,
    IssueKind,
    LabResult,
    Lifestyle,
    Measured,
    MedicationExposure,
    MedicationSource,
    MedicationStatus,
    MenopauseStatus,
    PatientFacts,
    PlannedProcedure,
    ScoreKind,
    Sex,
    Side,
    SmokingStatus,
)

from .builders import CANONICAL_UNIT, NOW, rid

DOMAINS = ("labs", "medications", "conditions", "frax", "dxa", "procedures")
# True about one time in five (st.integers(0, 4) == 0 would be true far more often: Hypothesis favours 0).
RARELY = st.sampled_from([False, False, False, False, True])
GOOD_PANEL = {
    Analyte.EGFR: "60",
    Analyte.VITAMIN_D_25OH: "35",
    Analyte.CALCIUM: "9.4",
    Analyte.ALBUMIN: "4.0",
    Analyte.TSH: "1.2",
}


def decimals(boundaries: list[str], low: str, high: str, places: int = 2) -> st.SearchStrategy[Decimal]:
    """Mostly the boundary values (and their neighbours), sometimes anything in range."""
    return st.one_of(
        st.sampled_from([Decimal(b) for b in boundaries]),
        st.decimals(Decimal(low), Decimal(high), places=places, allow_nan=False, allow_infinity=False),
    )


def days_before(max_days: int) -> st.SearchStrategy[date]:
    return st.integers(0, max_days).map(lambda n: NOW - timedelta(days=n))


DIAGNOSTIC_SITES = {
    BoneSite.LUMBAR_SPINE,
    BoneSite.TOTAL_HIP,
    BoneSite.FEMORAL_NECK,
    BoneSite.FEMUR,
    BoneSite.RADIUS_33,
}
T_VALUES = ["-1.0", "-1.01", "-2.0", "-2.49", "-2.5", "-3.0", "-3.01", "-3.5", "-6.0", "-6.1", "0.5"]
Z_VALUES = ["-2.0", "-1.99", "-3.0", "-3.01", "0.0"]


@st.composite
def measurements(draw: st.DrawFn) -> DxaMeasurement:
    kind = draw(st.sampled_from([ScoreKind.T, ScoreKind.T, ScoreKind.Z, ScoreKind.BMD]))
    site = draw(st.one_of(st.sampled_from(sorted(DIAGNOSTIC_SITES)), st.sampled_from(list(BoneSite))))
    value = draw(decimals(T_VALUES if kind != ScoreKind.Z else Z_VALUES, "-7", "3"))
    vertebrae = (
        draw(st.sampled_from([(), ("L1",), ("L1", "L2"), ("L2", "L4")])) if site == BoneSite.LUMBAR_SPINE else ()
    )
    side = draw(st.sampled_from([None, Side.LEFT, Side.RIGHT]))
    return DxaMeasurement(kind, site, value, date.min, rid(), side=side, vertebrae=vertebrae)


@st.composite
def dxa_studies(draw: st.DrawFn) -> tuple[DxaStudy, ...]:
    offsets = draw(
        st.lists(
            st.one_of(st.sampled_from([0, 330, 365, 366, 730, 731, 760]), st.integers(0, 800), st.integers(0, 4000)),
            max_size=3,
            unique=True,
        )
    )
    studies = []
    for offset in sorted(offsets):
        day = NOW - timedelta(days=offset)
        ms = draw(st.lists(measurements(), min_size=1, max_size=4))
        studies.append(
            DxaStudy(
                day,
                tuple(DxaMeasurement(m.kind, m.site, m.value, day, m.record, m.side, m.vertebrae) for m in ms),
            )
        )
    return tuple(studies)


@st.composite
def frax_results(draw: st.DrawFn) -> FraxResult:
    mof = draw(
        st.one_of(st.none(), decimals(["9.99", "10", "17.4", "19.99", "20", "29.99", "30", "30.01"], "1", "60", 1))
    )
    hip = draw(st.one_of(st.none(), decimals(["1", "1.01", "2.5", "2.99", "3", "4.5", "4.51"], "0", "15", 2)))
    return FraxResult(
        draw(st.one_of(days_before(400), days_before(1500))),
        (rid(),),
        mof,
        hip,
        glucocorticoid_input=draw(st.sampled_from([None, True, False])),
    )


@st.composite
def fractures(draw: st.DrawFn) -> Fracture:
    return Fracture(
        site=draw(st.sampled_from(list(FractureSite))),
        onset=draw(st.one_of(st.none(), days_before(20000))),
        record=rid("Condition"),
        display="fracture",
        coded_osteoporotic=draw(st.booleans()),
        low_trauma=draw(st.sampled_from([None, True, False])),
    )


_DRUGS = {
    DrugClass.BISPHOSPHONATE_ORAL: ["alendronate", "risedronate"],
    DrugClass.ZOLEDRONIC_ACID: ["zoledronic acid"],
    DrugClass.DENOSUMAB: ["denosumab"],
    DrugClass.ANABOLIC: ["teriparatide"],
    DrugClass.SERM: ["raloxifene"],
    DrugClass.ESTROGEN: ["estradiol"],
    DrugClass.CALCIUM: ["calcium carbonate"],
    DrugClass.VITAMIN_D: ["cholecalciferol"],
    DrugClass.GLUCOCORTICOID: ["prednisone", "methylprednisolone", "dexamethasone", "budesonide"],
    DrugClass.AROMATASE_INHIBITOR: ["anastrozole"],
}


def _exposure(drug_class: DrugClass, drug: str, **kw: object) -> MedicationExposure:
    source = kw.pop("source", MedicationSource.STATEMENT)
    return MedicationExposure(
        drug_class, drug, kw.pop("status", MedicationStatus.ACTIVE), source, rid(source.value), drug, **kw
    )  # type: ignore[arg-type]


@st.composite
def continuous_drug(draw: st.DrawFn) -> MedicationExposure:
    drug_class = draw(
        st.sampled_from(
            [DrugClass.BISPHOSPHONATE_ORAL] * 3
            + [DrugClass.CALCIUM, DrugClass.VITAMIN_D, DrugClass.ESTROGEN, DrugClass.SERM, DrugClass.ANABOLIC]
            + [DrugClass.AROMATASE_INHIBITOR]
        )
    )
    drug = draw(st.sampled_from(_DRUGS[drug_class]))
    start = draw(
        st.one_of(
            st.none(),
            st.sampled_from([1799, 1800, 1827, 1828]).map(lambda n: NOW - timedelta(days=n)),
            days_before(3000),
        )
    )
    status = draw(st.sampled_from([MedicationStatus.ACTIVE] * 3 + list(MedicationStatus)))
    end = draw(st.one_of(st.none(), st.none(), days_before(1500)))
    if start is not None and end is not None and end < start:
        start, end = end, start
    source = draw(st.sampled_from(list(MedicationSource)))
    return _exposure(drug_class, drug, status=status, source=source, start=start, end=end, route="oral")


@st.composite
def dosed_drug(draw: st.DrawFn) -> MedicationExposure:
    drug_class = draw(st.sampled_from([DrugClass.DENOSUMAB, DrugClass.DENOSUMAB, DrugClass.ZOLEDRONIC_ACID]))
    interval = 182 if drug_class == DrugClass.DENOSUMAB else 365
    last = draw(
        st.one_of(st.sampled_from([150, 151, 181, 182, 183, 184, 212, 213, 214, 215, 455, 456]), st.integers(0, 900))
    )
    count = draw(st.integers(1, 6))
    doses = tuple(NOW - timedelta(days=last + interval * i) for i in range(count))
    status = draw(
        st.sampled_from(
            [
                MedicationStatus.ACTIVE,
                MedicationStatus.ACTIVE,
                MedicationStatus.STOPPED,
                MedicationStatus.COMPLETED,
                MedicationStatus.ON_HOLD,
                MedicationStatus.UNKNOWN,
            ]
        )
    )
    source = draw(st.sampled_from([MedicationSource.ADMINISTRATION, MedicationSource.STATEMENT]))
    if draw(st.integers(0, 5)) == 0:
        doses = ()  # listed without any dose date
    return _exposure(
        drug_class,
        _DRUGS[drug_class][0],
        status=status,
        source=source,
        start=doses[-1] if doses else None,
        administrations=doses,
    )


@st.composite
def ordered_drug(draw: st.DrawFn) -> MedicationExposure:
    drug_class = draw(st.sampled_from([DrugClass.DENOSUMAB, DrugClass.ZOLEDRONIC_ACID, DrugClass.BISPHOSPHONATE_ORAL]))
    planned = draw(st.booleans())
    return _exposure(
        drug_class,
        _DRUGS[drug_class][0],
        status=MedicationStatus.PLANNED if planned else MedicationStatus.ACTIVE,
        source=MedicationSource.REQUEST,
        start=draw(st.one_of(st.none(), days_before(60))),
    )


@st.composite
def glucocorticoid(draw: st.DrawFn) -> MedicationExposure:
    drug = draw(st.sampled_from(_DRUGS[DrugClass.GLUCOCORTICOID]))
    pred_eq = draw(
        st.one_of(
            st.none(),
            decimals(["1", "2.49", "2.5", "5", "7.5", "7.51", "10", "29.9", "30", "60"], "0.5", "80", 2),
        )
    )
    start = draw(
        st.one_of(
            st.none(),
            st.sampled_from([29, 30, 31, 89, 90, 183]).map(lambda n: NOW - timedelta(days=n)),
            days_before(900),
        )
    )
    return _exposure(
        DrugClass.GLUCOCORTICOID,
        drug,
        status=draw(
            st.sampled_from([MedicationStatus.ACTIVE] * 3 + [MedicationStatus.COMPLETED, MedicationStatus.PLANNED])
        ),
        start=start,
        end=draw(st.one_of(st.none(), st.none(), days_before(120))),
        route=draw(st.sampled_from(["oral", "oral", None, "intravenous", "inhaled", "topical"])),
        dose_mg_per_day=pred_eq,
        prednisone_eq_mg_per_day=pred_eq if draw(st.booleans()) else None,
        planned_days=draw(st.one_of(st.none(), st.sampled_from([30, 89, 90, 180]))),
    )


def medications() -> st.SearchStrategy[MedicationExposure]:
    return st.one_of(continuous_drug(), dosed_drug(), ordered_drug(), glucocorticoid())


_LAB_VALUES = {
    Analyte.VITAMIN_D_25OH: ["11.99", "12.0", "19.99", "20.0", "29.99", "30.0", "50.0", "50.01", "45"],
    Analyte.CALCIUM: ["8.49", "8.5", "9.4", "7.9", "10.2"],
    Analyte.ALBUMIN: ["3.0", "4.0", "4.5"],
    Analyte.EGFR: ["29.99", "30", "34.99", "35", "60", "90"],
    Analyte.CT_HU: ["97.8", "97.9", "150"],
    Analyte.PHOSPHATE: ["3.5"],
    Analyte.ALP: ["80"],
    Analyte.TSH: ["1.2"],
    Analyte.TESTOSTERONE: ["400"],
    Analyte.CBC: [],
    Analyte.CREATININE: ["0.9"],
}


@st.composite
def labs(draw: st.DrawFn) -> LabResult:
    analyte = draw(st.sampled_from(list(_LAB_VALUES)))
    options = _LAB_VALUES[analyte]
    value = Decimal(draw(st.sampled_from(options))) if options else None
    unit = draw(
        st.sampled_from(
            [
                CANONICAL_UNIT.get(analyte),
                CANONICAL_UNIT.get(analyte),
                CANONICAL_UNIT.get(analyte),
                None,
                "nmol/L",
                "mmol/L",
            ]
        )
    )
    original = draw(st.sampled_from([None, "nmol/L", "ng/mL"]))
    return LabResult(
        analyte=analyte,
        effective=draw(
            st.one_of(st.sampled_from([NOW, NOW - timedelta(days=30), NOW - timedelta(days=31)]), days_before(500))
        ),
        record=rid(),
        code="http://loinc.org|x",
        value=value,
        unit=unit,
        original_value=(value * Decimal("2.496")).quantize(Decimal("0.01"))
        if value is not None and original == "nmol/L"
        else value,
        original_unit=original,
        reference_low=draw(st.sampled_from([None, Decimal("8.6")])) if analyte == Analyte.CALCIUM else None,
    )


@st.composite
def lab_panel(draw: st.DrawFn) -> list[LabResult]:
    """The pre-treatment panel drawn on one day, canonical units, values at the gates."""
    day = draw(st.one_of(st.sampled_from([NOW, NOW - timedelta(days=30), NOW - timedelta(days=366)]), days_before(400)))
    panel = []
    good = draw(st.booleans())
    for analyte in (
        Analyte.EGFR,
        Analyte.VITAMIN_D_25OH,
        Analyte.CALCIUM,
        Analyte.ALBUMIN,
        Analyte.CBC,
        Analyte.TSH,
    ):
        options = _LAB_VALUES[analyte]
        if good and analyte in GOOD_PANEL:
            panel.append(
                LabResult(
                    analyte,
                    day,
                    rid(),
                    "http://loinc.org|x",
                    Decimal(GOOD_PANEL[analyte]),
                    CANONICAL_UNIT.get(analyte),
                )
            )
            continue
        value = Decimal(draw(st.sampled_from(options))) if options else None
        panel.append(LabResult(analyte, day, rid(), "http://loinc.org|x", value, CANONICAL_UNIT.get(analyte)))
    return panel


@st.composite
def patients(draw: st.DrawFn) -> PatientFacts:
    age = draw(st.one_of(st.sampled_from([18, 39, 40, 49, 50, 64, 65, 69, 70, 71, 90, 91]), st.integers(18, 100)))
    lab_list = draw(st.lists(labs(), max_size=4)) + (draw(lab_panel()) if draw(st.booleans()) else [])
    issues: list[DataIssue] = []
    if lab_list and draw(st.booleans()):
        victim = draw(st.sampled_from(lab_list))
        issues.append(
            DataIssue(
                f"lab {victim.effective}",
                "unit 'xyz' not recognised",
                victim.record,
                kind=IssueKind.UNIT_NOT_RECOGNISED,
                domain=DataDomain.LABS,
                topic=victim.analyte,
            )
        )
    concepts = draw(st.lists(st.sampled_from(list(ConditionConcept)), max_size=3, unique=True))
    conditions = tuple(
        ConditionFact(c, rid("Condition"), str(c), draw(st.one_of(st.none(), days_before(800))), draw(st.booleans()))
        for c in concepts
    )
    procedures: tuple[PlannedProcedure, ...] = ()
    if draw(RARELY):
        planned = draw(st.one_of(st.none(), st.integers(-30, 400).map(lambda n: NOW + timedelta(days=n))))
        procedures = (PlannedProcedure("spinal-instrumentation", rid("ServiceRequest"), "Spinal fusion", planned),)
    lifestyle = Lifestyle(
        weight_kg=Measured(Decimal(draw(st.integers(40, 110))), NOW - timedelta(days=30), rid())
        if draw(st.booleans())
        else None,
        height_cm=Measured(Decimal(draw(st.integers(145, 195))), NOW - timedelta(days=30), rid())
        if draw(st.booleans())
        else None,
        smoking=draw(st.sampled_from(list(SmokingStatus))),
        alcohol_units_per_day=Measured(Decimal(draw(st.integers(0, 5))), NOW, rid()) if draw(st.booleans()) else None,
    )
    return PatientFacts(
        birth_date=date(NOW.year - age, NOW.month, NOW.day) - timedelta(days=draw(st.integers(0, 364))),
        sex=draw(st.sampled_from(list(Sex))),
        menopause=draw(st.sampled_from(list(MenopauseStatus))),
        dxa_studies=tuple(sorted(draw(dxa_studies()), key=lambda s: s.date, reverse=True)),
        frax=tuple(sorted(draw(st.lists(frax_results(), max_size=2)), key=lambda f: f.effective, reverse=True)),
        fractures=tuple(draw(st.lists(fractures(), max_size=2))),
        conditions=conditions,
        medications=tuple(draw(st.lists(medications(), max_size=3))),
        labs=tuple(sorted(lab_list, key=lambda x: x.effective, reverse=True)),
        lifestyle=lifestyle,
        planned_procedures=procedures,
        data_issues=tuple(issues),
        unavailable=frozenset(draw(st.lists(st.sampled_from(DOMAINS), max_size=2))) if draw(RARELY) else frozenset(),
        partial=frozenset(draw(st.lists(st.sampled_from(DOMAINS), max_size=2))) if draw(RARELY) else frozenset(),
    )
