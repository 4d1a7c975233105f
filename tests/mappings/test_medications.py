"""Medications: every resource type and drug encoding gives the same exposure; doses and C-06/C-07 helpers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from decision_core.data_issues import affected_rules
from decision_core.dates import add_months, months_between
from decision_core.facts import (
    DrugClass,
    IssueKind,
    MedicationExposure,
    MedicationSource,
    MedicationStatus,
    PatientFacts,
)
from decision_core.therapy import dose_dates, oral_bisphosphonate_months, zoledronic_infusion_count
from fhir_mappings.extract import extract_facts
from fhir_mappings.medications import route_from_text

from .builders import (
    ATC,
    NOW,
    RXNORM,
    daily_dosage,
    med_admin,
    med_request,
    med_statement,
    patient,
    quantity,
    rx,
)

ALENDRONATE_SCD = rx("904419", "Alendronic acid 10 MG Oral Tablet")
PREDNISONE_5 = rx("312617", "prednisone 5 MG Oral Tablet")
PREDNISONE_IN = rx("8640", "Prednisone")
DENOSUMAB = rx("993452", "1 ML denosumab 60 MG/ML Prefilled Syringe")
ZOLEDRONIC = rx("1114085", "100 ML zoledronic acid 0.04 MG/ML Injection")
MG = {"system": "http://unitsofmeasure.org"}


def _facts(*resources: dict[str, Any]) -> PatientFacts:
    return extract_facts([patient(), *resources], NOW)


def _only(facts: PatientFacts) -> MedicationExposure:
    (m,) = facts.medications
    return m


def _mg(value: Any) -> dict[str, Any]:
    return quantity(value, "mg", "mg")


# --- drug identity across resource types and codings ---


@pytest.mark.parametrize(
    ("resource", "source"),
    [
        pytest.param(
            med_statement("m", ALENDRONATE_SCD, effectivePeriod={"start": "2024-01-01"}),
            MedicationSource.STATEMENT,
            id="statement",
        ),
        pytest.param(med_request("m", ALENDRONATE_SCD), MedicationSource.REQUEST, id="request"),
        pytest.param(med_admin("m", ALENDRONATE_SCD), MedicationSource.ADMINISTRATION, id="administration"),
        pytest.param(
            med_request("m", rx("904420", "Alendronic acid 10 MG [Fosamax]")),
            MedicationSource.REQUEST,
            id="synthea-branded",
        ),
        pytest.param(med_request("m", rx("46041", "Alendronate")), MedicationSource.REQUEST, id="ingredient"),
        pytest.param(
            med_request("m", rx("M05BA04", "alendronic acid", system=ATC)), MedicationSource.REQUEST, id="atc"
        ),
        pytest.param(med_request("m", rx("M05BB03", system=ATC)), MedicationSource.REQUEST, id="atc-combination"),
        pytest.param(
            med_request(
                "m",
                {"medicationReference": {"reference": "#med1"}},
                contained=[
                    {
                        "resourceType": "Medication",
                        "id": "med1",
                        "code": {"coding": [{"system": RXNORM, "code": "904419"}]},
                    }
                ],
            ),
            MedicationSource.REQUEST,
            id="contained-medication",
        ),
        pytest.param(
            med_statement(
                "m",
                {"medicationReference": {"reference": "Medication/abc"}},
                effectivePeriod={"start": "2024-01-01"},
            ),
            MedicationSource.STATEMENT,
            id="referenced-medication",
        ),
        pytest.param(
            med_request("m", {"medicationReference": {"reference": "urn:uuid:abc"}}),
            MedicationSource.REQUEST,
            id="urn-uuid-medication",
        ),
        pytest.param(
            med_request("m", ALENDRONATE_SCD, category={"coding": [{"code": "outpatient"}]}),
            MedicationSource.REQUEST,
            id="sandbox-non-array-category",
        ),
    ],
)
def test_alendronate_in_every_encoding(resource: dict[str, Any], source: MedicationSource) -> None:
    medication = {
        "resourceType": "Medication",
        "id": "abc",
        "code": {"coding": [{"system": RXNORM, "code": "46041"}]},
    }
    facts = extract_facts([patient(), medication, resource], NOW)
    assert facts.unreadable_records == 0
    # ATC M05BB03 is alendronate with colecalciferol: the vitamin D is its own exposure
    (m,) = [e for e in facts.medications if e.drug_class is not DrugClass.VITAMIN_D]
    assert (m.drug_class, m.drug, m.source, m.route) == (
        DrugClass.BISPHOSPHONATE_ORAL,
        "alendronate",
        source,
        "oral",
    )
    assert m.record == f"{resource['resourceType']}/m"


@pytest.mark.parametrize(
    ("med", "drug_class", "drug"),
    [
        (ZOLEDRONIC, DrugClass.ZOLEDRONIC_ACID, "zoledronic acid"),
        (rx("77655"), DrugClass.ZOLEDRONIC_ACID, "zoledronic acid"),
        (DENOSUMAB, DrugClass.DENOSUMAB, "denosumab"),
        (rx("M05BX04", system=ATC), DrugClass.DENOSUMAB, "denosumab"),
        (rx("H05AA02", system=ATC), DrugClass.ANABOLIC, "teriparatide"),
        (rx("H05AA04", system=ATC), DrugClass.ANABOLIC, "abaloparatide"),
        (rx("M05BX06", system=ATC), DrugClass.ANABOLIC, "romosozumab"),
        (rx("72143"), DrugClass.SERM, "raloxifene"),
        (rx("1441392"), DrugClass.SERM, "bazedoxifene"),
        (rx("310197"), DrugClass.ESTROGEN, "conjugated estrogens"),
        (rx("1897"), DrugClass.CALCIUM, "calcium"),
        (rx("994830"), DrugClass.VITAMIN_D, "vitamin d"),
        (rx("199224"), DrugClass.AROMATASE_INHIBITOR, "anastrozole"),
        (rx("752899"), DrugClass.ANDROGEN_DEPRIVATION, "leuprolide"),
        (rx("310592"), DrugClass.ANDROGEN_DEPRIVATION, "goserelin"),
    ],
)
def test_drug_classes(med: dict[str, Any], drug_class: DrugClass, drug: str) -> None:
    # a combination (Duavee) gives one exposure per ingredient: the conjugated estrogens are estrogen (C-06)
    (m,) = [e for e in _facts(med_request("m", med)).medications if e.drug_class is drug_class]
    assert (m.drug_class, m.drug, m.matched_by_text) == (drug_class, drug, False)


@pytest.mark.parametrize(
    "med",
    [
        {"medicationCodeableConcept": {"text": "Teriparatide 20 MCG/DOSE Pen Injector"}},
        {
            "medicationCodeableConcept": {
                "coding": [
                    {
                        "system": "http://local/ndc",
                        "code": "0002-8400",
                        "display": "FORTEO (teriparatide) injection",
                    }
                ]
            }
        },
        {"medicationReference": {"display": "teriparatide"}},
    ],
)
def test_anabolic_recognised_from_ingredient_text_when_no_code_is_listed(med: dict[str, Any]) -> None:
    m = _only(_facts(med_statement("m", med)))
    assert (m.drug_class, m.drug, m.matched_by_text) == (DrugClass.ANABOLIC, "teriparatide", True)


def test_unrelated_text_is_no_drug_and_a_named_prednisone_is_recognised_by_name() -> None:
    assert _facts(med_statement("m", {"medicationCodeableConcept": {"text": "Metformin 500 mg"}})).medications == ()
    # issue 11: a drug with no listed code is recognised by name (and flagged as such), no longer dropped
    (named,) = _facts(med_statement("m", {"medicationCodeableConcept": {"text": "Prednisone 5 mg"}})).medications
    assert (named.drug, named.matched_by_text) == ("prednisone", True)


# --- statuses ---


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (med_statement("m", ALENDRONATE_SCD, status="not-taken"), None),
        (med_statement("m", ALENDRONATE_SCD, status="entered-in-error"), None),
        (med_statement("m", ALENDRONATE_SCD, status="intended"), MedicationStatus.PLANNED),
        (med_statement("m", ALENDRONATE_SCD, status="stopped"), MedicationStatus.STOPPED),
        (med_statement("m", ALENDRONATE_SCD, status="on-hold"), MedicationStatus.ON_HOLD),
        (med_request("m", ALENDRONATE_SCD, status="cancelled"), None),
        (med_request("m", ALENDRONATE_SCD, status="draft"), MedicationStatus.PLANNED),
        (med_request("m", ALENDRONATE_SCD, intent="proposal"), MedicationStatus.PLANNED),
        (med_request("m", ALENDRONATE_SCD, intent="plan"), MedicationStatus.PLANNED),
        (med_request("m", ALENDRONATE_SCD, status="completed"), MedicationStatus.COMPLETED),
        (med_request("m", ALENDRONATE_SCD, status="unknown"), MedicationStatus.UNKNOWN),
        (med_admin("m", ALENDRONATE_SCD, status="not-done"), None),
        (med_admin("m", ALENDRONATE_SCD, status="entered-in-error"), None),
        (med_admin("m", ALENDRONATE_SCD, status="in-progress"), MedicationStatus.ACTIVE),
    ],
)
def test_statuses(resource: dict[str, Any], expected: MedicationStatus | None) -> None:
    meds = _facts(resource).medications
    assert [m.status for m in meds] == ([] if expected is None else [expected])


# --- doses ---


@pytest.mark.parametrize(
    ("resource", "mg_day", "pred_eq"),
    [
        pytest.param(
            med_request("m", PREDNISONE_IN, dosage=[daily_dosage(_mg(10))]),
            "10",
            "10",
            id="structured-mg-dose",
        ),
        pytest.param(
            med_request("m", PREDNISONE_5, dosage=[daily_dosage({"value": 1})]),
            "5",
            "5",
            id="synthea-unitless-count-x-strength",
        ),
        pytest.param(
            med_request("m", PREDNISONE_5, dosage=[daily_dosage(quantity(2, "tablet", "{tbl}"), 2)]),
            "20",
            "20",
            id="tablets-twice-daily",
        ),
        pytest.param(
            med_request(
                "m",
                PREDNISONE_5,
                dosage=[
                    {
                        "timing": {"code": {"coding": [{"code": "BID"}]}},
                        "doseAndRate": [{"doseQuantity": {"value": 1}}],
                    }
                ],
            ),
            "10",
            "10",
            id="timing-code-bid",
        ),
        pytest.param(
            med_request("m", PREDNISONE_IN, dosage=[daily_dosage(_mg(10), 1, 2, "d")]),
            "5",
            "5",
            id="every-other-day",
        ),
        pytest.param(
            med_request("m", PREDNISONE_IN, dosage=[daily_dosage(quantity(0.005, "g", "g"))]),
            "5",
            "5",
            id="dose-in-grams",
        ),
        pytest.param(med_statement("m", rx("6902"), dosage=[daily_dosage(_mg(4))]), "4", "5", id="methylpred"),
        pytest.param(med_statement("m", rx("3264"), dosage=[daily_dosage(_mg(0.75))]), "0.75", "5", id="dexa"),
        pytest.param(
            med_statement("m", rx("3264"), dosage=[daily_dosage(_mg(1.125))]),
            "1.125",
            "7.5",
            id="dexa-exactly-7.5",
        ),
        pytest.param(
            # hydrocortisone with no route could be a cream or an enema (unclassified, DATA-03): the route is given
            med_statement("m", rx("5492"), dosage=[{**daily_dosage(_mg(20)), "route": {"text": "Oral"}}]),
            "20",
            "5",
            id="hydrocortisone",
        ),
        pytest.param(
            med_statement("m", rx("828248"), dosage=[daily_dosage({"value": 1})]),
            "25",
            "5",
            id="cortisone-tablet",
        ),
        pytest.param(
            med_statement("m", rx("198142"), dosage=[daily_dosage({"value": 1})]),
            "5",
            "5",
            id="prednisolone-tablet",
        ),
        pytest.param(
            med_request(
                "m",
                {"medicationReference": {"reference": "#p"}},
                dosage=[daily_dosage({"value": 3})],
                contained=[
                    {
                        "resourceType": "Medication",
                        "id": "p",
                        "code": {"coding": [{"system": RXNORM, "code": "8640"}]},
                        "ingredient": [
                            {
                                "itemCodeableConcept": {"text": "prednisone"},
                                "strength": {
                                    "numerator": {"value": 2.5, "code": "mg"},
                                    "denominator": {"value": 1, "code": "{tbl}"},
                                },
                            }
                        ],
                    }
                ],
            ),
            "7.5",
            "7.5",
            id="contained-medication-strength",
        ),
        pytest.param(
            med_request("m", rx("8640", text="prednisone 7.5 MG Oral Tablet"), dosage=[daily_dosage({"value": 2})]),
            "15",
            "15",
            id="strength-from-text",
        ),
        pytest.param(
            med_request(
                "m",
                PREDNISONE_IN,
                dosage=[{**daily_dosage(_mg(10)), "sequence": 1}, {**daily_dosage(_mg(5)), "sequence": 2}],
            ),
            "10",
            "10",
            id="taper-current-step",
        ),
        pytest.param(
            med_request("m", PREDNISONE_IN, dosage=[daily_dosage(_mg(5)), daily_dosage(_mg(2.5))]),
            "7.5",
            "7.5",
            id="two-concurrent-lines",
        ),
    ],
)
def test_glucocorticoid_doses(resource: dict[str, Any], mg_day: str, pred_eq: str) -> None:
    facts = _facts(resource)
    m = _only(facts)
    assert m.drug_class is DrugClass.GLUCOCORTICOID
    assert (m.dose_mg_per_day, m.prednisone_eq_mg_per_day) == (Decimal(mg_day), Decimal(pred_eq))
    assert facts.data_issues == ()


def test_synthea_shaped_medication_request() -> None:
    """The dosage shape the Synthea R4 exporter writes: sequence, repeat with decimal period, typed
    doseAndRate with a unitless dose, asNeededBoolean false."""
    raw = med_request(
        "m",
        rx("904419", "Alendronic acid 10 MG Oral Tablet", text="Alendronic acid 10 MG Oral Tablet"),
        authored="2019-05-01T10:00:00-04:00",
        encounter={"reference": "urn:uuid:enc"},
        requester={"reference": "urn:uuid:prac", "display": "Dr. X"},
        dosageInstruction=[
            {
                "sequence": 1,
                "timing": {"repeat": {"frequency": 1, "period": 1.0, "periodUnit": "d"}},
                "asNeededBoolean": False,
                "doseAndRate": [
                    {
                        "type": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/dose-rate-type",
                                    "code": "ordered",
                                }
                            ]
                        },
                        "doseQuantity": {"value": 1.0},
                    }
                ],
            }
        ],
    )
    raw["subject"] = {"reference": "urn:uuid:p1"}
    m = _only(_facts(raw))
    assert (m.drug_class, m.status, m.start, m.dose_mg_per_day) == (
        DrugClass.BISPHOSPHONATE_ORAL,
        MedicationStatus.ACTIVE,
        date(2019, 5, 1),
        Decimal("10"),
    )


def test_structured_dose_and_timing_frequency_encodings_agree() -> None:
    a = _only(_facts(med_request("a", PREDNISONE_IN, dosage=[daily_dosage(_mg(10))])))
    b = _only(_facts(med_request("b", PREDNISONE_5, dosage=[daily_dosage({"value": 1}, frequency=2)])))
    c = _only(
        _facts(
            med_statement(
                "c",
                PREDNISONE_5,
                dosage=[
                    {
                        "timing": {"code": {"coding": [{"code": "BID"}]}},
                        "doseAndRate": [{"doseQuantity": {"value": 1}}],
                    }
                ],
            )
        )
    )
    assert a.prednisone_eq_mg_per_day == b.prednisone_eq_mg_per_day == c.prednisone_eq_mg_per_day == Decimal("10")


def test_weekly_alendronate_daily_equivalent() -> None:
    m = _only(_facts(med_request("m", rx("46041"), dosage=[daily_dosage(_mg(70), 1, 1, "wk")])))
    assert m.dose_mg_per_day == Decimal("10") and m.prednisone_eq_mg_per_day is None


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(med_request("m", PREDNISONE_IN), id="no-dosage"),
        pytest.param(
            med_request("m", PREDNISONE_IN, dosage=[{"doseAndRate": [{"doseQuantity": _mg(5)}]}]),
            id="no-timing",
        ),
        pytest.param(med_request("m", PREDNISONE_IN, dosage=[daily_dosage({"value": 1})]), id="count-no-strength"),
        pytest.param(
            med_request("m", PREDNISONE_IN, dosage=[{**daily_dosage(_mg(5)), "asNeededBoolean": True}]),
            id="as-needed",
        ),
        pytest.param(med_request("m", PREDNISONE_IN, dosage=[{"text": "5 mg daily"}]), id="free-text-only"),
    ],
)
def test_glucocorticoid_without_interpretable_dose_is_reported(resource: dict[str, Any]) -> None:
    facts = _facts(resource)
    m = _only(facts)
    assert m.prednisone_eq_mg_per_day is None
    (issue,) = facts.data_issues
    assert (issue.reason, issue.record, affected_rules(issue)) == (
        "Glucocorticoid with no dose",
        "MedicationRequest/m",
        ("GC-01",),
    )


def test_old_glucocorticoid_without_dose_is_not_reported() -> None:
    facts = _facts(
        med_statement(
            "m",
            PREDNISONE_IN,
            status="completed",
            effectivePeriod={"start": "2015-01-01", "end": "2015-03-01"},
        )
    )
    assert len(facts.medications) == 1 and facts.data_issues == ()


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(med_statement("m", rx("19831", "Budesonide"), dosage=[daily_dosage(_mg(9))]), id="budesonide"),
        pytest.param(med_statement("m", rx("1366550")), id="oral-budesonide-gut-selective"),
        pytest.param(med_statement("m", rx("5492", text="hydrocortisone 1 % Topical Cream")), id="topical-form"),
        pytest.param(
            med_statement("m", rx("8638"), dosage=[{**daily_dosage({"value": 1}), "route": {"text": "Ophthalmic"}}]),
            id="eye-route",
        ),
        pytest.param(
            med_statement(
                "m",
                rx("3264"),
                dosage=[{**daily_dosage(_mg(1)), "route": {"coding": [{"display": "Inhalation"}]}}],
            ),
            id="inhaled-route",
        ),
        pytest.param(med_statement("m", rx("6902", text="methylprednisolone nasal spray")), id="nasal-form"),
    ],
)
def test_non_systemic_glucocorticoids_do_not_count(resource: dict[str, Any]) -> None:
    facts = _facts(resource)
    assert facts.medications == () and facts.data_issues == ()


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ("Oral route", "oral"),
        ("Intravenous", "intravenous"),
        ("IM", "intramuscular"),
        ("Subcutaneous route", "subcutaneous"),
        ("Inhalation", "inhaled"),
        ("Topical", "topical"),
        ("by mouth", "oral"),
        (None, None),
        ("something else", None),
    ],
)
def test_route_words(route: str | None, expected: str | None) -> None:
    assert route_from_text(route) == expected


def test_systemic_route_is_recorded() -> None:
    m = _only(
        _facts(med_statement("m", rx("6902"), dosage=[{**daily_dosage(_mg(4)), "route": {"text": "Intravenous"}}]))
    )
    assert (m.route, m.prednisone_eq_mg_per_day) == ("intravenous", Decimal("5"))


# --- dates, durations and administrations ---


def test_planned_duration_sources() -> None:
    supply = _only(
        _facts(
            med_request(
                "m",
                PREDNISONE_5,
                dosage=[daily_dosage({"value": 1})],
                dispenseRequest={
                    "expectedSupplyDuration": {"value": 30, "unit": "days", "code": "d"},
                    "numberOfRepeatsAllowed": 2,
                },
            )
        )
    )
    assert supply.planned_days == 90
    bounded = _only(
        _facts(
            med_request(
                "m",
                PREDNISONE_5,
                dosage=[
                    {
                        **daily_dosage({"value": 1}),
                        "timing": {
                            "repeat": {
                                "frequency": 1,
                                "period": 1,
                                "periodUnit": "d",
                                "boundsDuration": {"value": 3, "code": "mo"},
                            }
                        },
                    }
                ],
            )
        )
    )
    assert bounded.planned_days == 91
    period = _only(
        _facts(
            med_request(
                "m",
                PREDNISONE_5,
                dosage=[
                    {
                        "doseAndRate": [{"doseQuantity": {"value": 1}}],
                        "timing": {
                            "repeat": {
                                "frequency": 1,
                                "period": 1,
                                "periodUnit": "d",
                                "boundsPeriod": {"start": "2025-01-01", "end": "2025-03-31"},
                            }
                        },
                    }
                ],
            )
        )
    )
    assert (period.planned_days, period.start, period.end) == (90, date(2025, 1, 1), date(2025, 3, 31))
    statement = _only(
        _facts(
            med_statement(
                "m",
                PREDNISONE_5,
                dosage=[daily_dosage({"value": 1})],
                effectivePeriod={"start": "2024-01-01", "end": "2024-06-30"},
            )
        )
    )
    assert (statement.start, statement.end, statement.planned_days) == (
        date(2024, 1, 1),
        date(2024, 6, 30),
        182,
    )


def test_denosumab_without_dose_date_is_reported() -> None:
    facts = _facts(med_request("m", DENOSUMAB))
    (issue,) = facts.data_issues
    assert affected_rules(issue) == ("SAFE-01", "SAFE-03") and "administration date" in issue.reason
    assert (issue.kind, issue.topic) == (IssueKind.NO_DOSE_DATE, DrugClass.DENOSUMAB)


def test_denosumab_administration_dates() -> None:
    facts = _facts(
        med_request("r", DENOSUMAB),
        med_admin("a1", DENOSUMAB, when="2024-06-01"),
        med_admin("a2", DENOSUMAB, when="2024-12-02T10:00:00+01:00"),
    )
    assert facts.data_issues == ()
    assert max(d for m in facts.medications for d in dose_dates(m)) == date(2024, 12, 2)


def test_single_dated_statement_of_an_injectable_is_an_administration() -> None:
    facts = _facts(med_statement("s", DENOSUMAB, status="completed", effectiveDateTime="2024-11-20"))
    m = _only(facts)
    assert m.administrations == (date(2024, 11, 20),) and facts.data_issues == ()
    oral = _only(_facts(med_statement("s", ALENDRONATE_SCD, effectiveDateTime="2024-11-20")))
    assert oral.administrations == () and oral.start == date(2024, 11, 20)


def test_planned_denosumab_is_not_a_data_issue() -> None:
    assert _facts(med_request("m", DENOSUMAB, status="draft")).data_issues == ()


def test_administration_dose() -> None:
    m = _only(_facts(med_admin("a", rx("6902"), dose=_mg(1000), when="2025-02-01")))
    assert (m.start, m.end, m.administrations) == (date(2025, 2, 1),) * 2 + ((date(2025, 2, 1),),)
    assert m.prednisone_eq_mg_per_day == Decimal("1250")


# --- C-06 (computed by the decision core from these facts: one implementation) ---


def _bp(
    start: str,
    end: str | None,
    status: MedicationStatus = MedicationStatus.COMPLETED,
    planned: int | None = None,
) -> MedicationExposure:
    return MedicationExposure(
        drug_class=DrugClass.BISPHOSPHONATE_ORAL,
        drug="alendronate",
        status=status,
        source=MedicationSource.REQUEST,
        record=f"MedicationRequest/{start}",
        display="x",
        start=date.fromisoformat(start),
        end=date.fromisoformat(end) if end else None,
        planned_days=planned,
    )


def test_cumulative_oral_bisphosphonate_months_merges_gaps_under_90_days() -> None:
    now = date(2025, 6, 30)
    exposures = [_bp("2019-01-01", "2020-01-01"), _bp("2020-03-30", "2021-01-01")]  # gap 89 days: merged
    assert oral_bisphosphonate_months(tuple(exposures), now) == 24
    gap90 = [_bp("2019-01-01", "2020-01-01"), _bp("2020-03-31", "2021-01-01")]  # gap of exactly 90 days
    assert oral_bisphosphonate_months(tuple(gap90), now) == 12 + 9
    three = [*exposures, _bp("2022-01-01", "2022-07-01")]
    assert oral_bisphosphonate_months(tuple(three), now) == 30


def test_cumulative_months_active_and_planned_courses() -> None:
    now = date(2025, 6, 30)
    assert oral_bisphosphonate_months((_bp("2020-06-30", None, MedicationStatus.ACTIVE),), now) == 60
    assert oral_bisphosphonate_months((_bp("2024-01-01", None, planned=90),), now) == 2
    assert oral_bisphosphonate_months((_bp("2024-01-01", None, MedicationStatus.PLANNED),), now) == 0
    zol = MedicationExposure(
        drug_class=DrugClass.ZOLEDRONIC_ACID,
        drug="zoledronic acid",
        status=MedicationStatus.COMPLETED,
        source=MedicationSource.ADMINISTRATION,
        record="x",
        display="x",
        start=date(2020, 1, 1),
    )
    assert oral_bisphosphonate_months((zol,), now) == 0


def test_zoledronic_infusion_count() -> None:
    facts = _facts(
        med_admin("z1", ZOLEDRONIC, when="2022-03-01"),
        med_admin("z2", ZOLEDRONIC, when="2023-03-03"),
        med_statement("z2s", ZOLEDRONIC, status="completed", effectiveDateTime="2023-03-04"),  # same infusion
        med_admin("z3", ZOLEDRONIC, when="2024-03-01"),
        med_request("z4", ZOLEDRONIC),  # ordered, not given
    )
    assert zoledronic_infusion_count(facts.medications, date(2025, 6, 30)) == 3


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        ("2025-07-01", "2026-03-01", 8),
        ("2025-01-31", "2025-02-28", 1),
        ("2025-01-31", "2025-02-27", 0),
        ("2025-03-15", "2025-03-14", 0),
        ("2020-02-29", "2021-02-28", 12),
    ],
)
def test_months_between(start: str, end: str, months: int) -> None:
    assert months_between(date.fromisoformat(start), date.fromisoformat(end)) == months


def test_add_months_clamps() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 12, 15), 7) == date(2025, 7, 15)
