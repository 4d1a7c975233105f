"""C-09 labs, VITD-01, LAB-01, UNIV-01."""

from __future__ import annotations

from decision_core import assess
from decision_core.facts import (
    Analyte,
    BoneSite,
    ConditionConcept,
    DataDomain,
    DataIssue,
    DrugClass,
    FractureSite,
    IssueKind,
    Sex,
)
from decision_core.lab_assessment import VitaminDBand, vitamin_d_band
from decision_core.recommendation import ActionKind, Indicator

from .builders import (
    NOW,
    D,
    alendronate,
    by_id,
    condition,
    core_labs,
    fracture,
    hip_study,
    lab,
    med,
    months_ago,
    patient,
    rule_ids,
    run,
    study,
    z,
)

OSTEOPENIA = [hip_study(months_ago(3), "-1.8")]


def test_vitamin_d_bands_in_ng_ml() -> None:
    assert vitamin_d_band(D("11.9")) == VitaminDBand.SEVERE
    assert vitamin_d_band(D("12.0")) == VitaminDBand.DEFICIENT
    assert vitamin_d_band(D("19.9")) == VitaminDBand.DEFICIENT
    assert vitamin_d_band(D("20.0")) == VitaminDBand.INSUFFICIENT
    assert vitamin_d_band(D("29.9")) == VitaminDBand.INSUFFICIENT
    assert vitamin_d_band(D("30.0")) == VitaminDBand.TARGET
    assert vitamin_d_band(D("50.0")) == VitaminDBand.TARGET
    assert vitamin_d_band(D("50.1")) == VitaminDBand.HIGH


def test_vitd01_variants_and_indicators() -> None:
    def vitd(value: str, **kw):
        return by_id(run(patient(studies=OSTEOPENIA, labs=[lab(Analyte.VITAMIN_D_25OH, value, **kw)]))).get("VITD-01")

    assert vitd("11.9").variant == "severe" and vitd("11.9").indicator == Indicator.WARNING
    assert vitd("12").variant == "deficient"
    assert vitd("20").variant == "below-target" and vitd("20").indicator == Indicator.INFO
    assert vitd("30") is None and vitd("50") is None
    assert vitd("50.1").variant == "high"


def test_vitd01_reports_original_nmol() -> None:
    rec = by_id(
        run(
            patient(
                studies=OSTEOPENIA,
                labs=[lab(Analyte.VITAMIN_D_25OH, "18.0", original_value="45", original_unit="nmol/L")],
            )
        )
    )
    v = rec["VITD-01"].values
    assert v["value_ng_ml"] == D("18.0") and v["value_nmol_l"] == D("45") and v["original_unit"] == "nmol/L"


def test_vitd01_needs_bone_health_context() -> None:
    assert "VITD-01" not in rule_ids(
        run(patient(studies=[hip_study(months_ago(3), "-0.5")], labs=[lab(Analyte.VITAMIN_D_25OH, "9")]))
    )


def test_lab_with_unknown_unit_is_not_interpreted() -> None:
    recs = by_id(run(patient(studies=OSTEOPENIA, labs=[lab(Analyte.VITAMIN_D_25OH, "45", unit=None)])))
    assert "VITD-01" not in recs
    assert recs["DATA-03"].values["first_reason"] == "unit missing"
    assert "25-OH D" in recs["LAB-01"].values["missing"]
    wrong = by_id(run(patient(studies=OSTEOPENIA, labs=[lab(Analyte.VITAMIN_D_25OH, "45", unit="nmol/L")])))
    assert "VITD-01" not in wrong and "not ng/mL" in wrong["DATA-03"].values["first_reason"]


def test_data_issue_records_are_never_used() -> None:
    bad = lab(Analyte.VITAMIN_D_25OH, "9")
    issue = DataIssue(
        "25-OH vitamin D 2026-03-01",
        "unit 'mmol' not recognised",
        bad.record,
        kind=IssueKind.UNIT_NOT_RECOGNISED,
        domain=DataDomain.LABS,
        topic=Analyte.VITAMIN_D_25OH,
    )
    recs = by_id(run(patient(studies=OSTEOPENIA, labs=[bad], issues=[issue])))
    assert "VITD-01" not in recs
    assert recs["DATA-03"].values["first_item"] == "25-OH vitamin D 2026-03-01"


def test_same_day_conflict_is_missing() -> None:
    labs = [lab(Analyte.EGFR, "30"), lab(Analyte.EGFR, "60")]
    a = assess(patient(labs=labs), NOW)
    assert a.labs.latest(Analyte.EGFR, NOW) is None
    assert any("differ" in i.reason for i in a.issues)
    close = assess(patient(labs=[lab(Analyte.EGFR, "60"), lab(Analyte.EGFR, "65")]), NOW)
    assert close.labs.latest(Analyte.EGFR, NOW) is not None


def test_lab01_lists_missing_core_labs() -> None:
    rec = by_id(run(patient(studies=OSTEOPENIA)))["LAB-01"]
    assert rec.values["missing"] == ("CBC", "Ca", "albumin", "phos", "eGFR", "ALP", "TSH", "25-OH D")
    male = by_id(run(patient(sex=Sex.MALE, studies=OSTEOPENIA, labs=core_labs())))["LAB-01"]
    assert male.values["missing"] == ("testosterone",)
    assert [a.params["labs"] for a in male.actions] == [("testosterone",)]
    assert "LAB-01" not in rule_ids(run(patient(studies=OSTEOPENIA, labs=core_labs())))


def test_lab01_creatinine_counts_for_egfr_and_old_labs_do_not_count() -> None:
    labs = [x for x in core_labs() if x.analyte != Analyte.EGFR] + [lab(Analyte.CREATININE, "0.9")]
    assert "LAB-01" not in rule_ids(run(patient(studies=OSTEOPENIA, labs=labs)))
    old = core_labs(months_ago(13))
    assert "LAB-01" in rule_ids(run(patient(studies=OSTEOPENIA, labs=old)))


def test_lab01_only_treatment_naive_and_labs_unavailable() -> None:
    assert "LAB-01" not in rule_ids(
        run(patient(studies=OSTEOPENIA, meds=[alendronate(months_ago(40), end=months_ago(30))]))
    )
    rec = by_id(run(patient(studies=OSTEOPENIA, unavailable=["labs"])))["LAB-01"]
    assert rec.variant == "not-checked" and not rec.actions


def test_lab01_young_low_z() -> None:
    rec = by_id(run(patient(age=35, sex=Sex.MALE, studies=[study(months_ago(3), z(BoneSite.TOTAL_HIP, "-2.2"))])))[
        "LAB-01"
    ]
    assert rec.values["context"] == ("z-low",) and rec.values["broader_workup"] is True


def test_univ01_doses_by_age_and_sex() -> None:
    def univ(age: int, sex: Sex):
        return by_id(
            run(
                patient(
                    age=age,
                    sex=sex,
                    studies=OSTEOPENIA if age >= 50 else [],
                    fractures=[fracture(FractureSite.VERTEBRAL, months_ago(2 * 12))] if age < 50 else [],
                )
            )
        )["UNIV-01"]

    assert univ(50, Sex.FEMALE).values["calcium_mg_per_day"] == 1000
    assert univ(51, Sex.FEMALE).values["calcium_mg_per_day"] == 1200
    assert univ(70, Sex.MALE).values["calcium_mg_per_day"] == 1000
    assert univ(71, Sex.MALE).values["calcium_mg_per_day"] == 1200
    assert univ(45, Sex.MALE).values["calcium_mg_per_day"] == 1000
    assert univ(45, Sex.MALE).values["vitamin_d_iu_text"] == "600"
    assert univ(50, Sex.MALE).values["vitamin_d_iu_text"] == "800-1000"
    drafts = {a.kind: dict(a.params) for a in univ(60, Sex.FEMALE).actions}
    assert drafts == {
        ActionKind.DRAFT_CALCIUM: {"mg_per_day": 1200, "total_intake": True},
        ActionKind.DRAFT_VITAMIN_D: {"iu_per_day": 800},
    }


def test_univ01_no_drafts_when_already_taking_or_unknown() -> None:
    meds = [med(DrugClass.CALCIUM, "calcium carbonate"), med(DrugClass.VITAMIN_D, "cholecalciferol")]
    assert not by_id(run(patient(studies=OSTEOPENIA, meds=meds)))["UNIV-01"].actions
    assert not by_id(run(patient(studies=OSTEOPENIA, unavailable=["medications"])))["UNIV-01"].actions
    high = by_id(run(patient(studies=OSTEOPENIA, labs=[lab(Analyte.VITAMIN_D_25OH, "55")])))["UNIV-01"]
    assert [a.kind for a in high.actions] == [ActionKind.DRAFT_CALCIUM]


def test_bhc_from_coded_diagnosis_only_gives_basics_not_treatment() -> None:
    recs = rule_ids(run(patient(conditions=[condition(ConditionConcept.OSTEOPOROSIS)])))
    assert "UNIV-01" in recs
    assert not recs & {"TX-01", "TX-02", "DX-01"}


def test_no_bhc_no_universal_card() -> None:
    assert "UNIV-01" not in rule_ids(run(patient(studies=[hip_study(months_ago(3), "-0.4")])))
