"""Decision table revision 2 in patient-view: the bisphosphonate holiday (C-06, MON-04, §4), SAFE-01's three items,
SAFE-03's overdue wording, GC-01's repeat-BMD interval and the §0 time-window anchors, at their boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cards.catalog import default_catalog
from cards.render import render_cards
from decision_core import evaluate
from decision_core.dates import add_months
from decision_core.facts import (
    Analyte,
    BoneSite,
    DrugClass,
    FractureSite,
    MedicationSource,
    MedicationStatus,
    PatientFacts,
    Side,
)
from decision_core.recommendation import ActionKind, Indicator
from tests.decision.builders import (
    NOW,
    alendronate,
    by_id,
    core_labs,
    denosumab,
    fracture,
    lab,
    med,
    months_ago,
    patient,
    prednisone,
    rule_ids,
    run,
    study,
    t,
    zoledronic,
)

DAY = timedelta(days=1)


def _cards(facts: PatientFacts, today: date = NOW) -> dict[str, dict]:
    rendered = render_cards(run(facts, today), default_catalog(), "pat-rev2")
    return {r.rule_id: r.card for r in rendered}


def _holiday_patient(*meds, fractures=(), dxa_t: str = "-2.1", today: date = NOW, **kwargs) -> PatientFacts:
    return patient(
        age=72,
        studies=[study(add_months(today, -14), t(BoneSite.TOTAL_HIP, dxa_t, Side.LEFT))],
        meds=list(meds),
        fractures=list(fractures),
        labs=core_labs(add_months(today, -1)),
        today=today,
        **kwargs,
    )


def _three_infusions(last: date):
    return zoledronic(add_months(last, -24), add_months(last, -12), last)


# --- C-06 holiday and MON-04 ---------------------------------------------------------------------------------------


def test_three_yearly_infusions_finished_21_months_ago_are_a_holiday_not_untreated() -> None:
    facts = _holiday_patient(_three_infusions(months_ago(21)), dxa_t="-2.7")

    recs = by_id(run(facts))
    cards = _cards(facts)

    assert "MON-04" in recs and "TX-01" not in recs
    assert recs["MON-04"].values["holiday_since"] == add_months(months_ago(21), 12)
    assert "3 yearly zoledronic acid infusions" in cards["MON-04"]["summary"]
    assert not any("not on osteoporosis medication" in c["summary"] for c in cards.values())


def test_two_infusions_are_no_holiday_three_are() -> None:
    last = months_ago(21)
    two = _holiday_patient(zoledronic(add_months(last, -12), last), dxa_t="-2.7")
    three = _holiday_patient(_three_infusions(last), dxa_t="-2.7")

    assert "MON-04" not in rule_ids(run(two)) and "TX-01" in rule_ids(run(two))
    assert "MON-04" in rule_ids(run(three)) and "TX-01" not in rule_ids(run(three))


@pytest.mark.parametrize(("months", "holiday"), [(35, False), (36, True)])
def test_36_months_of_oral_alendronate_make_a_holiday_35_do_not(months: int, holiday: bool) -> None:
    end = months_ago(10)
    course = alendronate(add_months(end, -months), end, status=MedicationStatus.COMPLETED)

    recs = by_id(run(_holiday_patient(course, dxa_t="-2.7")))

    assert ("MON-04" in recs) is holiday
    assert ("TX-01" in recs) is not holiday
    if holiday:
        assert recs["MON-04"].values["oral_months"] == 36
        assert recs["MON-04"].values["holiday_since"] == end


def test_the_holiday_ends_60_months_after_the_course_ended_inclusive() -> None:
    last = date(2020, 6, 15)
    coverage_end = add_months(last, 12)
    on_the_day = add_months(coverage_end, 60)
    facts = _holiday_patient(_three_infusions(last), dxa_t="-2.7", today=on_the_day)

    assert "MON-04" in rule_ids(run(facts, on_the_day))
    after = on_the_day + DAY
    later = _holiday_patient(_three_infusions(last), dxa_t="-2.7", today=after)
    assert "MON-04" not in rule_ids(run(later, after))
    assert "TX-01" in rule_ids(run(later, after))


def test_a_fragility_fracture_after_the_course_ends_the_holiday() -> None:
    last = months_ago(30)
    after_course = fracture(FractureSite.VERTEBRAL, months_ago(4))
    recs = by_id(run(_holiday_patient(_three_infusions(last), fractures=[after_course])))

    assert "MON-04" not in recs
    assert "TX-01" in recs or "TX-02" in recs


def test_a_fracture_before_the_course_is_a_reason_to_resume_not_a_new_indication() -> None:
    before = fracture(FractureSite.HIP, months_ago(70))
    recs = by_id(run(_holiday_patient(_three_infusions(months_ago(30)), fractures=[before])))

    assert "TX-01" not in recs
    assert recs["MON-04"].variant == "resume-criteria"
    assert recs["MON-04"].indicator is Indicator.WARNING
    assert "prior-major-fracture" in recs["MON-04"].values["holiday_criteria"]


def test_no_criterion_found_is_an_info_card_about_reassessment() -> None:
    facts = _holiday_patient(_three_infusions(months_ago(30)), dxa_t="-2.1")
    card = _cards(facts)["MON-04"]

    assert card["indicator"] == "info"
    assert "reassess fracture risk every 2-4 years" in card["summary"]
    assert "No reason to resume found" in card["detail"]


def test_ongoing_glucocorticoids_are_a_reason_to_resume() -> None:
    gc = prednisone("7.5", months_ago(6))
    recs = by_id(run(_holiday_patient(_three_infusions(months_ago(30)), gc)))

    assert recs["MON-04"].variant == "resume-criteria"
    assert "glucocorticoid" in recs["MON-04"].values["holiday_criteria"]


def test_another_osteoporosis_drug_since_the_course_is_no_holiday() -> None:
    later = denosumab(months_ago(20), months_ago(14), status=MedicationStatus.COMPLETED)
    recs = by_id(run(_holiday_patient(_three_infusions(months_ago(30)), later)))

    assert "MON-04" not in recs
    assert "SAFE-01" in recs  # the denosumab lapse speaks instead


def test_the_holiday_dxa_draft_only_without_a_dxa_in_24_months() -> None:
    recent = by_id(run(_holiday_patient(_three_infusions(months_ago(30)))))  # DXA 14 months ago
    old_dxa = patient(
        age=72,
        studies=[study(months_ago(30), t(BoneSite.TOTAL_HIP, "-2.1", Side.LEFT))],
        meds=[_three_infusions(months_ago(30))],
        labs=core_labs(months_ago(1)),
    )
    stale = by_id(run(old_dxa))

    assert not any(a.kind is ActionKind.ORDER_DXA for a in recent["MON-04"].actions)
    assert any(a.kind is ActionKind.ORDER_DXA for a in stale["MON-04"].actions)
    assert "DATA-02" not in stale and "MON-01" not in stale


# --- SAFE-01 rev 2 --------------------------------------------------------------------------------------------------


def _denosumab_patient(last: date, *more, today: date = NOW, ca: str = "9.4", status=MedicationStatus.ACTIVE):
    return patient(
        age=74,
        studies=[study(add_months(today, -10), t(BoneSite.LUMBAR_SPINE, "-2.6"))],
        meds=[denosumab(add_months(last, -6), last, status=status), *more],
        labs=core_labs(add_months(today, 0) - 3 * DAY, ca=ca),
        today=today,
    )


def test_safe01_is_a_warning_on_the_day_now_is_last_dose_plus_7_months_and_critical_the_next_day() -> None:
    last = date(2025, 7, 31)
    edge = add_months(last, 7)  # 2026-02-28

    on_edge = by_id(run(_denosumab_patient(last, today=edge), edge))["SAFE-01"]
    next_day = by_id(run(_denosumab_patient(last, today=edge + DAY), edge + DAY))["SAFE-01"]

    assert on_edge.indicator is Indicator.WARNING
    assert next_day.indicator is Indicator.CRITICAL


def test_with_low_calcium_safe01_offers_nothing_now_and_keeps_its_indicator() -> None:
    facts = _denosumab_patient(months_ago(8), ca="7.6")
    cards = _cards(facts)

    safe01, safe03 = cards["SAFE-01"], cards["SAFE-03"]
    assert safe01["indicator"] == "critical" and safe03["indicator"] == "critical"
    assert safe01["summary"].endswith("- correct calcium first")
    assert " now" not in safe01["detail"] and "once calcium is corrected" in safe01["detail"]
    assert "(see the calcium check card)" in safe01["detail"]
    assert len(safe01["summary"]) < 140


def test_a_planned_zoledronic_follow_on_is_named_and_never_called_missing() -> None:
    order = med(
        DrugClass.ZOLEDRONIC_ACID,
        "zoledronic acid",
        status=MedicationStatus.ACTIVE,
        source=MedicationSource.REQUEST,
        start=NOW + 10 * DAY,
        route="intravenous",
    )
    facts = _denosumab_patient(months_ago(8), order)
    recs = by_id(run(facts))
    card = _cards(facts)["SAFE-01"]

    assert recs["SAFE-01"].indicator is Indicator.CRITICAL  # ordered is not given: the indicator stays
    assert "no follow-on" not in card["summary"].lower() and "no follow-on" not in card["detail"].lower()
    assert f"Zoledronic acid ordered {(NOW + 10 * DAY).isoformat()}: confirm it is given" in card["detail"]


def test_one_completed_injection_is_a_last_dose_never_marked_stopped() -> None:
    facts = patient(age=70, meds=[denosumab(months_ago(5), status=MedicationStatus.COMPLETED)])
    recs = by_id(run(facts))

    assert "SAFE-01" not in recs  # within 6 months and not stopped: nothing lapsed
    stopped = patient(age=70, meds=[denosumab(months_ago(5), status=MedicationStatus.STOPPED)])
    assert by_id(run(stopped))["SAFE-01"].variant == "stopped"


# --- SAFE-03 overdue wording ------------------------------------------------------------------------------------------


def test_safe03_never_words_a_past_due_date_as_future() -> None:
    cards = _cards(_denosumab_patient(months_ago(8), ca="7.6"))
    due = add_months(months_ago(8), 6).isoformat()

    assert f"the overdue denosumab dose (was due {due})" in cards["SAFE-03"]["summary"]
    assert "next denosumab dose" not in cards["SAFE-03"]["summary"]


def test_safe03_before_the_due_date_says_next_dose() -> None:
    last = add_months(NOW, -5) - 5 * DAY  # due in under a month
    cards = _cards(_denosumab_patient(last, ca="7.6"))

    assert "next denosumab dose (due " in cards["SAFE-03"]["summary"]


# --- GC-01 repeat BMD -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dxa_t", ["-0.5", "-2.7"])
def test_gc01_states_the_repeat_bmd_interval_in_every_variant(dxa_t: str) -> None:
    facts = patient(
        age=60,
        studies=[study(months_ago(3), t(BoneSite.TOTAL_HIP, dxa_t, Side.LEFT))],
        meds=[prednisone("10", months_ago(8))],
        labs=core_labs(months_ago(1)),
    )
    card = _cards(facts)["GC-01"]

    assert "Repeat BMD every 1-2 years while on glucocorticoids" in card["detail"]


# --- §0 time-window anchors -------------------------------------------------------------------------------------------


def test_windows_count_on_the_utc_date_of_now() -> None:
    """23:30 on 2026-02-28 in New York is 2026-03-01 in UTC: a result dated 2025-03-01 is exactly 12 months old."""
    eastern = timezone(timedelta(hours=-5))
    now = datetime(2026, 2, 28, 23, 30, tzinfo=eastern)
    facts = patient(
        age=71,
        studies=[study(date(2025, 12, 1), t(BoneSite.LUMBAR_SPINE, "-2.7"))],
        labs=(
            lab(Analyte.EGFR, "80", date(2025, 3, 1)),
            lab(Analyte.VITAMIN_D_25OH, "35", date(2025, 3, 1)),
            lab(Analyte.CALCIUM, "9.4", date(2025, 3, 1)),
            lab(Analyte.ALBUMIN, "4.0", date(2025, 3, 1)),
        ),
        today=date(2026, 3, 1),
    )

    at_utc = {r.rule_id: r for r in evaluate(facts, now)}
    one_day_later = {r.rule_id: r for r in evaluate(facts, datetime(2026, 3, 2, 0, 30, tzinfo=UTC))}

    assert at_utc["TX-01"].values["egfr_value"] is not None  # exactly 12 months: inside, inclusive
    assert one_day_later["TX-01"].values["egfr_value"] is None
