"""C-07 glucocorticoid exposure, C-08 FRAX adjustment, GC-01 ACR categories."""

from __future__ import annotations

from decision_core import assess
from decision_core.assessment import AcrCategory
from decision_core.facts import BoneSite, DrugClass, FractureSite, MedicationStatus, Sex
from decision_core.frax_assessment import FraxAdjustment
from decision_core.glucocorticoids import prednisone_equivalent
from decision_core.recommendation import ActionKind, Indicator

from .builders import (
    NOW,
    D,
    alendronate,
    by_id,
    days_ago,
    fracture,
    frax,
    hip_study,
    med,
    months_ago,
    patient,
    prednisone,
    run,
    study,
    z,
)


def test_prednisone_equivalents() -> None:
    dex = med(DrugClass.GLUCOCORTICOID, "dexamethasone", dose="0.75")
    assert prednisone_equivalent(dex) == D(5)
    hc = med(DrugClass.GLUCOCORTICOID, "hydrocortisone", dose="20")
    assert prednisone_equivalent(hc) == D(5)
    mp = med(DrugClass.GLUCOCORTICOID, "methylprednisolone", dose="4")
    assert prednisone_equivalent(mp) == D(5)


def test_exposure_qualifies_at_2_5_mg_and_90_days() -> None:
    def gc(mg: str, days: int):
        return assess(patient(meds=[prednisone(mg, days_ago(days))]), NOW).gc

    assert gc("2.5", 90).qualifies
    assert not gc("2.49", 90).qualifies
    assert not gc("2.5", 89).qualifies


def test_planned_duration_counts() -> None:
    started = assess(patient(meds=[prednisone("10", days_ago(10), planned_days=90)]), NOW).gc
    assert started.qualifies and started.gc_days == 90
    planned = assess(patient(meds=[prednisone("10", None, status=MedicationStatus.PLANNED, planned_days=120)]), NOW).gc
    assert planned.qualifies


def test_inactive_for_more_than_30_days_does_not_qualify() -> None:
    old = prednisone("10", months_ago(12), end=days_ago(31), status=MedicationStatus.COMPLETED)
    assert not assess(patient(meds=[old]), NOW).gc.qualifies
    recent = prednisone("10", months_ago(12), end=days_ago(30), status=MedicationStatus.COMPLETED)
    assert assess(patient(meds=[recent]), NOW).gc.qualifies


def test_inhaled_and_budesonide_excluded() -> None:
    inhaled = med(DrugClass.GLUCOCORTICOID, "fluticasone", start=months_ago(12), route="inhaled", pred_eq="10")
    bud = med(DrugClass.GLUCOCORTICOID, "budesonide", start=months_ago(12), route="oral", dose="9")
    assert not assess(patient(meds=[inhaled, bud]), NOW).gc.qualifies


def test_glucocorticoid_without_dose_is_a_data_issue() -> None:
    nodose = med(DrugClass.GLUCOCORTICOID, "prednisone", start=months_ago(6), route="oral")
    recs = by_id(run(patient(meds=[nodose])))
    assert "GC-01" not in recs
    assert recs["DATA-03"].values["first_reason"] == "no dose recorded"


def test_taper_is_one_continuous_course() -> None:
    meds = [
        prednisone("20", months_ago(4), end=months_ago(2), status=MedicationStatus.COMPLETED),
        prednisone("5", months_ago(2)),
    ]
    gc = assess(patient(meds=meds), NOW).gc
    assert gc.qualifies and gc.gc_dose == D(5)
    assert gc.gc_days >= 110


def test_frax_adjustment_only_above_7_5() -> None:
    facts = lambda mg, gc_input=None: patient(  # noqa: E731
        studies=[hip_study(months_ago(3), "-1.8")],
        fraxes=[frax(months_ago(1), "18", "2.6", gc_input)],
        meds=[prednisone(mg, months_ago(6))],
    )
    at = assess(facts("7.5"), NOW).frax.valid
    assert at.adjustment == FraxAdjustment.NOT_APPLIED_DOSE and at.mof == D(18)
    above = assess(facts("7.6"), NOW).frax.valid
    assert above.adjustment == FraxAdjustment.APPLIED
    assert above.mof == D("20.70") and above.hip == D("3.120")
    assert above.mof_raw == D(18)
    no_input = assess(facts("10", gc_input=False), NOW).frax.valid
    assert no_input.adjustment == FraxAdjustment.NOT_APPLIED_GC_INPUT_NO and no_input.mof == D(18)
    low = assess(facts("1"), NOW).frax.valid
    assert low.mof == D(18)  # never downward


def test_gc_adjustment_can_lift_frax_to_treatment_threshold() -> None:
    meds = [prednisone("10", months_ago(6))]
    recs = by_id(
        run(
            patient(
                studies=[hip_study(months_ago(3), "-1.8")],
                fraxes=[frax(months_ago(1), "18", "2.6")],
                meds=meds,
            )
        )
    )
    assert recs["TX-01"].variant == "frax"
    assert recs["TX-01"].values["frax_mof"] == D("20.70")


def _acr(**kw) -> AcrCategory:
    meds = kw.pop("meds", [prednisone("10", months_ago(6))])
    a = assess(patient(meds=meds, **kw), NOW)
    assert a.acr is not None
    return a.acr.category


def test_acr_categories_at_40_and_over() -> None:
    assert _acr(studies=[hip_study(months_ago(3), "-3.5")]) == AcrCategory.VERY_HIGH
    assert _acr(studies=[hip_study(months_ago(3), "-3.4")]) == AcrCategory.HIGH
    assert _acr(studies=[hip_study(months_ago(3), "-2.5")]) == AcrCategory.HIGH
    assert _acr(studies=[hip_study(months_ago(3), "-2.4")]) == AcrCategory.MODERATE
    assert _acr(studies=[hip_study(months_ago(3), "-1.0")]) == AcrCategory.MODERATE  # ACR puts -1.0 in moderate
    assert _acr(studies=[hip_study(months_ago(3), "-0.9")]) == AcrCategory.NOT_ASSESSABLE  # FRAX needed
    assert _acr(studies=[hip_study(months_ago(3), "-0.9")], fraxes=[frax(months_ago(1), "5", "0.5")]) == AcrCategory.LOW
    assert (
        _acr(studies=[hip_study(months_ago(3), "-0.9")], fraxes=[frax(months_ago(1), "9", "1.1")])
        == AcrCategory.MODERATE
    )
    assert _acr() == AcrCategory.NOT_ASSESSABLE
    assert _acr(fractures=[fracture(FractureSite.VERTEBRAL, months_ago(20))]) == AcrCategory.VERY_HIGH


def test_acr_categories_under_40() -> None:
    young = {"age": 30, "sex": Sex.MALE}
    long_course = [prednisone("7.5", months_ago(6))]
    assert _acr(**young) == AcrCategory.NOT_ASSESSABLE
    assert (
        _acr(**young, meds=long_course, studies=[study(months_ago(2), z(BoneSite.TOTAL_HIP, "-3.1"))])
        == AcrCategory.MODERATE
    )
    assert (
        _acr(**young, meds=long_course, studies=[study(months_ago(2), z(BoneSite.TOTAL_HIP, "-3.0"))])
        == AcrCategory.LOW
    )
    assert (
        _acr(
            **young,
            meds=[prednisone("30", days_ago(95))],
            studies=[study(months_ago(2), z(BoneSite.TOTAL_HIP, "-1"))],
        )
        == AcrCategory.VERY_HIGH
    )


def test_gc01_variants_and_dxa_suggestion() -> None:
    untreated = by_id(run(patient(studies=[hip_study(months_ago(14), "-2.0")], meds=[prednisone("10", months_ago(6))])))
    gc = untreated["GC-01"]
    assert gc.variant == "untreated" and gc.indicator == Indicator.WARNING
    assert gc.values["acr_category"] == "moderate"
    assert [a.kind for a in gc.actions] == [ActionKind.ORDER_DXA]
    assert "TX-03" not in untreated
    none = by_id(run(patient(meds=[prednisone("5", months_ago(4))])))["GC-01"]
    assert none.variant == "not-assessable" and none.values["needs_frax"] and none.values["needs_dxa"]
    treated = by_id(run(patient(meds=[prednisone("5", months_ago(4)), alendronate(months_ago(3))])))["GC-01"]
    assert treated.variant == "treated" and treated.indicator == Indicator.INFO


def test_gc01_no_dxa_suggestion_within_12_months() -> None:
    gc = by_id(run(patient(studies=[hip_study(months_ago(11), "-2.0")], meds=[prednisone("10", months_ago(6))])))[
        "GC-01"
    ]
    assert gc.values["needs_dxa"] is False and not gc.actions


def test_gc01_young_woman_is_not_given_t_score_categories() -> None:
    gc = by_id(run(patient(age=45, meds=[prednisone("10", months_ago(6))], studies=[hip_study(months_ago(3), "-2.7")])))
    assert gc["GC-01"].values["age_column"] == "<40"
    assert "TX-01" not in gc and "DX-01" not in gc


def test_acr_over_90_does_not_ask_for_frax() -> None:
    a = assess(
        patient(age=91, studies=[hip_study(months_ago(3), "-0.9")], meds=[prednisone("10", months_ago(6))]),
        NOW,
    )
    assert a.acr is not None and a.acr.category == AcrCategory.LOW and not a.acr.needs_frax
    b = assess(
        patient(age=90, studies=[hip_study(months_ago(3), "-0.9")], meds=[prednisone("10", months_ago(6))]),
        NOW,
    )
    assert b.acr is not None and b.acr.category == AcrCategory.NOT_ASSESSABLE and b.acr.needs_frax
