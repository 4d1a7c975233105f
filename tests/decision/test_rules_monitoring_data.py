"""MON-01, MON-02, MON-03, DATA-01, DATA-02, DATA-03."""

from __future__ import annotations

from cards.catalog import default_catalog
from decision_core.facts import (
    BoneSite,
    ConditionConcept,
    DrugClass,
    FractureSite,
    Lifestyle,
    Measured,
    MedicationStatus,
    MenopauseStatus,
    Sex,
    SmokingStatus,
)
from decision_core.recommendation import ActionKind, Indicator

from .builders import (
    D,
    alendronate,
    by_id,
    condition,
    denosumab,
    fracture,
    hip_study,
    med,
    months_ago,
    patient,
    prednisone,
    rid,
    rule_ids,
    run,
    study,
    t,
    zoledronic,
)


def test_mon01_interval_24_and_12() -> None:
    assert "MON-01" not in rule_ids(run(patient(studies=[hip_study(months_ago(23), "-1.5")])))
    rec = by_id(run(patient(studies=[hip_study(months_ago(24), "-1.5")])))["MON-01"]
    assert rec.values["interval_months"] == 24 and [a.kind for a in rec.actions] == [ActionKind.ORDER_DXA]
    assert "MON-01" not in rule_ids(run(patient(studies=[hip_study(months_ago(11), "-2.0")])))
    advanced = by_id(run(patient(studies=[hip_study(months_ago(12), "-2.0")])))["MON-01"]
    assert advanced.values["interval_months"] == 12 and advanced.values["interval_reasons"] == ("t-at-or-below--2.0",)
    assert "MON-01" not in rule_ids(run(patient(studies=[hip_study(months_ago(12), "-1.99")])))


def test_mon01_new_bone_toxic_drug_shortens_interval() -> None:
    ai = med(DrugClass.AROMATASE_INHIBITOR, "anastrozole", start=months_ago(6))
    rec = by_id(run(patient(studies=[hip_study(months_ago(12), "-1.5")], meds=[ai])))["MON-01"]
    assert rec.values["interval_reasons"] == ("aromatase-inhibitor-or-adt",)


def test_mon02_on_therapy() -> None:
    rec = by_id(run(patient(studies=[hip_study(months_ago(24), "-2.7")], meds=[alendronate(months_ago(30))])))["MON-02"]
    assert rec.values["drug"] == "alendronate" and rec.values["months_since_dxa"] == 24
    assert "MON-02" not in rule_ids(
        run(patient(studies=[hip_study(months_ago(23), "-2.7")], meds=[alendronate(months_ago(30))]))
    )
    no_dxa = by_id(run(patient(meds=[alendronate(months_ago(24))])))
    assert "MON-02" in no_dxa and "DATA-01" in no_dxa


def test_mon03_boundaries_and_supersedes_mon02() -> None:
    at60 = rule_ids(run(patient(studies=[hip_study(months_ago(30), "-2.2")], meds=[alendronate(months_ago(60))])))
    assert "MON-03" in at60 and "MON-02" not in at60
    assert "MON-03" not in rule_ids(run(patient(meds=[alendronate(months_ago(59))])))
    three = by_id(run(patient(meds=[zoledronic(months_ago(26), months_ago(14), months_ago(2))])))["MON-03"]
    assert three.indicator == Indicator.WARNING and three.values["zoledronic_infusions"] == 3
    assert "MON-03" not in rule_ids(run(patient(meds=[zoledronic(months_ago(14), months_ago(2))])))


def test_mon03_continuation_criteria_and_holiday() -> None:
    rec = by_id(run(patient(studies=[hip_study(months_ago(6), "-2.6")], meds=[alendronate(months_ago(62))])))["MON-03"]
    assert rec.values["continuation_criteria"] == ("hip-t-at-or-below--2.5",)
    assert rec.values["holiday_reasonable"] is False
    assert not rec.actions  # DXA within 12 months
    clean = by_id(run(patient(studies=[hip_study(months_ago(30), "-1.9")], meds=[alendronate(months_ago(62))])))[
        "MON-03"
    ]
    assert clean.values["holiday_reasonable"] is True
    assert [a.kind for a in clean.actions] == [ActionKind.ORDER_DXA]
    holiday = condition(ConditionConcept.BISPHOSPHONATE_HOLIDAY)
    assert "MON-03" not in rule_ids(run(patient(meds=[alendronate(months_ago(62))], conditions=[holiday])))


def test_mon03_never_for_denosumab() -> None:
    doses = [months_ago(m) for m in range(66, 0, -6)]
    assert "MON-03" not in rule_ids(run(patient(meds=[denosumab(*doses)])))


def test_data01_reasons() -> None:
    def data01(**kw):
        return by_id(run(patient(**kw))).get("DATA-01")

    assert data01(age=65).values["reasons"][0] == "female-65"
    assert default_catalog().word_reason("DATA-01", "female-65") == "woman >=65, USPSTF B"
    assert data01(age=64) is None
    smoker = Lifestyle(smoking=SmokingStatus.CURRENT)
    rec = data01(age=55, lifestyle=smoker)
    assert rec.values["reasons"] == ("postmenopausal-risk-factor",) and rec.values["menopause_assumed"] is True
    assert data01(age=48, lifestyle=smoker) is None
    assert data01(age=48, menopause=MenopauseStatus.POSTMENOPAUSAL, lifestyle=smoker) is not None
    assert data01(age=70, sex=Sex.MALE).values["reasons"] == ("male-70",)
    assert data01(age=69, sex=Sex.MALE) is None
    thin = Lifestyle(bmi=Measured(D("19.9"), months_ago(1), rid()))
    assert data01(age=60, sex=Sex.MALE, lifestyle=thin).values["reasons"] == ("male-50-69-risk-factor",)
    assert data01(age=35, sex=Sex.MALE, meds=[prednisone("10", months_ago(6))]).values["reasons"] == ("glucocorticoid",)
    parent = condition(ConditionConcept.PARENTAL_HIP_FRACTURE, active=False)
    assert data01(age=52, sex=Sex.MALE, conditions=[parent]) is not None


def test_data01_not_when_dxa_data_missing_and_respects_floor() -> None:
    assert "DATA-01" not in rule_ids(run(patient(age=70, unavailable=["dxa"])))
    recent_invalid = [study(months_ago(3), t(BoneSite.FOREARM, "-2.0"))]
    rec = by_id(run(patient(age=70, studies=recent_invalid)))["DATA-01"]
    assert not rec.actions  # a DXA 3 months ago (forearm only): no new DXA yet


def test_data02_stale() -> None:
    rec = by_id(run(patient(studies=[hip_study(months_ago(25), "-1.6")])))
    assert rec["DATA-02"].values["months_old"] == 25
    assert "MON-01" not in rec and "RISK-01" not in rec
    assert "DATA-02" not in rule_ids(run(patient(studies=[hip_study(months_ago(24), "-1.6")])))
    assert "DATA-02" not in rule_ids(run(patient(studies=[hip_study(months_ago(30), "-0.5")])))
    changed = by_id(
        run(
            patient(
                studies=[hip_study(months_ago(30), "-0.5")],
                fractures=[fracture(FractureSite.DISTAL_FOREARM, months_ago(5), low_trauma=True)],
            )
        )
    )
    assert changed["DATA-02"].values["risk_changes"] == ("new-fragility-fracture",)
    assert "DATA-02" not in rule_ids(run(patient(studies=[hip_study(months_ago(30), "-2.6")])))
    assert "DATA-02" not in rule_ids(
        run(patient(studies=[hip_study(months_ago(30), "-1.6")], meds=[alendronate(months_ago(20))]))
    )


def test_data03_domains_and_unreadable() -> None:
    rec = by_id(
        run(patient(studies=[hip_study(months_ago(3), "-1.5")], unavailable=["labs"], partial=["medications"]))
    )["DATA-03"]
    items = [i["item"] for i in rec.values["issues"]]
    assert items == ["labs data", "medications data"]
    assert "SAFE-02" in rec.values["issues"][0]["affects"]


def test_no_birth_date_runs_only_safety_and_data_rules() -> None:
    recs = rule_ids(run(patient(age=None, studies=[hip_study(months_ago(3), "-2.8")], meds=[denosumab(months_ago(9))])))
    assert recs == {"SAFE-01", "SAFE-03", "DATA-03"}


def test_stopped_denosumab_marked_stopped_and_planned_follow_on() -> None:
    planned = med(DrugClass.ZOLEDRONIC_ACID, "zoledronic acid", status=MedicationStatus.PLANNED)
    recs = by_id(run(patient(meds=[denosumab(months_ago(5), status=MedicationStatus.STOPPED), planned])))
    assert recs["SAFE-01"].variant == "stopped"
    assert recs["SAFE-03"].values["drug"] == "denosumab"
