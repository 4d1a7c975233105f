"""C-05 fractures, C-06 therapy state, C-08 FRAX validity, C-10 risk tier, bone-health context."""

from __future__ import annotations

import time

from decision_core import assess, evaluate
from decision_core.assessment import RiskTier
from decision_core.facts import (
    ConditionConcept,
    DrugClass,
    FractureSite,
    MedicationSource,
    MedicationStatus,
    MenopauseStatus,
    Sex,
)
from decision_core.fractures import FragilityBasis

from .builders import (
    NOW,
    alendronate,
    condition,
    core_labs,
    denosumab,
    fracture,
    frax,
    hip_study,
    med,
    months_ago,
    patient,
    prednisone,
    zoledronic,
)


# --- C-05 ---
def _fragility(*fx, age: int = 70):
    return assess(patient(age=age, fractures=fx), NOW).fractures


def test_fragility_classification() -> None:
    presumed = _fragility(fracture(FractureSite.HIP, months_ago(20)))
    assert presumed.fragility[0].basis == FragilityBasis.PRESUMED
    assert not _fragility(fracture(FractureSite.HIP, months_ago(20), low_trauma=False)).fragility
    assert _fragility(fracture(FractureSite.HIP, months_ago(20), coded=True, low_trauma=False)).fragility
    assert not _fragility(fracture(FractureSite.DISTAL_FOREARM, months_ago(20))).fragility  # mechanism unknown
    assert _fragility(fracture(FractureSite.DISTAL_FOREARM, months_ago(20), low_trauma=True)).fragility
    assert not _fragility(fracture(FractureSite.OTHER, months_ago(20))).fragility
    assert _fragility(fracture(FractureSite.OTHER, months_ago(20), coded=True)).fragility
    assert not _fragility(fracture(FractureSite.EXCLUDED, months_ago(20), coded=True)).fragility


def test_fracture_age_limits() -> None:
    at_39 = _fragility(fracture(FractureSite.VERTEBRAL, months_ago(12 * 31)), age=70)
    assert not at_39.fragility and at_39.mechanism_fragility  # C-05 >= 40, but GC-01 still sees it
    at_45 = _fragility(fracture(FractureSite.VERTEBRAL, months_ago(12 * 25)), age=70)
    assert at_45.fragility and not at_45.qualifying
    at_50 = _fragility(fracture(FractureSite.VERTEBRAL, months_ago(12 * 20)), age=70)
    assert at_50.qualifying
    undated = _fragility(fracture(FractureSite.VERTEBRAL, None), age=70)
    assert undated.qualifying and not undated.qualifying[0].recent


def test_recent_fracture_window() -> None:
    assert _fragility(fracture(FractureSite.HIP, months_ago(12))).fragility[0].recent
    assert not _fragility(fracture(FractureSite.HIP, months_ago(13))).fragility[0].recent


def test_fracture_on_therapy() -> None:
    a = assess(
        patient(fractures=[fracture(FractureSite.HIP, months_ago(6))], meds=[alendronate(months_ago(30))]),
        NOW,
    )
    assert a.fractures.fragility[0].on_therapy
    b = assess(
        patient(fractures=[fracture(FractureSite.HIP, months_ago(40))], meds=[alendronate(months_ago(30))]),
        NOW,
    )
    assert not b.fractures.fragility[0].on_therapy


# --- C-06 ---
def test_treatment_naive_and_ordered() -> None:
    assert assess(patient(), NOW).therapy.naive
    planned = med(DrugClass.DENOSUMAB, "denosumab", status=MedicationStatus.PLANNED, source=MedicationSource.REQUEST)
    a = assess(patient(meds=[planned]), NOW)
    assert a.therapy.naive and a.therapy.ordered and not a.therapy.on_therapy
    given = assess(patient(meds=[denosumab(months_ago(30))]), NOW)
    assert not given.therapy.naive


def test_active_request_with_dose_after_it_is_not_pending() -> None:
    request = med(DrugClass.DENOSUMAB, "denosumab", source=MedicationSource.REQUEST, start=months_ago(13))
    a = assess(patient(meds=[request, denosumab(months_ago(12), months_ago(6))]), NOW)
    assert not a.therapy.ordered


def test_denosumab_state() -> None:
    d = assess(patient(meds=[denosumab(months_ago(13), months_ago(7))]), NOW).therapy.denosumab
    assert d.last_dose == months_ago(7) and d.due == months_ago(1) and d.current and d.months_since_last_dose == 7
    on_hold = assess(patient(meds=[denosumab(months_ago(3), status=MedicationStatus.ON_HOLD)]), NOW)
    assert on_hold.therapy.denosumab.marked_stopped


def test_zoledronic_current_for_15_months() -> None:
    assert assess(patient(meds=[zoledronic(months_ago(15))]), NOW).therapy.on_therapy
    assert not assess(patient(meds=[zoledronic(months_ago(16))]), NOW).therapy.on_therapy


# --- C-08 ---
def test_frax_invalid_reasons() -> None:
    def note(**kw) -> str | None:
        reading = assess(patient(**kw), NOW).frax.latest
        return reading.invalid_reason if reading else None

    dxa = [hip_study(months_ago(3), "-1.8")]
    assert note(studies=dxa, fraxes=[frax(months_ago(1), "12", "1")]) is None
    assert note(studies=[hip_study(months_ago(30), "-1.8")], fraxes=[frax(months_ago(25), "12", "1")]) == (
        "older than 24 months"
    )
    assert note(studies=dxa, fraxes=[frax(months_ago(4), "12", "1")]) == "older than the latest DXA"
    treated = [alendronate(months_ago(12), end=months_ago(0), status=MedicationStatus.STOPPED)]
    assert note(studies=dxa, fraxes=[frax(months_ago(1), "12", "1")], meds=treated) == (
        "calculated while on osteoporosis therapy"
    )
    assert note(studies=dxa, fraxes=[frax(months_ago(1))]) == "no MOF or hip probability recorded"


# --- C-10 and the bone-health context ---
def _tier(**kw) -> RiskTier | None:
    return assess(patient(**kw), NOW).risk_tier


def test_risk_tiers() -> None:
    assert _tier(meds=[denosumab(months_ago(8))]) == RiskTier.DMAB_LAPSE
    assert _tier(studies=[hip_study(months_ago(3), "-3.2")]) == RiskTier.VERY_HIGH
    assert _tier(studies=[hip_study(months_ago(3), "-2.6")]) == RiskTier.HIGH
    assert _tier(studies=[hip_study(months_ago(3), "-1.6")], fraxes=[frax(months_ago(1), "8", "1")]) == RiskTier.BELOW
    assert _tier(studies=[hip_study(months_ago(3), "-1.6")]) == RiskTier.INDETERMINATE
    assert _tier(studies=[hip_study(months_ago(30), "-0.5")]) == RiskTier.INDETERMINATE
    assert _tier(studies=[hip_study(months_ago(3), "-0.5")]) == RiskTier.NORMAL
    assert _tier(age=40) is None


def test_bone_health_context() -> None:
    assert not assess(patient(studies=[hip_study(months_ago(3), "-0.5")]), NOW).bhc
    assert assess(patient(meds=[prednisone("5", months_ago(4))]), NOW).bhc_reasons == ("glucocorticoid",)
    assert assess(patient(conditions=[condition(ConditionConcept.OSTEOPENIA)]), NOW).bhc_reasons == ("coded-diagnosis",)
    young = assess(
        patient(
            age=40,
            sex=Sex.FEMALE,
            menopause=MenopauseStatus.PREMENOPAUSAL,
            studies=[hip_study(months_ago(3), "-2.8")],
        ),
        NOW,
    )
    assert not young.bhc  # T-scores are not interpreted for YOUNG


def test_evaluation_is_fast() -> None:
    facts = patient(
        studies=[hip_study(months_ago(3), "-2.1"), hip_study(months_ago(27), "-2.6")],
        fraxes=[frax(months_ago(1), "15", "2")],
        fractures=[fracture(FractureSite.DISTAL_FOREARM, months_ago(30), low_trauma=True)],
        meds=[prednisone("10", months_ago(6)), denosumab(months_ago(20), months_ago(14))],
        labs=core_labs(),
    )
    evaluate(facts, NOW)
    start = time.perf_counter()
    for _ in range(50):
        evaluate(facts, NOW)
    per_call_ms = (time.perf_counter() - start) / 50 * 1000
    assert per_call_ms < 10, per_call_ms
