"""Boundary tests at every threshold named in issue 5 ("Done when"), each on both sides."""

from __future__ import annotations

from datetime import timedelta

import pytest

from decision_core import assess
from decision_core.assessment import AcrCategory
from decision_core.facts import Analyte, BoneSite, MenopauseStatus, Sex
from decision_core.recommendation import ActionKind

from .builders import (
    NOW,
    D,
    alendronate,
    by_id,
    core_labs,
    days_ago,
    denosumab,
    frax,
    hip_study,
    lab,
    months_ago,
    patient,
    prednisone,
    rule_ids,
    run,
    study,
    t,
    z,
    zoledronic,
)


def _ids(**kw) -> set[str]:
    return rule_ids(run(patient(**kw)))


# --- T-scores -1.0 / -2.5 / -3.0 / -3.5, Z -2.0 ---
@pytest.mark.parametrize(
    ("value", "variant"),
    [
        ("-1.0", "normal"),
        ("-1.01", "low-bone-mass"),
        ("-2.49", "low-bone-mass"),
        ("-2.5", "osteoporosis-dxa"),
    ],
)
def test_t_minus_1_and_minus_2_5(value: str, variant: str) -> None:
    assert by_id(run(patient(studies=[hip_study(months_ago(2), value)])))["DX-01"].variant == variant


@pytest.mark.parametrize(("value", "tx02"), [("-3.0", False), ("-3.01", True)])
def test_t_minus_3_0_very_high_risk_is_strict(value: str, tx02: bool) -> None:
    assert ("TX-02" in _ids(studies=[hip_study(months_ago(2), value)])) is tx02


@pytest.mark.parametrize(("value", "category"), [("-3.5", AcrCategory.VERY_HIGH), ("-3.49", AcrCategory.HIGH)])
def test_t_minus_3_5_acr_very_high(value: str, category: AcrCategory) -> None:
    a = assess(patient(studies=[hip_study(months_ago(2), value)], meds=[prednisone("5", months_ago(6))]), NOW)
    assert a.acr is not None and a.acr.category == category


@pytest.mark.parametrize(("value", "variant"), [("-2.0", "low-for-age"), ("-1.99", "within-range")])
def test_z_minus_2_0(value: str, variant: str) -> None:
    facts = patient(age=30, sex=Sex.MALE, studies=[study(months_ago(2), z(BoneSite.TOTAL_HIP, value))])
    assert by_id(run(facts))["DX-02"].variant == variant


# --- ages 40 / 50 / 65 / 70 / 90 ---
@pytest.mark.parametrize(("age", "valid"), [(39, False), (40, True), (90, True), (91, False)])
def test_age_40_and_90_frax_validity(age: int, valid: bool) -> None:
    facts = patient(
        age=age,
        menopause=MenopauseStatus.POSTMENOPAUSAL,
        studies=[hip_study(months_ago(2), "-1.8")],
        fraxes=[frax(months_ago(1), "25", "1")],
    )
    assert (assess(facts, NOW).frax.valid is not None) is valid
    assert ("TX-01" in rule_ids(run(facts))) is valid


@pytest.mark.parametrize(("age", "rule"), [(49, "DX-02"), (50, "DX-01")])
def test_age_50_population(age: int, rule: str) -> None:
    dxa = [study(months_ago(2), t(BoneSite.TOTAL_HIP, "-2.6"), z(BoneSite.TOTAL_HIP, "-1.0"))]
    recs = _ids(age=age, sex=Sex.MALE, studies=dxa)
    assert rule in recs
    assert ("TX-01" in recs) is (age >= 50)


def test_age_50_birthday_edge() -> None:
    birthday_tomorrow = patient(age=50, sex=Sex.MALE, birth_date=NOW.replace(year=NOW.year - 50) + timedelta(days=1))
    assert assess(birthday_tomorrow, NOW).age == 49


@pytest.mark.parametrize(("age", "fires"), [(64, False), (65, True)])
def test_age_65_female_screening(age: int, fires: bool) -> None:
    assert ("DATA-01" in _ids(age=age)) is fires


@pytest.mark.parametrize(("age", "fires"), [(69, False), (70, True)])
def test_age_70_male_screening(age: int, fires: bool) -> None:
    assert ("DATA-01" in _ids(age=age, sex=Sex.MALE)) is fires


@pytest.mark.parametrize(("age", "acp"), [(64, False), (65, True)])
def test_age_65_acp_rec4(age: int, acp: bool) -> None:
    recs = by_id(
        run(patient(age=age, studies=[hip_study(months_ago(2), "-2.0")], fraxes=[frax(months_ago(1), "12", "2")]))
    )
    assert recs["TX-03"].values["acp_rec4_discussion"] is acp


# --- FRAX MOF 20/30 %, hip 3/4.5 % ---
@pytest.mark.parametrize(
    ("mof", "hip", "expected"),
    [
        ("19.99", "2.99", "TX-03"),
        ("20", "2.99", "TX-01"),
        ("19.99", "3", "TX-01"),
        ("30", "4.5", "TX-01"),
        ("30.01", "1", "TX-02"),
        ("10", "4.51", "TX-02"),
    ],
)
def test_frax_thresholds(mof: str, hip: str, expected: str) -> None:
    recs = _ids(studies=[hip_study(months_ago(2), "-1.8")], fraxes=[frax(months_ago(1), mof, hip)])
    assert expected in recs
    assert not ({"TX-01", "TX-02", "TX-03"} - {expected}) & recs


# --- eGFR 30 / 35 ---
@pytest.mark.parametrize(("egfr", "draft", "safe02"), [("34.99", False, True), ("35", True, False)])
def test_egfr_35(egfr: str, draft: bool, safe02: bool) -> None:
    recs = run(patient(studies=[hip_study(months_ago(2), "-2.7")], labs=core_labs(egfr=egfr)))
    assert (ActionKind.DRAFT_ALENDRONATE in {a.kind for r in recs for a in r.actions}) is draft
    on_bp = rule_ids(run(patient(meds=[alendronate(months_ago(8))], labs=[lab(Analyte.EGFR, egfr)])))
    assert ("SAFE-02" in on_bp) is safe02


@pytest.mark.parametrize(("egfr", "variant"), [("29.99", "advanced-ckd"), ("30", None)])
def test_egfr_30(egfr: str, variant: str | None) -> None:
    labs = core_labs(days_ago(3), egfr=egfr)
    recs = by_id(run(patient(meds=[denosumab(months_ago(5))], labs=labs)))
    assert (recs["SAFE-03"].variant if "SAFE-03" in recs else None) == variant
    tx = by_id(run(patient(studies=[hip_study(months_ago(2), "-2.7")], labs=core_labs(egfr=egfr))))["TX-01"]
    assert ("boxed-warning-ckd-mbd-specialist" in tx.values["denosumab_caveats"]) is (variant is not None)


# --- 25(OH)D 12 / 20 / 30 / 50 ng/mL, and the same in nmol/L ---
@pytest.mark.parametrize(
    ("ng", "nmol", "variant"),
    [
        ("11.99", "29.93", "severe"),
        ("12.0", "29.95", "deficient"),
        ("19.99", "49.90", "deficient"),
        ("20.0", "49.92", "below-target"),
        ("29.99", "74.86", "below-target"),
        ("30.0", "74.88", None),
        ("50.0", "124.80", None),
        ("50.01", "124.82", "high"),
    ],
)
def test_vitamin_d_bands_from_ng_and_nmol(ng: str, nmol: str, variant: str | None) -> None:
    osteopenia = [hip_study(months_ago(2), "-1.8")]
    for result in (
        lab(Analyte.VITAMIN_D_25OH, ng),
        lab(Analyte.VITAMIN_D_25OH, ng, original_value=nmol, original_unit="nmol/L"),
    ):
        recs = by_id(run(patient(studies=osteopenia, labs=[result])))
        assert (recs["VITD-01"].variant if "VITD-01" in recs else None) == variant, result


@pytest.mark.parametrize(("ng", "draft"), [("19.99", False), ("20.0", True)])
def test_vitamin_d_20_gates_the_antiresorptive_draft(ng: str, draft: bool) -> None:
    recs = run(patient(studies=[hip_study(months_ago(2), "-2.7")], labs=core_labs(vitd=ng)))
    assert (ActionKind.DRAFT_ALENDRONATE in {a.kind for r in recs for a in r.actions}) is draft


# --- calcium at the lower limit ---
@pytest.mark.parametrize(("ca", "ok"), [("8.5", True), ("8.49", False)])
def test_calcium_at_lower_limit(ca: str, ok: bool) -> None:
    recs = run(patient(studies=[hip_study(months_ago(2), "-2.7")], labs=core_labs(ca=ca)))
    assert (ActionKind.DRAFT_ALENDRONATE in {a.kind for r in recs for a in r.actions}) is ok
    due = by_id(run(patient(meds=[denosumab(months_ago(5))], labs=core_labs(days_ago(2), ca=ca))))
    assert ("SAFE-03" in due) is (not ok)


def test_calcium_lower_limit_from_lab_reference() -> None:
    labs = [
        lab(Analyte.CALCIUM, "8.7", days_ago(2), reference_low="8.7"),
        lab(Analyte.ALBUMIN, "4.0", days_ago(2)),
    ]
    assert "SAFE-03" not in rule_ids(run(patient(meds=[denosumab(months_ago(5))], labs=labs)))
    labs = [
        lab(Analyte.CALCIUM, "8.69", days_ago(2), reference_low="8.7"),
        lab(Analyte.ALBUMIN, "4.0", days_ago(2)),
    ]
    assert by_id(run(patient(meds=[denosumab(months_ago(5))], labs=labs)))["SAFE-03"].variant == "low-calcium"


# --- prednisone-equivalent 2.5 / 7.5 / 30 mg/day and 90 days ---
@pytest.mark.parametrize(("mg", "days", "fires"), [("2.5", 90, True), ("2.4", 90, False), ("2.5", 89, False)])
def test_prednisone_2_5_mg_and_90_days(mg: str, days: int, fires: bool) -> None:
    assert ("GC-01" in _ids(meds=[prednisone(mg, days_ago(days))])) is fires


@pytest.mark.parametrize(("mg", "adjusted"), [("7.5", False), ("7.51", True)])
def test_prednisone_7_5_frax_adjustment(mg: str, adjusted: bool) -> None:
    facts = patient(
        studies=[hip_study(months_ago(2), "-1.8")],
        fraxes=[frax(months_ago(1), "18", "2")],
        meds=[prednisone(mg, months_ago(6))],
    )
    reading = assess(facts, NOW).frax.valid
    assert reading is not None and (reading.mof != reading.mof_raw) is adjusted


@pytest.mark.parametrize(("mg", "days", "very_high"), [("30", 31, True), ("30", 30, False), ("29.9", 60, False)])
def test_prednisone_30_mg(mg: str, days: int, very_high: bool) -> None:
    recs = by_id(
        run(
            patient(
                studies=[hip_study(months_ago(2), "-1.8")],
                meds=[prednisone(mg, days_ago(days), planned_days=None)],
            )
        )
    )
    assert (recs.get("TX-02") is not None and recs["TX-02"].variant == "glucocorticoid-high-dose") is very_high


# --- denosumab +6 / +7 months ---
@pytest.mark.parametrize(
    ("dose", "variant"),
    [
        (months_ago(6), None),
        (days_ago(1, months_ago(6)), "overdue-warning"),
        (months_ago(7), "overdue-warning"),
        (days_ago(1, months_ago(7)), "overdue-critical"),
    ],
)
def test_denosumab_6_and_7_months(dose, variant) -> None:
    recs = by_id(run(patient(meds=[denosumab(dose)])))
    assert (recs["SAFE-01"].variant if "SAFE-01" in recs else None) == variant


# --- oral bisphosphonate 60 months, 3 zoledronic infusions ---
@pytest.mark.parametrize(("months", "fires"), [(59, False), (60, True)])
def test_oral_bisphosphonate_60_months(months: int, fires: bool) -> None:
    assert ("MON-03" in _ids(meds=[alendronate(months_ago(months))])) is fires


@pytest.mark.parametrize(("count", "fires"), [(2, False), (3, True)])
def test_three_zoledronic_infusions(count: int, fires: bool) -> None:
    doses = [months_ago(12 * i + 2) for i in range(count)]
    assert ("MON-03" in _ids(meds=[zoledronic(*sorted(doses))])) is fires


# --- DXA age 12 and 24 months ---
@pytest.mark.parametrize(("age_months", "suggested"), [(11, False), (12, True)])
def test_dxa_12_month_floor(age_months: int, suggested: bool) -> None:
    recs = run(patient(age=70, studies=[study(months_ago(age_months), t(BoneSite.FOREARM, "-2.0"))]))
    assert (ActionKind.ORDER_DXA in {a.kind for r in recs for a in r.actions}) is suggested


def test_dxa_floor_day_before_12_months() -> None:
    recs = run(patient(age=70, studies=[study(months_ago(12) + timedelta(days=1), t(BoneSite.FOREARM, "-2.0"))]))
    assert ActionKind.ORDER_DXA not in {a.kind for r in recs for a in r.actions}


@pytest.mark.parametrize(("age_months", "rule"), [(24, "MON-01"), (25, "DATA-02")])
def test_dxa_24_months(age_months: int, rule: str) -> None:
    recs = _ids(studies=[hip_study(months_ago(age_months), "-1.5")])
    assert rule in recs
    assert not ({"MON-01", "DATA-02"} - {rule}) & recs


def test_dxa_24_months_plus_one_day_is_stale() -> None:
    assert "DATA-02" in _ids(studies=[hip_study(days_ago(1, months_ago(24)), "-1.5")])


def test_values_are_decimal_not_float() -> None:
    rec = by_id(run(patient(studies=[hip_study(months_ago(2), "-2.50")])))["DX-01"]
    assert rec.values["lowest_t"] == D("-2.5") and type(rec.values["lowest_t"]).__name__ == "Decimal"
