"""RISK-01, TX-01, TX-02, TX-03, TX-04."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cards.catalog import default_catalog
from decision_core.facts import (
    Analyte,
    BoneSite,
    ConditionConcept,
    DrugClass,
    FractureSite,
    Lifestyle,
    Measured,
    MedicationStatus,
    PlannedProcedure,
    Sex,
    SmokingStatus,
)
from decision_core.recommendation import ActionKind, Indicator

from .builders import (
    D,
    alendronate,
    by_id,
    condition,
    core_labs,
    fracture,
    frax,
    has_action,
    hip_study,
    lab,
    med,
    months_ago,
    patient,
    prednisone,
    rid,
    rule_ids,
    run,
    study,
    t,
)

OSTEOPOROSIS = [hip_study(months_ago(3), "-2.7")]
OSTEOPENIA = [hip_study(months_ago(3), "-1.8")]


def _draft(recs) -> bool:
    return has_action(recs, ActionKind.DRAFT_ALENDRONATE)


# --- RISK-01 ---
def test_risk01_low_bone_mass_without_frax() -> None:
    facts = patient(
        age=66,
        studies=[study(months_ago(3), t(BoneSite.FEMORAL_NECK, "-1.7"), t(BoneSite.TOTAL_HIP, "-1.1"))],
        lifestyle=Lifestyle(weight_kg=Measured(D(61), months_ago(2), rid()), smoking=SmokingStatus.CURRENT),
        conditions=[condition(ConditionConcept.RHEUMATOID_ARTHRITIS)],
    )
    risk = by_id(run(facts))["RISK-01"]
    assert risk.variant == "low-bone-mass"
    assert risk.values["femoral_neck_t"] == D("-1.7")
    assert risk.values["weight_kg"] == D(61)
    assert risk.values["current_smoking"] is True
    assert risk.values["rheumatoid_arthritis"] is True
    assert risk.values["parent_hip_fracture"] is None  # not recorded: ask
    assert not risk.actions


def test_risk01_off_with_valid_frax_or_stale_dxa_or_therapy() -> None:
    assert "RISK-01" not in rule_ids(run(patient(studies=OSTEOPENIA, fraxes=[frax(months_ago(2), "9", "1.0")])))
    assert "RISK-01" not in rule_ids(run(patient(studies=[hip_study(months_ago(25), "-1.8")])))
    assert "RISK-01" not in rule_ids(run(patient(studies=OSTEOPENIA, meds=[alendronate(months_ago(10))])))


def test_risk01_frax_older_than_dxa_is_absent() -> None:
    risk = by_id(run(patient(studies=OSTEOPENIA, fraxes=[frax(months_ago(5), "25", "4")])))["RISK-01"]
    assert risk.values["frax_note"] == "older than the latest DXA"


def test_risk01_fracture_with_normal_bmd() -> None:
    facts = patient(
        studies=[hip_study(months_ago(3), "-0.6")],
        fractures=[fracture(FractureSite.DISTAL_FOREARM, months_ago(30), low_trauma=True)],
    )
    assert by_id(run(facts))["RISK-01"].variant == "fracture-normal-bmd"


# --- TX-01 ---
def test_tx01_osteoporosis_by_dxa_with_all_gates_drafts_alendronate() -> None:
    recs = run(patient(studies=OSTEOPOROSIS, labs=core_labs()))
    tx = by_id(recs)["TX-01"]
    assert tx.indicator == Indicator.WARNING and tx.variant == "osteoporosis-dxa"
    assert tx.values["reasons"][0] == {"code": "osteoporosis-dxa", "t_score": Decimal("-2.7"), "site": "total hip"}
    assert default_catalog().word_reason("TX-01", tx.values["reasons"][0]) == "T-score -2.7 total hip"
    assert tx.values["alendronate_draft"] is True
    assert _draft(recs)


def test_tx01_hip_fracture_without_dxa() -> None:
    recs = by_id(run(patient(age=75, fractures=[fracture(FractureSite.HIP, date(2023, 2, 10))], labs=core_labs())))
    assert recs["TX-01"].variant == "hip-vertebral-fracture"
    first = recs["TX-01"].values["reasons"][0]
    assert first == {"code": "hip-vertebral-fracture", "site": "hip", "onset": date(2023, 2, 10)}
    assert default_catalog().word_reason("TX-01", first) == "prior hip fracture 2023-02-10"
    assert "DATA-01" in recs  # baseline DXA still indicated


def test_tx01_other_major_fracture_needs_t_below_minus_1() -> None:
    fx = [fracture(FractureSite.PROXIMAL_HUMERUS, months_ago(20), low_trauma=True)]
    assert "TX-01" not in rule_ids(run(patient(studies=[hip_study(months_ago(3), "-1.0")], fractures=fx)))
    assert (
        by_id(run(patient(studies=[hip_study(months_ago(3), "-1.1")], fractures=fx)))["TX-01"].variant
        == "other-major-fracture"
    )


def test_tx01_by_frax_and_s001_frax_does_not_override() -> None:
    recs = by_id(run(patient(studies=OSTEOPENIA, fraxes=[frax(months_ago(1), "21", "2.0")], labs=core_labs())))
    assert recs["TX-01"].variant == "frax"
    first = recs["TX-01"].values["reasons"][0]
    assert first == {"code": "frax", "measure": "mof", "percent": Decimal("21"), "threshold": Decimal("20")}
    assert default_catalog().word_reason("TX-01", first) == "FRAX MOF 21% >=20%"
    below = by_id(run(patient(studies=[hip_study(months_ago(3), "-2.6")], fraxes=[frax(months_ago(1), "8", "1.0")])))
    assert below["TX-01"].values["frax_below_threshold_ignored"] is True
    assert "TX-03" not in below


def test_tx01_historical_osteoporosis_persists() -> None:
    facts = patient(
        age=72,
        studies=[hip_study(months_ago(50), "-2.6"), hip_study(months_ago(2), "-2.0")],
        fraxes=[frax(months_ago(1), "9", "1.5")],
    )
    tx = by_id(run(facts))["TX-01"]
    assert tx.variant == "osteoporosis-historical"


def test_tx01_gates_withhold_draft_and_order_missing_labs() -> None:
    no_labs = run(patient(studies=OSTEOPOROSIS))
    tx = by_id(no_labs)["TX-01"]
    assert not _draft(no_labs)
    assert set(tx.values["missing_gates"]) == {"egfr", "vitamin_d", "calcium"}
    labs_action = next(a for a in tx.actions if a.kind == ActionKind.ORDER_LABS)
    assert set(labs_action.params["labs"]) == {"25-OH D", "Ca", "albumin", "eGFR"}

    for kwargs in ({"egfr": "34"}, {"vitd": "19.9"}, {"ca": "8.4"}):
        recs = run(patient(studies=OSTEOPOROSIS, labs=core_labs(**kwargs)))
        assert not _draft(recs), kwargs
        assert "TX-01" in rule_ids(recs)


def test_tx01_contraindication_and_unavailable_domains_withhold_draft() -> None:
    for c in (ConditionConcept.BISPHOSPHONATE_INTOLERANCE, ConditionConcept.ESOPHAGEAL_DISORDER):
        recs = run(patient(studies=OSTEOPOROSIS, labs=core_labs(), conditions=[condition(c)]))
        assert not _draft(recs) and by_id(recs)["TX-01"].values["gates"]["contraindication"] == "recorded"
    for domain in ("medications", "conditions"):
        recs = run(patient(studies=OSTEOPOROSIS, labs=core_labs(), unavailable=[domain]))
        assert not _draft(recs), domain
        assert domain in by_id(recs)["TX-01"].values["unchecked_domains"]


def test_tx01_corrected_calcium_uses_albumin() -> None:
    # Ca 8.3 with albumin 3.0 -> corrected 9.1 >= 8.5: gate passes
    recs = run(patient(studies=OSTEOPOROSIS, labs=core_labs(ca="8.3", albumin="3.0")))
    assert by_id(recs)["TX-01"].values["corrected_calcium"] == D("9.10")
    assert _draft(recs)


def test_tx01_lab_reference_low_is_the_lln() -> None:
    labs = (*core_labs(ca="8.7")[:2], lab(Analyte.CALCIUM, "8.7", reference_low="8.8"), *core_labs()[3:])
    labs = tuple(x for x in labs if not (x.analyte == Analyte.CALCIUM and x.reference_low is None))
    recs = run(patient(studies=OSTEOPOROSIS, labs=labs))
    assert by_id(recs)["TX-01"].values["gates"]["calcium"] == "low"


def test_tx01_denosumab_caveats_at_low_egfr() -> None:
    tx = by_id(run(patient(studies=OSTEOPOROSIS, labs=core_labs(egfr="28"))))["TX-01"]
    assert tx.values["denosumab_alternative"] is True
    assert "boxed-warning-ckd-mbd-specialist" in tx.values["denosumab_caveats"]
    tx = by_id(run(patient(studies=OSTEOPOROSIS, labs=core_labs(egfr="32", ca="8.0"))))["TX-01"]
    assert tx.values["denosumab_caveats"] == ("calcium-check-first", "correct-hypocalcemia-first")


def test_tx01_suppressed_on_therapy_or_when_ordered() -> None:
    assert "TX-01" not in rule_ids(run(patient(studies=OSTEOPOROSIS, meds=[alendronate(months_ago(4))])))
    planned = med(DrugClass.BISPHOSPHONATE_ORAL, "risedronate", status=MedicationStatus.PLANNED)
    assert "TX-01" not in rule_ids(run(patient(studies=OSTEOPOROSIS, meds=[planned])))


def test_calcium_and_vitamin_d_and_estrogen_are_not_therapy() -> None:
    meds = [
        med(DrugClass.CALCIUM, "calcium carbonate", start=months_ago(20)),
        med(DrugClass.VITAMIN_D, "cholecalciferol", start=months_ago(20)),
        med(DrugClass.ESTROGEN, "estradiol", start=months_ago(20)),
    ]
    recs = by_id(run(patient(studies=OSTEOPOROSIS, meds=meds)))
    assert "TX-01" in recs and "LAB-01" in recs
    assert not any(a.kind == ActionKind.DRAFT_CALCIUM for a in recs["UNIV-01"].actions)


# --- TX-02 ---
def test_tx02_criteria_and_supersedes_tx01() -> None:
    def tx02(**kw):
        return by_id(run(patient(age=kw.pop("age", 70), **kw))).get("TX-02")

    rec = tx02(studies=[hip_study(months_ago(3), "-3.1")], labs=core_labs())
    assert rec.variant == "very-low-t" and [a.kind for a in rec.actions] == [ActionKind.REFERRAL]
    assert tx02(studies=[hip_study(months_ago(3), "-3.0")]) is None
    assert tx02(fractures=[fracture(FractureSite.VERTEBRAL, months_ago(6))]).variant == "recent-fracture"
    two = [fracture(FractureSite.VERTEBRAL, months_ago(30)), fracture(FractureSite.HIP, months_ago(60))]
    assert tx02(fractures=two).variant == "multiple-fractures"
    assert tx02(studies=OSTEOPENIA, fraxes=[frax(months_ago(1), "30.1", "2")]).variant == "frax-very-high"
    assert tx02(studies=OSTEOPENIA, fraxes=[frax(months_ago(1), "30", "4.5")]) is None
    fall = condition(ConditionConcept.INJURIOUS_FALL, onset=months_ago(2))
    assert tx02(studies=OSTEOPENIA, conditions=[fall]).variant == "injurious-fall"
    recs = rule_ids(run(patient(age=70, studies=[hip_study(months_ago(3), "-3.4")])))
    assert "TX-02" in recs and "TX-01" not in recs


def test_tx02_duplicate_fracture_records_count_once() -> None:
    dup = [fracture(FractureSite.HIP, months_ago(30)), fracture(FractureSite.HIP, months_ago(30), coded=True)]
    assert "TX-02" not in rule_ids(run(patient(age=75, fractures=dup)))


def test_tx02_on_therapy_only_fracture_on_therapy() -> None:
    meds = [alendronate(months_ago(30))]
    assert "TX-02" not in rule_ids(run(patient(studies=[hip_study(months_ago(3), "-3.4")], meds=meds)))
    rec = by_id(run(patient(fractures=[fracture(FractureSite.VERTEBRAL, months_ago(4))], meds=meds)))["TX-02"]
    assert rec.variant == "fracture-on-therapy" and rec.values["on_therapy"] is True


def test_tx02_glucocorticoid_very_high_dose() -> None:
    rec = by_id(run(patient(studies=OSTEOPENIA, meds=[prednisone("30", months_ago(4))])))["TX-02"]
    assert rec.variant == "glucocorticoid-high-dose"


# --- TX-03 ---
def test_tx03_below_thresholds() -> None:
    rec = by_id(
        run(patient(age=67, studies=[hip_study(months_ago(3), "-2.1")], fraxes=[frax(months_ago(1), "12", "2.1")]))
    )["TX-03"]
    assert rec.values["frax_mof"] == D(12)
    assert rec.values["interval_months"] == 12
    assert rec.values["next_dxa_date"] == months_ago(3 - 12)
    assert rec.values["acp_rec4_discussion"] is True
    mild = by_id(
        run(patient(age=60, studies=[hip_study(months_ago(3), "-1.3")], fraxes=[frax(months_ago(1), "8", "0.5")]))
    )["TX-03"]
    assert mild.values["interval_months"] == 24 and mild.values["acp_rec4_discussion"] is False


def test_tx03_needs_complete_frax() -> None:
    recs = rule_ids(run(patient(studies=OSTEOPENIA, fraxes=[frax(months_ago(1), "12", None)])))
    assert "TX-03" not in recs and "RISK-01" in recs


# --- TX-04 ---
IN_3_MONTHS = months_ago(-3)


def _spine(day: date | None = IN_3_MONTHS) -> PlannedProcedure:
    return PlannedProcedure("spinal-instrumentation", rid("ServiceRequest"), "Lumbar fusion L4-S1", day)


def test_tx04_variants() -> None:
    a = by_id(run(patient(studies=OSTEOPOROSIS, procedures=[_spine()])))
    assert a["TX-04"].variant == "04a" and a["TX-04"].indicator == Indicator.WARNING
    assert not _draft(list(a.values()))  # TX-04a gate on the alendronate draft
    b = by_id(run(patient(studies=OSTEOPENIA, procedures=[_spine()])))["TX-04"]
    assert b.variant == "04b" and b.indicator == Indicator.INFO
    c = by_id(run(patient(studies=[hip_study(months_ago(30), "-1.8")], procedures=[_spine()])))["TX-04"]
    assert c.variant == "04c"
    assert any(x.kind == ActionKind.ORDER_DXA for x in c.actions)
    hu = by_id(run(patient(studies=OSTEOPENIA, procedures=[_spine()], labs=[lab(Analyte.CT_HU, "95")])))["TX-04"]
    assert hu.variant == "04a" and hu.values["basis"] == "ct-hu"
    assert "TX-04" not in rule_ids(run(patient(studies=[hip_study(months_ago(3), "-0.5")], procedures=[_spine()])))
    assert "TX-04" not in rule_ids(run(patient(studies=OSTEOPENIA, procedures=[_spine(months_ago(-13))])))
    assert by_id(run(patient(studies=OSTEOPENIA, procedures=[_spine(None)])))["TX-04"].variant == "04b"


def test_tx01_for_men() -> None:
    recs = by_id(run(patient(age=68, sex=Sex.MALE, studies=OSTEOPOROSIS, labs=core_labs(male=True))))
    assert recs["TX-01"].values["sex"] == "male"
    assert "LAB-01" not in recs


def test_tx01_partial_labs_withhold_draft() -> None:
    recs = run(patient(studies=OSTEOPOROSIS, labs=core_labs(), partial=["labs"]))
    assert not _draft(recs)
    assert by_id(recs)["TX-01"].values["gates"]["lab_results"] == "not-checked"
