"""Suggestions carry draft FHIR R4 resources only, valid against the R4B models, for the patient in context."""

from __future__ import annotations

import copy

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cards.suggestions import action_texts, build_suggestions
from decision_core.recommendation import ActionKind, SuggestedAction

EVERY_ACTION = [
    SuggestedAction(ActionKind.ORDER_DXA),
    SuggestedAction(ActionKind.ORDER_LABS, {"labs": tuple(action_texts()["order-labs"]["labs"])}),
    SuggestedAction(ActionKind.DRAFT_ALENDRONATE),
    SuggestedAction(ActionKind.DRAFT_CALCIUM, {"mg_per_day": 1200}),
    SuggestedAction(ActionKind.DRAFT_VITAMIN_D, {"iu_per_day": 800}),
    SuggestedAction(ActionKind.REFERRAL, {"specialty": "endocrinology"}),
]


@pytest.mark.parametrize("action", EVERY_ACTION, ids=[a.kind.value for a in EVERY_ACTION])
def test_every_action_is_a_valid_draft_for_the_patient(action: SuggestedAction) -> None:
    (suggestion,) = build_suggestions([action], "pat-9")

    assert suggestion["label"] and "{" not in suggestion["label"]
    assert suggestion["actions"]
    for item in suggestion["actions"]:
        resource = item["resource"]
        assert item["type"] == "create" and item["description"] and "{" not in item["description"]
        assert resource["status"] == "draft" and resource["intent"] == "proposal"
        assert resource["subject"] == {"reference": "Patient/pat-9"}
        model = {"ServiceRequest": ServiceRequest, "MedicationRequest": MedicationRequest}[resource["resourceType"]]
        model.model_validate(resource)


def test_missing_labs_become_one_suggestion_with_one_order_per_lab() -> None:
    (suggestion,) = build_suggestions([SuggestedAction(ActionKind.ORDER_LABS, {"labs": ("25-OH D", "eGFR")})], "p")

    assert suggestion["label"] == "Order labs: 25-OH D, eGFR"
    codes = [[c["code"] for c in a["resource"]["code"].get("coding", ())] for a in suggestion["actions"]]
    assert codes == [["62292-8"], ["2160-0", "98979-8"]]


def test_doses_are_filled_in() -> None:
    calcium, vitamin_d = build_suggestions(
        [
            SuggestedAction(ActionKind.DRAFT_CALCIUM, {"mg_per_day": 1000}),
            SuggestedAction(ActionKind.DRAFT_VITAMIN_D, {"iu_per_day": 600}),
        ],
        "p",
    )

    assert "1000 mg/day" in calcium["label"]
    dose = vitamin_d["actions"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert dose["value"] == 600 and "600 IU" in vitamin_d["label"]


def test_each_suggestion_has_a_fresh_uuid() -> None:
    first, second = build_suggestions([SuggestedAction(ActionKind.ORDER_DXA)] * 2, "p")

    assert first["uuid"] != second["uuid"]


def test_a_glucocorticoid_dxa_asks_for_vertebral_fracture_assessment() -> None:
    (plain,) = build_suggestions([SuggestedAction(ActionKind.ORDER_DXA)], "p")
    (vfa,) = build_suggestions([SuggestedAction(ActionKind.ORDER_DXA, {"with_vfa": True})], "p")

    assert "vertebral fracture assessment" not in plain["label"]
    assert "vertebral fracture assessment" in vfa["label"]
    assert "VFA" in vfa["actions"][0]["resource"]["code"]["text"]
    ServiceRequest.model_validate(vfa["actions"][0]["resource"])


def test_a_referral_carries_its_reason() -> None:
    (referral,) = build_suggestions(
        [SuggestedAction(ActionKind.REFERRAL, {"specialty": "endocrinology", "reason": "low BMD for age"})], "p"
    )

    resource = referral["actions"][0]["resource"]
    assert resource["reasonCode"] == [{"text": "low BMD for age"}]
    ServiceRequest.model_validate(resource)


@pytest.mark.parametrize("action", EVERY_ACTION, ids=[a.kind.value for a in EVERY_ACTION])
def test_each_card_gets_its_own_copy_of_a_prepared_draft(action: SuggestedAction) -> None:
    """Drafts are prepared once per kind and parameters; what one response does with its resources (an EHR
    adapter, a site rule) must not reach the next patient's card."""
    (first,) = build_suggestions([action], "pat-1")
    expected = copy.deepcopy(build_suggestions([action], "pat-1")[0]["actions"])
    for item in first["actions"]:
        item["resource"]["status"] = "active"
        for value in item["resource"].values():
            if isinstance(value, dict):
                value.clear()
            elif isinstance(value, list):
                value.append("changed")
    (second,) = build_suggestions([action], "pat-2")
    for got, want in zip(second["actions"], expected, strict=True):
        assert got["resource"] == {**want["resource"], "subject": {"reference": "Patient/pat-2"}}


def test_a_prepared_draft_must_be_plain_json() -> None:
    from datetime import date

    from cards.suggestions import _encoded

    assert _encoded({"resourceType": "ServiceRequest", "code": {"text": "DXA"}}) == (
        b'{"resourceType":"ServiceRequest","code":{"text":"DXA"}}'
    )
    with pytest.raises(TypeError, match="not plain JSON"):
        _encoded({"resourceType": "MedicationRequest", "authoredOn": date(2026, 1, 1)})
