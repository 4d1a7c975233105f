"""The five seed articles' patients (decision table §0.1), each asserting the exact (rule id, indicator) set.

Each article describes a patient only partly; the assumptions needed to make the patient concrete are stated
in each test. The expected cards follow the decision table where it resolves a seed disagreement (§5).
"""

from __future__ import annotations

from decimal import Decimal

from cards.catalog import default_catalog
from decision_core.facts import BoneSite, PlannedProcedure, Side
from decision_core.recommendation import ActionKind

from .builders import (
    D,
    by_id,
    core_labs,
    frax,
    ids,
    months_ago,
    patient,
    prednisone,
    rid,
    run,
    study,
    t,
)

INFO, WARNING = "info", "warning"


def test_s001_osteopenia_hip_minus_1_1_neck_minus_1_7() -> None:
    """S001: T -1.1 left total hip, -1.7 left femoral neck.

    Assumed: woman aged 62, menopause status not documented (assumed postmenopausal at >= 50), DXA 2 months
    ago, no FRAX on file, no osteoporosis drugs, no labs in the last 12 months, no fractures, no
    glucocorticoids.
    The article: no drug on T-score alone, calculate FRAX, baseline labs for secondary causes, calcium and
    vitamin D.
    """
    facts = patient(
        age=62,
        studies=[
            study(
                months_ago(2),
                t(BoneSite.TOTAL_HIP, "-1.1", Side.LEFT),
                t(BoneSite.FEMORAL_NECK, "-1.7", Side.LEFT),
            )
        ],
    )
    recs = run(facts)
    assert ids(recs) == {("DX-01", INFO), ("RISK-01", INFO), ("LAB-01", INFO), ("UNIV-01", INFO)}
    cards = by_id(recs)
    assert cards["DX-01"].variant == "low-bone-mass"
    assert cards["DX-01"].values["lowest_t"] == D("-1.7")
    assert cards["DX-01"].values["lowest_t_site"] == "left femoral neck"
    assert cards["RISK-01"].values["femoral_neck_t"] == D("-1.7")
    assert ActionKind.DRAFT_ALENDRONATE not in {a.kind for r in recs for a in r.actions}


def test_s001_after_frax_at_and_below_threshold() -> None:
    """S001 continued: treat only if FRAX MOF >= 20% or hip >= 3%. Same patient, labs now complete."""
    dxa = [
        study(
            months_ago(2),
            t(BoneSite.TOTAL_HIP, "-1.1", Side.LEFT),
            t(BoneSite.FEMORAL_NECK, "-1.7", Side.LEFT),
        )
    ]
    below = run(patient(age=62, studies=dxa, fraxes=[frax(months_ago(1), "9.5", "1.2")], labs=core_labs()))
    assert ids(below) == {("DX-01", INFO), ("TX-03", INFO), ("UNIV-01", INFO)}
    at = run(patient(age=62, studies=dxa, fraxes=[frax(months_ago(1), "20", "1.2")], labs=core_labs()))
    assert ids(at) == {("DX-01", INFO), ("TX-01", WARNING), ("UNIV-01", INFO)}


def test_s002_frax_hip_3_3_percent_is_treated() -> None:
    """S002: low bone mass with a 10-year hip fracture risk of 3.3% (>= 3%) -> treatment indicated.

    Assumed: woman aged 68, DXA 2 months ago with lowest T -2.0 at the femoral neck, FRAX MOF 15% / hip 3.3%
    one month ago (untreated), pre-treatment labs all normal within 12 months, no contraindication.
    """
    facts = patient(
        age=68,
        studies=[study(months_ago(2), t(BoneSite.FEMORAL_NECK, "-2.0"), t(BoneSite.TOTAL_HIP, "-1.6"))],
        fraxes=[frax(months_ago(1), "15", "3.3")],
        labs=core_labs(),
    )
    recs = run(facts)
    assert ids(recs) == {("DX-01", INFO), ("TX-01", WARNING), ("UNIV-01", INFO)}
    tx = by_id(recs)["TX-01"]
    assert tx.variant == "frax"
    assert tx.values["reasons"][0] == {
        "code": "frax",
        "measure": "hip",
        "percent": Decimal("3.3"),
        "threshold": Decimal("3"),
    }
    assert default_catalog().word_reason("TX-01", tx.values["reasons"][0]) == "FRAX hip 3.3% >=3%"
    assert ActionKind.DRAFT_ALENDRONATE in {a.kind for a in tx.actions}


def test_s000_osteoporosis_patient_is_treated() -> None:
    """S000, osteoporosis: T <= -2.5 -> pharmacologic treatment, bisphosphonate first line.

    Assumed: woman aged 70, DXA 1 month ago with lumbar spine T -2.7, labs complete and normal, untreated.
    """
    recs = run(patient(age=70, studies=[study(months_ago(1), t(BoneSite.LUMBAR_SPINE, "-2.7"))], labs=core_labs()))
    assert ids(recs) == {("DX-01", INFO), ("TX-01", WARNING), ("UNIV-01", INFO)}
    assert by_id(recs)["DX-01"].variant == "osteoporosis-dxa"
    assert by_id(recs)["TX-01"].values["alendronate_draft"] is True


def test_s000_osteopenia_patient_is_risk_assessed_not_treated() -> None:
    """S000, osteopenia: the decision depends on fracture risk; low risk -> non-drug measures only.

    Assumed: woman aged 70, DXA 1 month ago lowest T -1.8 (total hip), FRAX MOF 12% / hip 1.8% (below
    thresholds), labs complete and normal, untreated.
    """
    recs = run(
        patient(
            age=70,
            studies=[study(months_ago(1), t(BoneSite.TOTAL_HIP, "-1.8"))],
            fraxes=[frax(months_ago(1), "12", "1.8")],
            labs=core_labs(),
        )
    )
    assert ids(recs) == {("DX-01", INFO), ("TX-03", INFO), ("UNIV-01", INFO)}
    assert by_id(recs)["TX-03"].values["interval_months"] == 24


def test_s003_spinal_osteopenia_with_planned_instrumentation() -> None:
    """S003: osteopenia of the spine, spinal instrumentation planned.

    Assumed: woman aged 66, DXA 3 months ago with lumbar spine (L1-L4) T -2.1 and total hip -1.2; lumbar
    fusion planned in 2 months; no FRAX; labs complete but 25(OH)D 18 ng/mL. Per §5 D-08, preoperative
    teriparatide is for osteoporosis only, so TX-04b (optimize before surgery) and not TX-04a.
    """
    surgery = PlannedProcedure("spinal-instrumentation", rid("ServiceRequest"), "Lumbar fusion", months_ago(-2))
    facts = patient(
        age=66,
        studies=[study(months_ago(3), t(BoneSite.LUMBAR_SPINE, "-2.1"), t(BoneSite.TOTAL_HIP, "-1.2"))],
        labs=core_labs(vitd="18"),
        procedures=[surgery],
    )
    recs = run(facts)
    assert ids(recs) == {
        ("DX-01", INFO),
        ("RISK-01", INFO),
        ("TX-04", INFO),
        ("VITD-01", WARNING),
        ("UNIV-01", INFO),
    }
    cards = by_id(recs)
    assert cards["TX-04"].variant == "04b"
    assert cards["TX-04"].values["vitamin_d_below_20"] is True
    assert cards["VITD-01"].variant == "deficient"


def test_s003_spinal_osteoporosis_with_planned_instrumentation() -> None:
    """S003 contrast: spine T -2.6 (osteoporosis) -> TX-04a (consider preoperative teriparatide) and TX-01
    without an alendronate draft (the TX-04a gate). Same assumptions, 25(OH)D 34 ng/mL."""
    surgery = PlannedProcedure("spinal-instrumentation", rid("ServiceRequest"), "Lumbar fusion", months_ago(-2))
    facts = patient(
        age=66,
        studies=[study(months_ago(3), t(BoneSite.LUMBAR_SPINE, "-2.6"), t(BoneSite.TOTAL_HIP, "-1.2"))],
        labs=core_labs(vitd="34"),
        procedures=[surgery],
    )
    recs = run(facts)
    assert ids(recs) == {("DX-01", INFO), ("TX-01", WARNING), ("TX-04", WARNING), ("UNIV-01", INFO)}
    assert by_id(recs)["TX-04"].variant == "04a"
    assert by_id(recs)["TX-01"].values["alendronate_draft"] is False


def test_s004_mild_stable_osteopenia() -> None:
    """S004: T -1.3 L1-L2, -0.3 left total hip, -1.1 left femoral neck, stable versus the previous DXA.

    Assumed: woman aged 58, DXA 1 month ago, previous DXA 25 months ago with near-identical values ("stable"),
    no FRAX yet ("your 10-year fracture risk must be calculated"), labs complete and normal (25(OH)D 32),
    untreated, no glucocorticoids.
    """
    current = study(
        months_ago(1),
        t(BoneSite.LUMBAR_SPINE, "-1.3", vertebrae=("L1", "L2")),
        t(BoneSite.TOTAL_HIP, "-0.3", Side.LEFT),
        t(BoneSite.FEMORAL_NECK, "-1.1", Side.LEFT),
    )
    previous = study(
        months_ago(25),
        t(BoneSite.LUMBAR_SPINE, "-1.2", vertebrae=("L1", "L2")),
        t(BoneSite.TOTAL_HIP, "-0.3", Side.LEFT),
        t(BoneSite.FEMORAL_NECK, "-1.1", Side.LEFT),
    )
    recs = run(patient(age=58, studies=[current, previous], labs=core_labs(vitd="32")))
    assert ids(recs) == {("DX-01", INFO), ("RISK-01", INFO), ("UNIV-01", INFO)}
    dx = by_id(recs)["DX-01"]
    assert dx.values["lowest_t"] == D("-1.3")
    assert dx.values["lowest_t_site"] == "lumbar spine L1-L2"


def test_s004_after_frax_below_threshold_repeat_dxa_in_2_years() -> None:
    """S004 continued: FRAX below thresholds -> no drug; repeat DXA in 2 years (24-month interval)."""
    current = study(
        months_ago(1),
        t(BoneSite.LUMBAR_SPINE, "-1.3", vertebrae=("L1", "L2")),
        t(BoneSite.TOTAL_HIP, "-0.3", Side.LEFT),
        t(BoneSite.FEMORAL_NECK, "-1.1", Side.LEFT),
    )
    recs = run(patient(age=58, studies=[current], fraxes=[frax(months_ago(0), "6.1", "0.4")], labs=core_labs()))
    assert ids(recs) == {("DX-01", INFO), ("TX-03", INFO), ("UNIV-01", INFO)}
    tx3 = by_id(recs)["TX-03"]
    assert tx3.values["interval_months"] == 24
    assert tx3.values["next_dxa_date"] == months_ago(1 - 24)


def test_s004_glucocorticoid_trigger_is_risk_stratified() -> None:
    """S004 says GC >= 2.5 mg/d for >= 3 months -> start a bisphosphonate; §5 D-07 risk-stratifies per ACR22.
    Same patient on prednisone 5 mg for 6 months: ACR moderate (T -1.3) -> GC-01 offers therapy (warning)."""
    current = study(months_ago(1), t(BoneSite.LUMBAR_SPINE, "-1.3", vertebrae=("L1", "L2")))
    recs = run(patient(age=58, studies=[current], labs=core_labs(vitd="32"), meds=[prednisone("5", months_ago(6))]))
    gc = by_id(recs)["GC-01"]
    assert gc.variant == "untreated" and gc.values["acr_category"] == "moderate"
