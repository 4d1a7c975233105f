"""C-06 therapy state, SAFE-01, SAFE-02, SAFE-03."""

from __future__ import annotations

from datetime import timedelta

from decision_core import assess
from decision_core.facts import Analyte, DrugClass, MedicationSource, MedicationStatus
from decision_core.recommendation import ActionKind, Indicator
from decision_core.therapy import oral_bisphosphonate_months, zoledronic_infusion_count

from .builders import (
    NOW,
    alendronate,
    by_id,
    core_labs,
    days_ago,
    denosumab,
    gate_labs,
    hip_study,
    lab,
    med,
    months_ago,
    patient,
    rule_ids,
    run,
    zoledronic,
)

OSTEOPOROSIS = [hip_study(months_ago(20), "-2.7")]


def test_oral_bisphosphonate_months_merges_gaps_under_90_days() -> None:
    first = alendronate(months_ago(40), end=months_ago(20), status=MedicationStatus.COMPLETED)
    after_89_days = alendronate(months_ago(20) + timedelta(days=89))
    after_90_days = alendronate(months_ago(20) + timedelta(days=90))
    assert oral_bisphosphonate_months((first, after_89_days), NOW) == 40  # gap counted as exposure
    assert oral_bisphosphonate_months((first, after_90_days), NOW) == 20 + 17
    assert oral_bisphosphonate_months((alendronate(months_ago(60)),), NOW) == 60


def test_zoledronic_infusions_count_and_duplicates() -> None:
    meds = (zoledronic(months_ago(30), months_ago(18), months_ago(6)), zoledronic(months_ago(6)))
    assert zoledronic_infusion_count(meds, NOW) == 3


def test_current_therapy_definitions() -> None:
    assert assess(patient(meds=[zoledronic(months_ago(15))]), NOW).therapy.on_therapy
    assert not assess(patient(meds=[zoledronic(months_ago(16))]), NOW).therapy.on_therapy
    assert assess(patient(meds=[denosumab(months_ago(7))]), NOW).therapy.on_therapy
    assert not assess(patient(meds=[denosumab(months_ago(8))]), NOW).therapy.on_therapy
    stopped = alendronate(months_ago(30), end=months_ago(2), status=MedicationStatus.STOPPED)
    a = assess(patient(meds=[stopped]), NOW)
    assert not a.therapy.on_therapy and not a.therapy.naive


# --- SAFE-01 ---
def test_safe01_boundaries() -> None:
    def safe01(last_months_ago_days: tuple[int, int], **kw):
        months, extra_days = last_months_ago_days
        dose = days_ago(extra_days, months_ago(months))
        return by_id(run(patient(studies=OSTEOPOROSIS, meds=[denosumab(months_ago(12), dose, **kw)]))).get("SAFE-01")

    assert safe01((6, 0)) is None  # exactly due: not yet overdue
    warning = safe01((6, 1))
    assert warning.variant == "overdue-warning" and warning.indicator == Indicator.WARNING
    assert safe01((7, 0)).variant == "overdue-warning"  # NOW = D + 7 months
    critical = safe01((7, 1))
    assert critical.variant == "overdue-critical" and critical.indicator == Indicator.CRITICAL
    stopped = safe01((4, 0), status=MedicationStatus.STOPPED)
    assert stopped.variant == "stopped" and stopped.indicator == Indicator.INFO
    assert safe01((4, 0)) is None


def test_safe01_follow_on_bisphosphonate_silences_it() -> None:
    meds = [denosumab(months_ago(20), months_ago(14)), zoledronic(months_ago(8))]
    assert "SAFE-01" not in rule_ids(run(patient(studies=OSTEOPOROSIS, meds=meds)))
    before = [denosumab(months_ago(20), months_ago(14)), alendronate(months_ago(40), end=months_ago(30))]
    assert "SAFE-01" in rule_ids(run(patient(studies=OSTEOPOROSIS, meds=before)))


def test_safe01_supersedes_treatment_and_never_holidays_denosumab() -> None:
    recs = rule_ids(
        run(patient(studies=OSTEOPOROSIS, meds=[denosumab(months_ago(70), months_ago(10))], labs=core_labs()))
    )
    assert "SAFE-01" in recs
    assert not recs & {"TX-01", "TX-03", "RISK-01", "MON-02", "MON-03"}


def test_denosumab_without_dates_is_data03() -> None:
    listed = med(DrugClass.DENOSUMAB, "denosumab", source=MedicationSource.STATEMENT, start=None)
    recs = by_id(run(patient(studies=OSTEOPOROSIS, meds=[listed])))
    assert "SAFE-01" not in recs
    assert any("SAFE-01" in i["affects"] for i in recs["DATA-03"].values["issues"])
    assert "TX-01" not in recs  # treated as current (timing unknown): no second antiresorptive drafted


# --- SAFE-02 ---
def test_safe02_egfr_boundary() -> None:
    def fires(egfr: str) -> bool:
        facts = patient(studies=OSTEOPOROSIS, meds=[alendronate(months_ago(10))], labs=[lab(Analyte.EGFR, egfr)])
        return "SAFE-02" in rule_ids(run(facts))

    assert fires("34.9") and not fires("35")
    rec = by_id(run(patient(meds=[alendronate(months_ago(10))], labs=[lab(Analyte.EGFR, "29")])))["SAFE-02"]
    assert rec.indicator == Indicator.CRITICAL and rec.values["egfr_below_30"] is True


def test_safe02_for_zoledronic_order_and_old_egfr_ignored() -> None:
    order = med(
        DrugClass.ZOLEDRONIC_ACID,
        "zoledronic acid",
        status=MedicationStatus.PLANNED,
        source=MedicationSource.REQUEST,
    )
    assert "SAFE-02" in rule_ids(run(patient(meds=[order], labs=[lab(Analyte.EGFR, "33")])))
    old = [lab(Analyte.EGFR, "20", months_ago(13))]
    assert "SAFE-02" not in rule_ids(run(patient(meds=[alendronate(months_ago(10))], labs=old)))


# --- SAFE-03 ---
def test_safe03_due_soon_without_calcium() -> None:
    recs = by_id(run(patient(studies=OSTEOPOROSIS, meds=[denosumab(months_ago(11), months_ago(5))])))
    rec = recs["SAFE-03"]
    assert rec.variant == "calcium-not-checked" and rec.values["due_date"] == months_ago(-1)
    assert [a.kind for a in rec.actions] == [ActionKind.ORDER_LABS]
    assert "SAFE-03" not in rule_ids(run(patient(meds=[denosumab(days_ago(1, months_ago(4)))])))  # not due yet


def test_safe03_low_calcium_is_critical() -> None:
    labs = [lab(Analyte.CALCIUM, "8.2", days_ago(5)), lab(Analyte.ALBUMIN, "4.0", days_ago(5))]
    rec = by_id(run(patient(meds=[denosumab(months_ago(5))], labs=labs)))["SAFE-03"]
    assert rec.variant == "low-calcium" and rec.indicator == Indicator.CRITICAL


def test_safe03_advanced_ckd() -> None:
    labs = [*gate_labs(days_ago(5), egfr="28")]
    rec = by_id(run(patient(meds=[denosumab(months_ago(5))], labs=labs)))["SAFE-03"]
    assert rec.variant == "advanced-ckd" and rec.indicator == Indicator.WARNING


def test_safe03_calcium_older_than_30_days_does_not_count() -> None:
    labs = [lab(Analyte.CALCIUM, "9.4", days_ago(31))]
    rec = by_id(run(patient(meds=[denosumab(months_ago(5))], labs=labs)))["SAFE-03"]
    assert rec.variant == "calcium-not-checked"
    fresh = [lab(Analyte.CALCIUM, "9.4", days_ago(30))]
    assert "SAFE-03" not in rule_ids(run(patient(meds=[denosumab(months_ago(5))], labs=fresh)))


def test_safe03_zoledronic_ordered() -> None:
    order = med(
        DrugClass.ZOLEDRONIC_ACID,
        "zoledronic acid",
        status=MedicationStatus.ACTIVE,
        source=MedicationSource.REQUEST,
        start=days_ago(2),
    )
    rec = by_id(run(patient(studies=OSTEOPOROSIS, meds=[order])))["SAFE-03"]
    assert rec.values["drug"] == "zoledronic acid" and rec.values["trigger"] == "ordered"
    assert "TX-01" not in rule_ids(run(patient(studies=OSTEOPOROSIS, meds=[order])))
