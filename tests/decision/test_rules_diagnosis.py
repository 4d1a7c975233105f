"""DX-01 and DX-02."""

from __future__ import annotations

from decision_core.facts import BoneSite, FractureSite, MenopauseStatus, Sex, Side
from decision_core.recommendation import ActionKind, Indicator

from .builders import NOW, D, by_id, fracture, months_ago, patient, run, study, t, z


def test_dx01_low_bone_mass_values() -> None:
    recs = by_id(
        run(
            patient(
                studies=[
                    study(
                        months_ago(3),
                        t(BoneSite.TOTAL_HIP, "-1.1", Side.LEFT),
                        t(BoneSite.FEMORAL_NECK, "-1.7", Side.LEFT),
                    )
                ]
            )
        )
    )
    dx = recs["DX-01"]
    assert dx.indicator == Indicator.INFO
    assert dx.variant == "low-bone-mass"
    assert dx.values["lowest_t"] == D("-1.7")
    assert dx.values["lowest_t_site"] == "left femoral neck"
    assert dx.values["category"] == "low-bone-mass"
    assert dx.values["menopause_assumed"] is True
    assert len(dx.values["valid_sites"]) == 2
    assert not dx.actions


def test_dx01_variants() -> None:
    def variant(*studies, fractures=()):
        return by_id(run(patient(age=70, studies=studies, fractures=fractures)))["DX-01"].variant

    assert variant(study(months_ago(3), t(BoneSite.TOTAL_HIP, "-0.4"))) == "normal"
    assert variant(study(months_ago(3), t(BoneSite.TOTAL_HIP, "-2.5"))) == "osteoporosis-dxa"
    assert (
        variant(
            study(months_ago(40), t(BoneSite.TOTAL_HIP, "-2.7")),
            study(months_ago(3), t(BoneSite.TOTAL_HIP, "-2.1")),
        )
        == "osteoporosis-persistent"
    )
    assert (
        variant(
            study(months_ago(3), t(BoneSite.TOTAL_HIP, "-0.4")),
            fractures=[fracture(FractureSite.HIP, months_ago(30))],
        )
        == "osteoporosis-clinical"
    )


def test_dx01_clinical_osteoporosis_without_dxa() -> None:
    recs = by_id(run(patient(age=72, fractures=[fracture(FractureSite.VERTEBRAL, months_ago(20))])))
    dx = recs["DX-01"]
    assert dx.variant == "osteoporosis-clinical"
    assert dx.values["lowest_t"] is None
    assert dx.values["fracture_presumed"] is True


def test_dx01_other_major_fracture_needs_low_bone_mass() -> None:
    normal = by_id(
        run(
            patient(
                studies=[study(months_ago(3), t(BoneSite.TOTAL_HIP, "-0.8"))],
                fractures=[fracture(FractureSite.DISTAL_FOREARM, months_ago(20), low_trauma=True)],
            )
        )
    )
    assert normal["DX-01"].variant == "normal"
    low = by_id(
        run(
            patient(
                studies=[study(months_ago(3), t(BoneSite.TOTAL_HIP, "-1.8"))],
                fractures=[fracture(FractureSite.DISTAL_FOREARM, months_ago(20), low_trauma=True)],
            )
        )
    )
    assert low["DX-01"].variant == "osteoporosis-clinical"


def test_dx01_stale_dxa_still_reports_historical_category() -> None:
    dx = by_id(run(patient(studies=[study(months_ago(30), t(BoneSite.TOTAL_HIP, "-1.8"))])))["DX-01"]
    assert dx.values["dxa_stale"] is True
    assert dx.values["dxa_age_months"] == 30


def test_dx01_not_for_young() -> None:
    recs = by_id(
        run(
            patient(
                age=45,
                studies=[study(months_ago(3), t(BoneSite.TOTAL_HIP, "-2.8"), z(BoneSite.TOTAL_HIP, "-1.0"))],
            )
        )
    )
    assert "DX-01" not in recs
    assert recs["DX-02"].variant == "within-range"


def test_dx02_variants() -> None:
    low = by_id(run(patient(age=35, sex=Sex.MALE, studies=[study(months_ago(3), z(BoneSite.LUMBAR_SPINE, "-2.0"))])))[
        "DX-02"
    ]
    assert low.variant == "low-for-age" and low.indicator == Indicator.WARNING
    assert [a.kind for a in low.actions] == [ActionKind.REFERRAL]
    ok = by_id(run(patient(age=35, sex=Sex.MALE, studies=[study(months_ago(3), z(BoneSite.LUMBAR_SPINE, "-1.99"))])))[
        "DX-02"
    ]
    assert ok.variant == "within-range" and ok.indicator == Indicator.INFO and not ok.actions
    t_only = by_id(
        run(patient(age=35, sex=Sex.MALE, studies=[study(months_ago(3), t(BoneSite.LUMBAR_SPINE, "-2.9"))]))
    )["DX-02"]
    assert t_only.variant == "no-z-scores"
    assert t_only.values["lowest_z"] is None


def test_dx02_premenopausal_woman_over_50() -> None:
    recs = by_id(
        run(
            patient(
                age=51,
                menopause=MenopauseStatus.PREMENOPAUSAL,
                studies=[study(months_ago(3), z(BoneSite.TOTAL_HIP, "-2.3"))],
            )
        )
    )
    assert recs["DX-02"].variant == "low-for-age"
    assert "DX-01" not in recs


def test_no_cards_under_18() -> None:
    assert run(patient(age=17, studies=[study(months_ago(3), z(BoneSite.TOTAL_HIP, "-3.0"))])) == []


def test_evaluation_time_is_an_input() -> None:
    facts = patient(studies=[study(months_ago(3), t(BoneSite.TOTAL_HIP, "-1.5"))])
    assert by_id(run(facts, NOW))["DX-01"].values["dxa_age_months"] == 3
    assert by_id(run(facts, months_ago(-9)))["DX-01"].values["dxa_age_months"] == 12
