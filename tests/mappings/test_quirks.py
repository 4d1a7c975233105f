"""The known-quirk table (fhir_mappings.quirks): each quirk repaired as clients send it, the caller's dict left
alone, and what is not a known quirk still validated strictly."""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

from fhir_mappings.fhir_json import parse
from fhir_mappings.quirks import QUIRKS, repair_quirks

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def draft(**members: Any) -> dict[str, Any]:
    """A prednisone draft as a CDS client sends it: no intent, reasonCode and category as single objects, the
    dose STU3-style directly under dosageInstruction."""
    base: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "312617"}]},
        "subject": {"reference": "Patient/p1"},
        "reasonCode": {"text": "giant cell arteritis"},
        "category": {"text": "outpatient"},
        "dosageInstruction": {
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseQuantity": {"value": 8, "unit": "tablet"},
        },
    }
    base.update(members)
    return base


def test_each_known_quirk_is_repaired_and_named() -> None:
    raw = draft()
    before = copy.deepcopy(raw)

    repaired = repair_quirks(raw)

    assert repaired.quirks == ("single-object-for-array", "missing-intent", "stu3-dose")
    assert raw == before  # the caller's dict is not changed
    resource = repaired.resource
    assert resource["intent"] == "order"
    assert resource["reasonCode"] == [{"text": "giant cell arteritis"}]
    assert resource["dosageInstruction"][0]["doseAndRate"] == [{"doseQuantity": {"value": 8, "unit": "tablet"}}]
    assert "doseQuantity" not in resource["dosageInstruction"][0]


def test_the_repaired_draft_validates_with_its_dose_and_reason() -> None:
    model = parse(draft())

    assert model is not None
    assert model.intent == "order"
    assert model.dosageInstruction[0].doseAndRate[0].doseQuantity.value == 8
    assert model.reasonCode[0].text == "giant cell arteritis"


def test_a_conformant_resource_is_not_touched() -> None:
    conformant = draft(
        intent="plan",
        reasonCode=[{"text": "x"}],
        category=[{"text": "y"}],
        dosageInstruction=[{"doseAndRate": [{"doseQuantity": {"value": 1}}]}],
    )
    assert repair_quirks(conformant).quirks == ()
    assert repair_quirks(conformant).resource == conformant


def test_what_is_not_a_known_quirk_still_fails_validation() -> None:
    assert parse(draft(status={"code": "active"})) is None  # a status that is an object is not guessed
    assert parse(draft(intent={"code": "order"})) is None


def test_every_quirk_has_a_name_and_a_repair() -> None:
    assert len({q.name for q in QUIRKS}) == len(QUIRKS)


def test_dose_and_rate_as_one_object_is_wrapped_and_a_stu3_dose_next_to_it_is_appended() -> None:
    raw = draft(
        dosageInstruction=[
            {"doseAndRate": {"doseQuantity": {"value": 8, "unit": "tablet"}}},
            {"doseAndRate": [{"rateQuantity": {"value": 1, "unit": "mL/h"}}], "doseQuantity": {"value": 2}},
        ]
    )
    repaired = repair_quirks(raw)

    assert repaired.quirks == ("single-object-for-array", "missing-intent", "single-object-dose-and-rate", "stu3-dose")
    first, second = repaired.resource["dosageInstruction"]
    assert first["doseAndRate"] == [{"doseQuantity": {"value": 8, "unit": "tablet"}}]
    assert second == {"doseAndRate": [{"rateQuantity": {"value": 1, "unit": "mL/h"}}, {"doseQuantity": {"value": 2}}]}
    assert parse(raw) is not None


def test_the_order_hooks_read_a_missing_intent_as_a_proposal_with_the_same_table() -> None:
    from fhir_mappings.orders import DRAFT_READING, repair_medication_request

    assert repair_quirks(draft(), DRAFT_READING).resource["intent"] == "proposal"
    assert repair_medication_request(draft()) == repair_quirks(draft(), DRAFT_READING).resource
    assert repair_quirks(draft(reasonReference={"reference": "Condition/gca"})).resource["reasonReference"] == [
        {"reference": "Condition/gca"}
    ]


def test_any_mapping_sent_for_an_array_is_wrapped_and_lists_are_left_alone() -> None:
    reason = MappingProxyType({"text": "giant cell arteritis"})
    rate = MappingProxyType({"doseQuantity": {"value": 8}})
    repaired = repair_quirks(
        draft(reasonCode=reason, category=[{"text": "outpatient"}], dosageInstruction=[{"doseAndRate": rate}])
    )
    assert repaired.quirks == ("single-object-for-array", "missing-intent", "single-object-dose-and-rate")
    assert repaired.resource["reasonCode"] == [reason]
    assert repaired.resource["category"] == [{"text": "outpatient"}]
    assert repaired.resource["dosageInstruction"] == [{"doseAndRate": [rate]}]
