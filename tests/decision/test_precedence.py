"""Decision table §4, pair by pair.

For every row: a patient on whom both rules' own triggers hold (checked on the raw trigger set), and the
evaluated output keeps the winner and drops the loser. Rows whose two rules cannot both trigger on one patient
(different populations, or a context the loser itself requires) are tested on the precedence table directly.
"""

from __future__ import annotations

from datetime import date

import pytest

from decision_core.assessment import assess
from decision_core.engine import evaluate, triggered
from decision_core.facts import BoneSite, FractureSite, MedicationStatus, PatientFacts
from decision_core.precedence import CARD_ROWS, STATE_ROWS, apply_precedence, suppressed_by
from decision_core.recommendation import ActionKind, Indicator, Recommendation, SuggestedAction

from .builders import (
    NOW,
    alendronate,
    core_labs,
    days_ago,
    denosumab,
    fracture,
    frax,
    hip_study,
    months_ago,
    patient,
    prednisone,
    run,
    study,
    t,
)

OSTEOPENIA_NOW = [hip_study(months_ago(2), "-1.8")]


def _pair(facts: PatientFacts, winner: str, loser: str, today: date = NOW) -> None:
    _, raw = triggered(facts, today)
    raw_ids = {r.rule_id for r in raw}
    assert {winner, loser} <= raw_ids, f"both must trigger: {winner}, {loser}; raw = {sorted(raw_ids)}"
    final = {r.rule_id for r in run(facts, today)}
    assert winner in final, f"{winner} missing from {sorted(final)}"
    assert loser not in final, f"{loser} not suppressed: {sorted(final)}"


def _state(facts: PatientFacts, loser: str, state: str) -> None:
    a, raw = triggered(facts, NOW)
    assert loser in {r.rule_id for r in raw}
    assert f"state:{state}" in suppressed_by(raw, a)[loser]
    assert loser not in {r.rule_id for r in evaluate(facts, NOW)}


# --- SAFE-01 row ---
LAPSED = denosumab(months_ago(22), months_ago(16), months_ago(10))


def test_safe01_over_tx01() -> None:
    _pair(
        patient(studies=[hip_study(months_ago(2), "-2.7")], meds=[LAPSED], labs=core_labs()),
        "SAFE-01",
        "TX-01",
    )


def test_safe01_over_tx02_unless_fracture_on_therapy() -> None:
    _pair(patient(studies=[hip_study(months_ago(2), "-3.2")], meds=[LAPSED]), "SAFE-01", "TX-02")
    on_therapy = patient(meds=[LAPSED], fractures=[fracture(FractureSite.VERTEBRAL, months_ago(13))])
    final = {r.rule_id for r in run(on_therapy)}
    assert {"SAFE-01", "TX-02"} <= final


def test_safe01_over_tx03() -> None:
    facts = patient(studies=OSTEOPENIA_NOW, fraxes=[frax(months_ago(1), "10", "1.0")], meds=[LAPSED])
    _pair(facts, "SAFE-01", "TX-03")


def test_safe01_over_risk01() -> None:
    _pair(patient(studies=OSTEOPENIA_NOW, meds=[LAPSED]), "SAFE-01", "RISK-01")


def test_safe01_over_mon02() -> None:
    late = denosumab(months_ago(31), months_ago(25), days_ago(10, months_ago(6)))  # warning window, still current
    _pair(patient(studies=[hip_study(months_ago(30), "-2.7")], meds=[late]), "SAFE-01", "MON-02")


def test_safe01_over_mon03() -> None:
    facts = patient(studies=[hip_study(months_ago(3), "-2.7")], meds=[alendronate(months_ago(70)), LAPSED])
    _pair(facts, "SAFE-01", "MON-03")


# --- TX rows ---
def test_tx02_over_tx01() -> None:
    _pair(patient(studies=[hip_study(months_ago(2), "-3.2")], labs=core_labs()), "TX-02", "TX-01")


OTHER_MAJOR = fracture(FractureSite.DISTAL_FOREARM, months_ago(30), low_trauma=True)
RECENT_OTHER_MAJOR = fracture(FractureSite.DISTAL_FOREARM, months_ago(3), low_trauma=True)


def test_tx01_over_tx03() -> None:
    facts = patient(studies=OSTEOPENIA_NOW, fraxes=[frax(months_ago(1), "10", "1.0")], fractures=[OTHER_MAJOR])
    _pair(facts, "TX-01", "TX-03")


def test_tx02_over_tx03() -> None:
    facts = patient(studies=OSTEOPENIA_NOW, fraxes=[frax(months_ago(1), "10", "1.0")], fractures=[RECENT_OTHER_MAJOR])
    _pair(facts, "TX-02", "TX-03")


def test_tx01_over_risk01() -> None:
    _pair(patient(studies=OSTEOPENIA_NOW, fractures=[OTHER_MAJOR]), "TX-01", "RISK-01")


def test_tx02_over_risk01() -> None:
    _pair(patient(studies=OSTEOPENIA_NOW, fractures=[RECENT_OTHER_MAJOR]), "TX-02", "RISK-01")


def test_tx01_over_mon01() -> None:
    facts = patient(
        studies=[hip_study(months_ago(24), "-1.8")],
        fractures=[OTHER_MAJOR],
        fraxes=[frax(months_ago(1), "10", "1.0")],
    )
    _pair(facts, "TX-01", "MON-01")


def test_tx02_over_mon01() -> None:
    _pair(
        patient(studies=[hip_study(months_ago(24), "-1.8")], fractures=[RECENT_OTHER_MAJOR]),
        "TX-02",
        "MON-01",
    )


# --- GC-01 rows ---
def test_gc01_moderate_over_tx03() -> None:
    facts = patient(
        studies=OSTEOPENIA_NOW,
        fraxes=[frax(months_ago(1), "10", "1.0")],
        meds=[prednisone("5", months_ago(6))],
    )
    _pair(facts, "GC-01", "TX-03")


def test_gc01_dxa_over_mon01() -> None:
    facts = patient(studies=[hip_study(months_ago(13), "-1.8")], fraxes=[], meds=[prednisone("5", months_ago(6))])
    _pair(facts, "GC-01", "MON-01")
    gc = next(r for r in run(facts) if r.rule_id == "GC-01")
    assert [a.kind for a in gc.actions] == [ActionKind.ORDER_DXA]


# --- DATA-02 row ---
def test_data02_over_risk01_and_mon01() -> None:
    facts = patient(studies=[hip_study(months_ago(30), "-1.8")])
    _pair(facts, "DATA-02", "RISK-01")
    _pair(facts, "DATA-02", "MON-01")


# --- MON-03 row ---
def test_mon03_over_mon02() -> None:
    _pair(
        patient(studies=[hip_study(months_ago(30), "-2.7")], meds=[alendronate(months_ago(61))]),
        "MON-03",
        "MON-02",
    )


# --- state rows ---
ON_ALENDRONATE = alendronate(months_ago(6))


def test_current_therapy_suppresses_initiation_rules() -> None:
    _state(
        patient(studies=[hip_study(months_ago(2), "-2.7")], meds=[ON_ALENDRONATE]),
        "TX-01",
        "current-therapy-or-ordered",
    )
    _state(patient(studies=OSTEOPENIA_NOW, meds=[ON_ALENDRONATE]), "RISK-01", "current-therapy-or-ordered")
    _state(
        patient(
            studies=OSTEOPENIA_NOW,
            fraxes=[frax(months_ago(1), "10", "1.0")],
            meds=[alendronate(days_ago(10))],
        ),
        "TX-03",
        "current-therapy-or-ordered",
    )
    _state(patient(studies=OSTEOPENIA_NOW, meds=[ON_ALENDRONATE]), "LAB-01", "not-treatment-naive")
    _state(
        patient(studies=[hip_study(months_ago(30), "-1.8")], meds=[ON_ALENDRONATE]),
        "DATA-02",
        "current-therapy",
    )


def test_ordered_drug_counts_as_decided() -> None:
    planned = alendronate(months_ago(0), status=MedicationStatus.PLANNED)
    _state(
        patient(studies=[hip_study(months_ago(2), "-2.7")], meds=[planned]),
        "TX-01",
        "current-therapy-or-ordered",
    )


# --- rows tested on the table itself (their two triggers never meet on one patient) ---
def _rec(rule_id: str, variant: str = "x", values: dict | None = None, actions=()) -> Recommendation:
    return Recommendation(rule_id, Indicator.INFO, variant, values or {}, tuple(actions), ("ISCD",))


@pytest.mark.parametrize("loser", ["DX-01", "RISK-01", "TX-01", "TX-03", "MON-01", "DATA-02"])
def test_dx02_row(loser: str) -> None:
    a = assess(patient(age=40), NOW)
    kept = {r.rule_id for r in apply_precedence([_rec("DX-02"), _rec(loser)], a)}
    assert kept == {"DX-02"}


def test_dx02_row_tx02_bmd_criteria_only() -> None:
    a = assess(patient(age=40), NOW)
    bmd = _rec("TX-02", values={"reasons": ({"code": "very-low-t", "text": ""},)})
    fx = _rec("TX-02", values={"reasons": ({"code": "recent-fracture", "text": ""},)})
    assert {r.rule_id for r in apply_precedence([_rec("DX-02"), bmd], a)} == {"DX-02"}
    assert {r.rule_id for r in apply_precedence([_rec("DX-02"), fx], a)} == {"DX-02", "TX-02"}


def test_gc01_below_moderate_does_not_suppress_tx03() -> None:
    a = assess(patient(), NOW)
    low = _rec("GC-01", values={"acr_category": "low"})
    assert {r.rule_id for r in apply_precedence([low, _rec("TX-03")], a)} == {"GC-01", "TX-03"}
    moderate = _rec("GC-01", values={"acr_category": "moderate"})
    assert {r.rule_id for r in apply_precedence([moderate, _rec("TX-03")], a)} == {"GC-01"}


def test_gc01_without_dxa_action_does_not_suppress_mon01() -> None:
    a = assess(patient(), NOW)
    quiet = _rec("GC-01", values={"acr_category": "moderate"})
    assert {r.rule_id for r in apply_precedence([quiet, _rec("MON-01")], a)} == {"GC-01", "MON-01"}
    offering = _rec("GC-01", actions=(SuggestedAction(ActionKind.ORDER_DXA, {}),))
    assert {r.rule_id for r in apply_precedence([offering, _rec("MON-01")], a)} == {"GC-01"}


@pytest.mark.parametrize("loser", ["UNIV-01", "VITD-01", "LAB-01"])
def test_naive_normal_without_bhc_row(loser: str) -> None:
    a = assess(patient(studies=[hip_study(months_ago(2), "-0.2")]), NOW)
    assert not a.bhc
    assert apply_precedence([_rec(loser)], a) == []


def test_never_suppressed_rules_are_in_no_loser_list() -> None:
    never = {"SAFE-02", "SAFE-03", "VITD-01", "UNIV-01", "TX-04", "DATA-01", "DATA-03"}
    card_losers = {rid for row in CARD_ROWS for rid in row.losers}
    assert not never & card_losers
    state_losers = {rid for row in STATE_ROWS for rid in row.losers} - {"UNIV-01", "VITD-01"}
    assert not never & state_losers


def test_single_dxa_suggestion_and_floor() -> None:
    # GC-01 and DATA-01 both want a DXA: one suggestion, on GC-01.
    recs = run(patient(age=70, meds=[prednisone("10", months_ago(6))]))
    owners = [r.rule_id for r in recs if any(a.kind == ActionKind.ORDER_DXA for a in r.actions)]
    assert owners == ["GC-01"]
    # A DXA (even non-diagnostic) 11 months ago: no card suggests another.
    recs = run(
        patient(
            age=70,
            studies=[study(months_ago(11), t(BoneSite.WHOLE_BODY, "-1.0"))],
            meds=[prednisone("10", months_ago(6))],
        )
    )
    assert not any(a.kind == ActionKind.ORDER_DXA for r in recs for a in r.actions)


def test_labs_are_not_ordered_twice() -> None:
    recs = run(patient(studies=[hip_study(months_ago(2), "-2.7")]))
    ordered = [n for r in recs for a in r.actions if a.kind == ActionKind.ORDER_LABS for n in a.params["labs"]]
    assert len(ordered) == len(set(ordered))
    assert {"25-OH D", "Ca", "albumin", "eGFR", "CBC", "phos", "ALP", "TSH"} == set(ordered)
