"""Cards for patients run through the real decision core: every rule fires for one of them and renders valid cards."""

from __future__ import annotations

import re

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cards.catalog import default_catalog
from cards.render import render_cards
from cds_service.validation import response_problems
from decision_core.facts import (
    Analyte,
    BoneSite,
    DataDomain,
    DataIssue,
    FractureSite,
    IssueKind,
    MenopauseStatus,
    PatientFacts,
    PlannedProcedure,
    Sex,
    Side,
)
from decision_core.specs import PATIENT_VIEW_RULE_IDS
from tests.decision.builders import (
    alendronate,
    core_labs,
    days_ago,
    denosumab,
    fracture,
    frax,
    gate_labs,
    lab,
    months_ago,
    patient,
    prednisone,
    rid,
    run,
    study,
    t,
    z,
    zoledronic,
)

RAW_HTML = re.compile(r"<[A-Za-z/!?]")

PATIENTS: dict[str, PatientFacts] = {
    "zoledronic-holiday": patient(
        age=72,
        studies=[study(months_ago(14), t(BoneSite.TOTAL_HIP, "-2.1", Side.LEFT))],
        meds=[zoledronic(months_ago(45), months_ago(33), months_ago(21))],
        labs=core_labs(months_ago(1)),
    ),
    "osteopenia-no-frax-no-labs": patient(
        age=62,
        studies=[
            study(months_ago(2), t(BoneSite.TOTAL_HIP, "-1.1", Side.LEFT), t(BoneSite.FEMORAL_NECK, "-1.7", Side.LEFT))
        ],
    ),
    "osteoporosis-gates-pass": patient(
        age=71, studies=[study(months_ago(3), t(BoneSite.LUMBAR_SPINE, "-2.7"))], labs=core_labs(months_ago(1))
    ),
    "recent-vertebral-fracture": patient(
        age=78,
        studies=[study(months_ago(3), t(BoneSite.LUMBAR_SPINE, "-2.9"))],
        fractures=[fracture(FractureSite.VERTEBRAL, months_ago(4))],
    ),
    "osteopenia-frax-below": patient(
        age=67,
        studies=[study(months_ago(13), t(BoneSite.FEMORAL_NECK, "-2.1"))],
        fraxes=[frax(months_ago(13), "11", "1.4")],
        labs=core_labs(months_ago(1)),
    ),
    "spinal-fusion-with-osteoporosis": patient(
        age=68,
        sex=Sex.MALE,
        studies=[study(months_ago(8), t(BoneSite.LUMBAR_SPINE, "-2.6"))],
        procedures=[
            PlannedProcedure("spinal-instrumentation", rid("ServiceRequest"), "Lumbar fusion L4-L5", months_ago(-2))
        ],
    ),
    "prednisone-no-dxa": patient(
        age=58, menopause=MenopauseStatus.POSTMENOPAUSAL, meds=[prednisone("10", months_ago(5))]
    ),
    "denosumab-lapsed": patient(
        age=74,
        studies=[study(months_ago(20), t(BoneSite.TOTAL_HIP, "-2.6"))],
        meds=[denosumab(months_ago(20), months_ago(14), months_ago(8))],
        labs=core_labs(months_ago(2)),
    ),
    "alendronate-low-egfr-six-years": patient(
        age=81,
        sex=Sex.MALE,
        studies=[study(months_ago(10), t(BoneSite.TOTAL_HIP, "-2.4"))],
        meds=[alendronate(months_ago(74))],
        labs=core_labs(months_ago(1), male=True, egfr="29"),
    ),
    "denosumab-due-low-calcium": patient(
        age=76,
        studies=[study(months_ago(10), t(BoneSite.TOTAL_HIP, "-2.6"))],
        meds=[denosumab(months_ago(11), days_ago(165))],
        labs=core_labs(days_ago(10), ca="7.9"),
    ),
    "osteopenia-vitamin-d-low": patient(
        age=69,
        studies=[study(months_ago(4), t(BoneSite.FEMORAL_NECK, "-1.8"))],
        labs=core_labs(months_ago(1), vitd="15"),
    ),
    "denosumab-dxa-old": patient(
        age=70,
        studies=[study(months_ago(30), t(BoneSite.TOTAL_HIP, "-2.6"))],
        meds=[denosumab(months_ago(33), months_ago(27), months_ago(21), months_ago(15), months_ago(9), months_ago(3))],
        labs=core_labs(months_ago(1)),
    ),
    "osteopenia-stale-dxa": patient(
        age=72,
        sex=Sex.MALE,
        studies=[study(months_ago(43), t(BoneSite.LUMBAR_SPINE, "-1.6"))],
        labs=core_labs(months_ago(1), male=True),
    ),
    "vitamin-d-without-unit": patient(
        age=70,
        studies=[study(months_ago(4), t(BoneSite.FEMORAL_NECK, "-1.8"))],
        labs=(lab(Analyte.VITAMIN_D_25OH, "45", days_ago(20), unit=None), *gate_labs(months_ago(1))),
        issues=[
            DataIssue(
                "25-OH D 2026-02-09",
                "unit missing <script>",
                "Observation/x",
                kind=IssueKind.UNIT_MISSING,
                domain=DataDomain.LABS,
                topic=Analyte.VITAMIN_D_25OH,
            )
        ],
    ),
    "young-low-z": patient(
        age=38,
        menopause=MenopauseStatus.PREMENOPAUSAL,
        studies=[study(months_ago(2), z(BoneSite.LUMBAR_SPINE, "-2.3"))],
    ),
}


def _cards(facts: PatientFacts) -> list[dict]:
    return [r.card for r in render_cards(run(facts), default_catalog(), "pat-7")]


@pytest.mark.parametrize("name", list(PATIENTS))
def test_core_recommendations_render_as_valid_cards(name: str) -> None:
    cards = _cards(PATIENTS[name])

    assert cards
    assert response_problems({"cards": cards}) == []
    for card in cards:
        assert len(card["summary"]) < 140 and not RAW_HTML.search(card["detail"])
        assert "\nEvidence: " in card["detail"]
        for suggestion in card.get("suggestions", ()):
            for action in suggestion["actions"]:
                resource = action["resource"]
                {"ServiceRequest": ServiceRequest, "MedicationRequest": MedicationRequest}[
                    resource["resourceType"]
                ].model_validate(resource)


def test_the_sample_patients_together_reach_every_card_rule() -> None:
    seen = {card["source"]["topic"]["code"] for facts in PATIENTS.values() for card in _cards(facts)}

    assert seen == set(PATIENT_VIEW_RULE_IDS)  # the order rules: tests/integration/test_order_hooks.py
