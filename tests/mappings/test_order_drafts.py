"""Reading `draftOrders` as real clients send it (decision table §10): lenient, never silently dropped."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from decision_core.drafts import DraftKind, DraftStatus
from decision_core.facts import DrugClass
from fhir_mappings.orders import read_drafts, repair_medication_request
from testkit.orders import ALENDRONATE_70, DENOSUMAB_60, PREDNISONE_5, UCUM, draft_orders, draft_request

PID = "pat-ord"


def _one(resource: dict, **kwargs: object):
    (draft,) = read_drafts(draft_orders(resource), **kwargs)  # type: ignore[arg-type]
    return draft


@pytest.mark.parametrize("shape", ["sandbox", "spec", "r4"])
def test_a_prednisone_draft_reads_its_strength_from_the_clinical_drug_name(shape: str) -> None:
    draft = _one(draft_request("request-123", PID, PREDNISONE_5, shape=shape, supply_days=30, repeats=2))

    assert draft.kind is DraftKind.MEDICATION and draft.reference == "MedicationRequest/request-123"
    assert draft.drug_class is DrugClass.GLUCOCORTICOID and draft.drug == "prednisone" and draft.route == "oral"
    assert draft.prednisone_eq_mg_per_day == Decimal(5)  # 1 {pill} x "Prednisone 5 MG Oral Tablet" x 1/day
    assert draft.planned_days == 90  # 30 days x (1 + 2 repeats)
    assert draft.status is DraftStatus.DRAFT and draft.selected


@pytest.mark.parametrize("shape", ["sandbox", "spec"])
def test_the_repair_gives_a_valid_r4_medication_request(shape: str) -> None:
    sent = draft_request("request-123", PID, ALENDRONATE_70, shape=shape)
    as_sent = copy.deepcopy(sent)
    with pytest.raises(ValueError):
        MedicationRequest.model_validate(sent)  # as sent, R4B refuses it

    repaired = repair_medication_request(sent)

    MedicationRequest.model_validate(repaired)
    assert repaired["intent"] == "proposal"
    assert repaired["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 1
    assert sent == as_sent  # the client's resource is left as it was


def test_bundle_without_type_nested_bundles_and_a_single_resource_are_read() -> None:
    first = draft_request("a", PID, ALENDRONATE_70)
    second = draft_request("b", PID, DENOSUMAB_60)
    nested = {"resourceType": "Bundle", "entry": [{"resource": first}, {"resource": draft_orders(second)}]}

    assert [d.reference for d in read_drafts(nested)] == ["MedicationRequest/a", "MedicationRequest/b"]
    assert [d.drug for d in read_drafts(first)] == ["alendronate"]


def test_order_select_marks_only_the_selections_by_reference_or_id() -> None:
    drafts = draft_orders(*(draft_request(rid, PID, ALENDRONATE_70) for rid in ("a", "b", "c")))

    read = read_drafts(drafts, ["MedicationRequest/b", "c"])

    assert [d.selected for d in read] == [False, True, True]


def test_empty_uncovered_unreadable_and_ending_drafts() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": draft_request("empty", PID, None)},
            {"resource": {"resourceType": "ServiceRequest", "id": "lab", "status": "draft"}},
            {"resource": draft_request("class-word", PID, ("0", "bisphosphonate"), text="bisphosphonate")},
            {"resource": {**draft_request("stop", PID, DENOSUMAB_60), "status": "stopped"}},
            {"resource": {**draft_request("dnp", PID, DENOSUMAB_60), "doNotPerform": True}},
            {"resource": draft_request("no-dose", PID, PREDNISONE_5, timing={})},
            {"fullUrl": "urn:uuid:x"},
        ],
    }

    read = read_drafts(bundle)

    assert [d.kind for d in read] == [
        DraftKind.EMPTY,
        DraftKind.NOT_COVERED,
        DraftKind.UNREADABLE,
        DraftKind.MEDICATION,
        DraftKind.MEDICATION,
        DraftKind.UNREADABLE,
        DraftKind.UNREADABLE,
    ]
    assert read[2].problem and "bisphosphonate" in read[2].problem
    assert read[3].ends_drug and read[3].sent_status == "stopped"
    assert read[4].ends_drug and read[4].sent_status == "do-not-perform"
    assert read[5].problem == "daily dose: no frequency is recorded"


def test_inhaled_glucocorticoids_are_not_covered_and_oncology_products_are_named() -> None:
    inhaled = draft_request("inh", PID, ("0", "budesonide 0.18 MG/ACTUAT Dry Powder Inhaler"))
    xgeva = draft_request("xgeva", PID, ("0", "Xgeva 120 MG/1.7ML Injection"))

    assert _one(inhaled).kind is DraftKind.NOT_COVERED
    read = _one(xgeva)
    assert read.drug_class is DrugClass.DENOSUMAB and read.oncology and read.matched_by_name


def test_bounds_period_counts_inclusive_days_and_a_mass_dose_is_taken_as_given() -> None:
    draft = draft_request(
        "p",
        PID,
        PREDNISONE_5,
        dose={"value": 2.5, "unit": "mg", "system": UCUM, "code": "mg"},
        bounds={"boundsPeriod": {"start": "2026-11-25", "end": "2027-02-22"}},
    )

    read = _one(draft)

    assert read.planned_days == 90 and read.start is not None and read.start.isoformat() == "2026-11-25"
    assert read.prednisone_eq_mg_per_day == Decimal("2.5")


def test_a_draft_of_the_wrong_types_is_unreadable_not_an_error() -> None:
    broken = {"resourceType": "MedicationRequest", "id": "x", "medicationCodeableConcept": ["not", "a", "concept"]}
    odd = {"resourceType": "MedicationRequest", "id": "y", "dosageInstruction": "daily", "medicationCodeableConcept": 7}

    kinds = {d.kind for d in read_drafts(draft_orders(broken, odd))}

    assert kinds <= {DraftKind.UNREADABLE, DraftKind.NOT_COVERED}


def test_a_draft_for_another_patient_is_not_read_as_this_patients_order() -> None:
    mine = draft_request("a", PID, ALENDRONATE_70)
    full_url = {
        **draft_request("b", PID, ALENDRONATE_70),
        "subject": {"reference": f"https://ehr.example.org/fhir/Patient/{PID}"},
    }
    other = draft_request("c", "someone-else", ALENDRONATE_70)
    no_subject = {k: v for k, v in draft_request("d", PID, ALENDRONATE_70).items() if k != "subject"}

    read = read_drafts(draft_orders(mine, full_url, other, no_subject), patient_id=PID)

    assert [d.kind for d in read] == [
        DraftKind.MEDICATION,
        DraftKind.MEDICATION,
        DraftKind.UNREADABLE,
        DraftKind.MEDICATION,
    ]
    assert read[2].problem == "its subject is another patient"
