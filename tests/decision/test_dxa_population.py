"""C-01 population path, C-02/C-03 sites, C-04 WHO category and persistence."""

from __future__ import annotations

import pytest

from decision_core import assess
from decision_core.dxa_assessment import BmdCategory
from decision_core.facts import BoneSite, MenopauseStatus, Sex, Side
from decision_core.population import Population

from .builders import NOW, D, months_ago, patient, study, t, z


@pytest.mark.parametrize(
    ("age", "sex", "menopause", "population", "assumed"),
    [
        (17, Sex.FEMALE, MenopauseStatus.UNKNOWN, Population.OUT_OF_SCOPE, False),
        (18, Sex.FEMALE, MenopauseStatus.UNKNOWN, Population.YOUNG, False),
        (49, Sex.FEMALE, MenopauseStatus.UNKNOWN, Population.YOUNG, False),
        (50, Sex.FEMALE, MenopauseStatus.UNKNOWN, Population.ADULT50, True),
        (50, Sex.FEMALE, MenopauseStatus.PREMENOPAUSAL, Population.YOUNG, False),
        (52, Sex.FEMALE, MenopauseStatus.PERIMENOPAUSAL, Population.ADULT50, False),
        (45, Sex.FEMALE, MenopauseStatus.PERIMENOPAUSAL, Population.YOUNG, False),
        (45, Sex.FEMALE, MenopauseStatus.POSTMENOPAUSAL, Population.ADULT50, False),
        (49, Sex.MALE, MenopauseStatus.UNKNOWN, Population.YOUNG, False),
        (50, Sex.MALE, MenopauseStatus.UNKNOWN, Population.ADULT50, False),
        (45, Sex.MALE, MenopauseStatus.POSTMENOPAUSAL, Population.YOUNG, False),  # nonsense status ignored
        (55, Sex.UNKNOWN, MenopauseStatus.UNKNOWN, Population.ADULT50, False),
        (40, Sex.OTHER, MenopauseStatus.UNKNOWN, Population.YOUNG, False),
    ],
)
def test_population_path(age, sex, menopause, population, assumed) -> None:
    a = assess(patient(age=age, sex=sex, menopause=menopause), NOW)
    assert a.population == population
    assert a.path.menopause_assumed is assumed


def test_no_birth_date_is_unknown_population() -> None:
    a = assess(patient(age=None), NOW)
    assert a.population == Population.UNKNOWN


def _category(*measurements, age: int = 65) -> BmdCategory | None:
    return assess(patient(age=age, studies=[study(months_ago(3), *measurements)]), NOW).dxa.category


@pytest.mark.parametrize(
    ("value", "category"),
    [
        ("-0.99", BmdCategory.NORMAL),
        ("-1.0", BmdCategory.NORMAL),  # D-09: -1.0 is normal
        ("-1.01", BmdCategory.LOW_BONE_MASS),
        ("-2.49", BmdCategory.LOW_BONE_MASS),
        ("-2.5", BmdCategory.OSTEOPOROSIS),  # -2.5 is osteoporosis
        ("-2.50", BmdCategory.OSTEOPOROSIS),
        ("-3.0", BmdCategory.OSTEOPOROSIS),
    ],
)
def test_who_category_boundaries(value: str, category: BmdCategory) -> None:
    assert _category(t(BoneSite.FEMORAL_NECK, value)) == category


def test_lowest_t_and_tie_order() -> None:
    a = assess(
        patient(
            studies=[
                study(
                    months_ago(3),
                    t(BoneSite.TOTAL_HIP, "-1.7"),
                    t(BoneSite.RADIUS_33, "-1.7"),
                    t(BoneSite.FEMORAL_NECK, "-1.7"),
                    t(BoneSite.LUMBAR_SPINE, "-1.2"),
                )
            ]
        ),
        NOW,
    )
    assert a.dxa.lowest_t is not None
    assert a.dxa.lowest_t.site == BoneSite.FEMORAL_NECK  # ties: LS, FN, TH, R33


def test_spine_needs_two_vertebrae() -> None:
    single = _category(t(BoneSite.LUMBAR_SPINE, "-3.0", vertebrae=("L3",)), t(BoneSite.TOTAL_HIP, "-0.5"))
    assert single == BmdCategory.NORMAL  # the single vertebra is excluded
    two = _category(t(BoneSite.LUMBAR_SPINE, "-3.0", vertebrae=("L1", "L3")), t(BoneSite.TOTAL_HIP, "-0.5"))
    assert two == BmdCategory.OSTEOPOROSIS  # non-contiguous pair is valid
    region = _category(t(BoneSite.LUMBAR_SPINE, "-2.6"))
    assert region == BmdCategory.OSTEOPOROSIS  # L1-L4 implied


def test_site_labels() -> None:
    a = assess(
        patient(
            studies=[
                study(
                    months_ago(3),
                    t(BoneSite.LUMBAR_SPINE, "-1.3", vertebrae=("L2", "L1")),
                    t(BoneSite.FEMORAL_NECK, "-1.1", side=Side.LEFT),
                    t(BoneSite.FEMUR, "-1.0"),
                )
            ]
        ),
        NOW,
    )
    labels = {v.label for v in a.dxa.latest_with_t.valid}  # type: ignore[union-attr]
    assert labels == {"lumbar spine L1-L2", "left femoral neck", "femur"}


@pytest.mark.parametrize(
    "site",
    [
        BoneSite.FOREARM,
        BoneSite.CALCANEUS,
        BoneSite.WARDS,
        BoneSite.TROCHANTER,
        BoneSite.WHOLE_BODY,
        BoneSite.UNSPECIFIED,
    ],
)
def test_non_diagnostic_sites_are_excluded(site: BoneSite) -> None:
    a = assess(patient(studies=[study(months_ago(3), t(site, "-3.2"), t(BoneSite.TOTAL_HIP, "-0.4"))]), NOW)
    assert a.dxa.category == BmdCategory.NORMAL
    assert [e.label for e in a.dxa.latest_with_t.excluded]  # type: ignore[union-attr]


def test_only_non_diagnostic_sites_means_no_valid_dxa_and_a_data_issue() -> None:
    a = assess(patient(studies=[study(months_ago(3), t(BoneSite.FOREARM, "-3.2"))]), NOW)
    assert a.dxa.latest_valid is None
    assert a.dxa.last_study_date == months_ago(3)
    assert any("forearm" in i.item for i in a.issues)


def test_implausible_value_excluded() -> None:
    a = assess(
        patient(studies=[study(months_ago(3), t(BoneSite.TOTAL_HIP, "-6.1"), t(BoneSite.FEMORAL_NECK, "-1.2"))]),
        NOW,
    )
    assert a.dxa.lowest_t.value == D("-1.2")  # type: ignore[union-attr]
    assert any("outside" in i.reason for i in a.issues)
    edge = assess(patient(studies=[study(months_ago(3), t(BoneSite.TOTAL_HIP, "-6.0"))]), NOW)
    assert edge.dxa.lowest_t.value == D("-6.0")  # type: ignore[union-attr]


def test_persistence_keeps_osteoporosis() -> None:
    a = assess(
        patient(
            age=70,
            studies=[
                study(months_ago(60), t(BoneSite.FEMORAL_NECK, "-2.6")),
                study(months_ago(6), t(BoneSite.FEMORAL_NECK, "-2.2")),
            ],
        ),
        NOW,
    )
    assert a.dxa.category == BmdCategory.LOW_BONE_MASS
    assert a.dxa.historical_osteoporosis is not None
    assert a.dxa.effective_category == BmdCategory.OSTEOPOROSIS


def test_persistence_ignores_earlier_study_before_50_when_not_postmenopausal() -> None:
    a = assess(
        patient(
            age=55,
            studies=[
                study(months_ago(8 * 12), t(BoneSite.FEMORAL_NECK, "-2.6")),
                study(months_ago(6), t(BoneSite.FEMORAL_NECK, "-1.5")),
            ],
        ),
        NOW,
    )
    assert a.dxa.historical_osteoporosis is None


def test_latest_study_without_valid_sites_falls_back_to_latest_valid_study() -> None:
    a = assess(
        patient(
            studies=[
                study(months_ago(2), t(BoneSite.CALCANEUS, "-3.0")),
                study(months_ago(14), t(BoneSite.TOTAL_HIP, "-1.6")),
            ]
        ),
        NOW,
    )
    assert a.dxa.latest_with_t.date == months_ago(14)  # type: ignore[union-attr]
    assert a.dxa.last_study_date == months_ago(2)  # the 12-month DXA floor counts from here


def test_z_scores_only_in_young() -> None:
    a = assess(patient(age=40, studies=[study(months_ago(3), z(BoneSite.FEMORAL_NECK, "-2.1"))]), NOW)
    assert a.dxa.latest_valid is not None and a.dxa.latest_valid.lowest_z.value == D("-2.1")  # type: ignore[union-attr]
    assert a.dxa.latest_with_t is None
