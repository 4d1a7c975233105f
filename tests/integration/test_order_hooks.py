"""The order rules (decision table §10) at their boundaries, through the real service (gunicorn over HTTP): each
case is a chart and a draft order; the draft is sent in the CDS Hooks sandbox's shape and as strict R4, and the
chart by prefetch or fetched by the service from the real FHIR test server (sekmet).

Evaluation time is pinned at 2026-11-25 (conftest's EVALUATION_TIME)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_service.validation import response_problems
from testkit.fhir import patient, transaction
from testkit.orders import (
    ALENDRONATE_10,
    ALENDRONATE_70,
    DENOSUMAB_60,
    METFORMIN_500,
    PREDNISONE_5,
    SHAPES,
    UCUM,
    ZOLEDRONIC_ACID,
    active_order,
    administration,
    calcium,
    draft_orders,
    draft_request,
    egfr,
    esophageal_condition,
    order_prefetch,
    order_request,
    vitamin_d,
)
from testkit.processes import ServiceProcess
from testkit.sekmet import SekmetServer
from tests.conftest import EVALUATION_TIME

SIGN = "bone-safety-order-sign"
SELECT = "bone-safety-order-select"


@dataclass(frozen=True)
class Case:
    """A chart (besides the patient), a draft order, and the order cards expected: {rule: indicator}."""

    name: str
    chart: Callable[[str], list[dict[str, Any]]]
    drug: tuple[str, str] | None
    expected: Mapping[str, str]
    draft: Mapping[str, Any] = field(default_factory=dict)  # draft_request keyword arguments
    birth_date: str = "1950-03-01"


def _labs(egfr_value: float | None = 60, ca: float | None = 9.4, vitd: float | None = 32) -> Callable[[str], list]:
    def chart(pid: str) -> list[dict[str, Any]]:
        items = []
        if egfr_value is not None:
            items.append(egfr(pid, egfr_value))
        if ca is not None:
            items.append(calcium(pid, ca))
        if vitd is not None:
            items.append(vitamin_d(pid, vitd))
        return items

    return chart


def _with(*extra: Callable[[str], dict[str, Any]], labs: Callable[[str], list] | None = None) -> Callable[[str], list]:
    base = labs or _labs()
    return lambda pid: [*base(pid), *(make(pid) for make in extra)]


DMAB_GIVEN = lambda pid: administration(f"{pid}-dmab", pid, DENOSUMAB_60, "2026-06-01")  # noqa: E731
PREDNISONE_MG = lambda mg: {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}  # noqa: E731

CASES = [
    # ORD-01 / ORD-02: eGFR 34/35 and 29/30 (bisphosphonate never suggested below 35, §7.5)
    Case("egfr-34-alendronate", _labs(egfr_value=34), ALENDRONATE_70, {"ORD-01": "critical"}),
    Case("egfr-35-alendronate", _labs(egfr_value=35), ALENDRONATE_70, {}),
    Case("egfr-30-alendronate", _labs(egfr_value=30), ALENDRONATE_70, {"ORD-01": "critical"}),
    Case("egfr-29-alendronate", _labs(egfr_value=29), ALENDRONATE_70, {"ORD-01": "critical"}),
    Case("no-egfr-alendronate", _labs(egfr_value=None), ALENDRONATE_70, {"ORD-02": "warning"}),
    # ORD-05: denosumab at eGFR 29/30
    Case("egfr-29-denosumab", _with(DMAB_GIVEN, labs=_labs(egfr_value=29)), DENOSUMAB_60, {"ORD-05": "warning"}),
    Case("egfr-30-denosumab", _with(DMAB_GIVEN, labs=_labs(egfr_value=30)), DENOSUMAB_60, {}),
    # ORD-03: corrected calcium at the lower limit (8.5 without a lab reference; the lab's own low when given)
    Case("ca-8.5-denosumab", _with(DMAB_GIVEN, labs=_labs(ca=8.5)), DENOSUMAB_60, {}),
    Case("ca-8.4-denosumab", _with(DMAB_GIVEN, labs=_labs(ca=8.4)), DENOSUMAB_60, {"ORD-03": "critical"}),
    Case(
        "ca-below-lab-low-zoledronic",
        lambda pid: [egfr(pid, 60), calcium(pid, 8.7, low=8.8), vitamin_d(pid, 32)],
        ZOLEDRONIC_ACID,
        {"ORD-03": "critical"},
    ),
    # ORD-04: no calcium within 30 days (info); 25-OH D 19.9 / 20 (warning / none)
    Case(
        "ca-31-days-zoledronic",
        lambda pid: [egfr(pid, 60), calcium(pid, 9.4, "2026-10-25"), vitamin_d(pid, 32)],
        ZOLEDRONIC_ACID,
        {"ORD-04": "info"},
    ),
    Case(
        "ca-30-days-zoledronic",
        lambda pid: [egfr(pid, 60), calcium(pid, 9.4, "2026-10-26"), vitamin_d(pid, 32)],
        ZOLEDRONIC_ACID,
        {},
    ),
    Case("vitd-19.9-zoledronic", _labs(vitd=19.9), ZOLEDRONIC_ACID, {"ORD-04": "warning"}),
    Case("vitd-20-zoledronic", _labs(vitd=20), ZOLEDRONIC_ACID, {}),
    # ORD-06: a first denosumab order with nothing else to say
    Case("denosumab-new-start", _labs(), DENOSUMAB_60, {"ORD-06": "info"}),
    # ORD-07: a denosumab order re-signed as stopped, no follow-on
    Case("denosumab-stopped", _with(DMAB_GIVEN), DENOSUMAB_60, {"ORD-07": "critical"}, {"status": "stopped"}),
    Case("denosumab-on-hold", _with(DMAB_GIVEN), DENOSUMAB_60, {"ORD-07": "critical"}, {"status": "on-hold"}),
    # A stop is not a dose: the calcium and kidney checks of a denosumab dose do not speak about it
    Case(
        "denosumab-stopped-low-calcium",
        _with(DMAB_GIVEN, labs=_labs(ca=8.1)),
        DENOSUMAB_60,
        {"ORD-07": "critical"},
        {"status": "stopped"},
    ),
    Case(
        "denosumab-stopped-egfr-29-no-calcium",
        _with(DMAB_GIVEN, labs=_labs(egfr_value=29, ca=None)),
        DENOSUMAB_60,
        {"ORD-07": "critical"},
        {"status": "stopped"},
    ),
    Case("alendronate-stopped-egfr-32", _labs(egfr_value=32), ALENDRONATE_70, {}, {"status": "stopped"}),
    # ORD-08: 89/90 planned days; 2.4/2.5 mg/day
    Case("prednisone-90-days-supply", _labs(), PREDNISONE_5, {"ORD-08": "warning"}, {"supply_days": 30, "repeats": 2}),
    Case(
        "prednisone-89-days",
        _labs(),
        PREDNISONE_5,
        {},
        {"bounds": {"boundsDuration": {"value": 89, "unit": "days", "system": UCUM, "code": "d"}}},
    ),
    Case(
        "prednisone-90-days",
        _labs(),
        PREDNISONE_5,
        {"ORD-08": "warning"},
        {"bounds": {"boundsDuration": {"value": 90, "unit": "days", "system": UCUM, "code": "d"}}},
    ),
    Case("prednisone-2.4-mg", _labs(), PREDNISONE_5, {}, {"dose": PREDNISONE_MG(2.4), "supply_days": 90}),
    Case(
        "prednisone-2.5-mg",
        _labs(),
        PREDNISONE_5,
        {"ORD-08": "warning"},
        {"dose": PREDNISONE_MG(2.5), "supply_days": 90},
    ),
    Case(
        "prednisone-extends-exposure",
        _with(lambda pid: active_order(f"{pid}-pred", pid, PREDNISONE_5, "2026-09-26")),
        PREDNISONE_5,
        {"ORD-08": "warning"},
        {"supply_days": 30},
    ),
    Case("prednisone-30-days-alone", _labs(), PREDNISONE_5, {}, {"supply_days": 30}),
    Case(
        "prednisone-under-18",
        _labs(),
        PREDNISONE_5,
        {},
        {"supply_days": 90},
        birth_date="2010-01-01",
    ),
    # ORD-09: two bone drugs; the denosumab -> bisphosphonate transition is exempt
    Case(
        "alendronate-while-on-alendronate-then-denosumab",
        _with(lambda pid: active_order(f"{pid}-aln", pid, ALENDRONATE_10, "2026-01-05")),
        DENOSUMAB_60,
        {"ORD-09": "warning"},
    ),
    Case("alendronate-after-denosumab-transition", _with(DMAB_GIVEN), ALENDRONATE_70, {}),
    # ORD-10: zoledronic acid 11/12 months after the last infusion
    Case(
        "zoledronic-11-months",
        _with(lambda pid: administration(f"{pid}-zol", pid, ZOLEDRONIC_ACID, "2025-12-26", "zoledronic acid 5 mg")),
        ZOLEDRONIC_ACID,
        {"ORD-10": "warning"},
    ),
    Case(
        "zoledronic-12-months",
        _with(lambda pid: administration(f"{pid}-zol", pid, ZOLEDRONIC_ACID, "2025-11-25", "zoledronic acid 5 mg")),
        ZOLEDRONIC_ACID,
        {},
    ),
    # ORD-11: esophageal contraindication (warning), low calcium (critical)
    Case("alendronate-achalasia", _with(esophageal_condition), ALENDRONATE_70, {"ORD-11": "warning"}),
    Case("alendronate-low-calcium", _labs(ca=8.2), ALENDRONATE_70, {"ORD-11": "critical"}),
    # Several at once: each card its own; no lab work-up for a drug not recommended at all
    Case(
        "zoledronic-egfr-32-no-calcium",
        _labs(egfr_value=32, ca=None),
        ZOLEDRONIC_ACID,
        {"ORD-01": "critical"},
    ),
    Case(
        "denosumab-egfr-29-low-calcium",
        _with(DMAB_GIVEN, labs=_labs(egfr_value=29, ca=8.1)),
        DENOSUMAB_60,
        {"ORD-03": "critical", "ORD-05": "warning"},
    ),
    # A drug the table does not cover: no card
    Case("metformin", _labs(), METFORMIN_500, {}),
]


def _pid(case: Case, shape: str) -> str:
    return f"ord-{shape}-{case.name}".replace(".", "-")[:64]


def _chart(case: Case, pid: str) -> list[dict[str, Any]]:
    return [patient(pid, birth_date=case.birth_date), *case.chart(pid)]


def _draft(case: Case, pid: str, shape: str) -> dict[str, Any]:
    return draft_request(f"draft-{pid}", pid, case.drug, shape=shape, **case.draft)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data = tmp_path_factory.mktemp("order-hooks")
    process = ServiceProcess(
        data, {"OSTEO_CDS_NOW": EVALUATION_TIME, "OSTEO_CDS_ALLOW_HTTP_FHIR": "true"}, workers=1
    ).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def loaded_fhir(fhir_server: SekmetServer) -> SekmetServer:
    resources = [r for case in CASES for shape in SHAPES for r in _chart(case, _pid(case, shape))]
    fhir_server.load(transaction(resources))
    return fhir_server


def _post(service: ServiceProcess, service_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{service.base_url}/cds-services/{service_id}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert response_problems(answer) == []
    return answer


def _check_suggested_drafts(card: Mapping[str, Any], pid: str, draft_id: str) -> None:
    """Every create is a valid R4 draft for the patient; every delete names this draft (CDS Hooks 2.0 resourceId);
    in a suggestion that both creates and deletes, the create comes first (the sandbox applies only the first)."""
    for suggestion in card.get("suggestions", ()):
        kinds = [a["type"] for a in suggestion["actions"]]
        if "delete" in kinds and "create" in kinds:
            assert kinds.index("create") < kinds.index("delete"), suggestion["label"]
        for action in suggestion["actions"]:
            if action["type"] == "delete":
                assert action["resourceId"] == f"MedicationRequest/{draft_id}" and "resource" not in action
            else:
                resource = action["resource"]
                assert resource["status"] == "draft" and resource["subject"] == {"reference": f"Patient/{pid}"}
                model = {"MedicationRequest": MedicationRequest, "ServiceRequest": ServiceRequest}
                model[resource["resourceType"]].model_validate(resource)


@pytest.mark.parametrize("mode", ["prefetch", "fhir"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_order_sign_boundaries(
    case: Case, shape: str, mode: str, service: ServiceProcess, loaded_fhir: SekmetServer
) -> None:
    pid = _pid(case, shape)
    draft = _draft(case, pid, shape)
    if mode == "prefetch":
        body = order_request("order-sign", pid, draft_orders(draft), prefetch=order_prefetch(_chart(case, pid), pid))
    else:
        body = order_request("order-sign", pid, draft_orders(draft), fhir_server=loaded_fhir.base_url)

    cards = _post(service, SIGN, body)["cards"]

    assert {c["source"]["topic"]["code"]: c["indicator"] for c in cards} == dict(case.expected)
    for card in cards:
        assert f"MedicationRequest/{draft['id']}" in card["detail"]  # each card names the draft it is about
        assert len(card["summary"]) < 140
        _check_suggested_drafts(card, pid, draft["id"])


def _only_card(service: ServiceProcess, case: Case, shape: str = "sandbox") -> dict[str, Any]:
    pid = _pid(case, shape)
    draft = _draft(case, pid, shape)
    body = order_request("order-sign", pid, draft_orders(draft), prefetch=order_prefetch(_chart(case, pid), pid))
    (card,) = _post(service, SIGN, body)["cards"]
    return card


def _case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def _created(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [a["resource"] for s in card.get("suggestions", ()) for a in s["actions"] if a["type"] == "create"]


def test_egfr_30_to_34_offers_denosumab_replacing_the_draft_and_below_30_a_referral(service: ServiceProcess) -> None:
    at_30 = _only_card(service, _case("egfr-30-alendronate"))
    at_29 = _only_card(service, _case("egfr-29-alendronate"))

    (denosumab,) = _created(at_30)
    assert denosumab["medicationCodeableConcept"]["coding"][0]["code"] == "993452"  # the SCD, as listed
    assert "boxed warning" in denosumab["dosageInstruction"][0]["text"].lower()
    assert "long-term commitment" in denosumab["dosageInstruction"][0]["text"].lower()
    assert at_30["selectionBehavior"] == "at-most-one"
    assert [s["isRecommended"] for s in at_30["suggestions"]] == [True, False]
    (referral,) = _created(at_29)
    assert referral["resourceType"] == "ServiceRequest" and "CKD-MBD" in referral["reasonCode"][0]["text"]
    for card in (at_30, at_29):
        created = [r.get("medicationCodeableConcept", {}).get("text", "") for r in _created(card)]
        assert not any("alendron" in t or "zoledron" in t or "risedron" in t for t in created)  # §7.5
    assert {o["code"] for o in at_30["overrideReasons"]} >= {"crcl-35-confirmed", "specialist-directed"}


def test_no_denosumab_draft_at_egfr_34_without_a_documented_vitamin_d(service: ServiceProcess) -> None:
    case = Case("egfr-34-no-vitd", _labs(egfr_value=34, vitd=None), ALENDRONATE_70, {})
    card = _only_card(service, case)

    assert _created(card) == []
    assert "25-OH D is documented" in card["detail"]
    assert [a["type"] for s in card["suggestions"] for a in s["actions"]] == ["delete"]


def test_a_denosumab_stop_offers_zoledronic_acid_6_months_after_the_last_dose_and_never_a_plain_stop(
    service: ServiceProcess,
) -> None:
    card = _only_card(service, _case("denosumab-stopped"))

    (zoledronic,) = _created(card)
    assert zoledronic["medicationCodeableConcept"]["text"] == "zoledronic acid 5 mg/100 mL injection"
    assert zoledronic["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] == {"start": "2026-12-01"}
    assert not any(a["type"] == "delete" for s in card["suggestions"] for a in s["actions"])
    assert "Last denosumab dose 2026-06-01" in card["detail"]


def test_a_denosumab_stop_with_a_bisphosphonate_in_the_same_session_is_the_planned_transition(
    service: ServiceProcess, loaded_fhir: SekmetServer
) -> None:
    case = _case("denosumab-stopped")
    pid = _pid(case, "sandbox")
    stop = _draft(case, pid, "sandbox")
    follow_on = draft_request(
        "follow-on", pid, ALENDRONATE_70, timing={"frequency": 1, "period": 1, "periodUnit": "wk"}
    )
    body = order_request("order-sign", pid, draft_orders(stop, follow_on), fhir_server=loaded_fhir.base_url)

    assert _post(service, SIGN, body)["cards"] == []  # no ORD-07, and the alendronate is exempt from ORD-09


def test_long_term_glucocorticoid_offers_supplements_and_dxa_with_vfa(service: ServiceProcess) -> None:
    card = _only_card(service, _case("prednisone-90-days-supply"))

    assert card["summary"] == "Long-term glucocorticoid (5 mg/d prednisone-eq): start bone protection (ACR 2022)"
    assert card["selectionBehavior"] == "any"
    texts = [r.get("medicationCodeableConcept", r.get("code", {})).get("text", "") for r in _created(card)]
    assert any("calcium" in t for t in texts) and any("vitamin D3" in t for t in texts)
    assert any("vertebral fracture assessment" in t for t in texts)


def test_achalasia_offers_zoledronic_acid_replacing_the_oral_draft(service: ServiceProcess) -> None:
    card = _only_card(service, _case("alendronate-achalasia"))

    assert card["summary"] == "Alendronate contraindicated: Achalasia of cardia on the problem list"
    first = card["suggestions"][0]["actions"]
    assert [a["type"] for a in first] == ["create", "delete"]
    assert first[0]["resource"]["medicationCodeableConcept"]["coding"][0]["code"] == "77655"


def test_order_select_checks_only_the_selected_drafts(service: ServiceProcess) -> None:
    case = _case("egfr-34-alendronate")
    pid = _pid(case, "r4")
    selected = _draft(case, pid, "r4")
    other = draft_request("other", pid, ALENDRONATE_70, shape="r4")
    prefetch = order_prefetch(_chart(case, pid), pid)
    drafts = draft_orders(other, selected)

    body = order_request(
        "order-select", pid, drafts, selections=[f"MedicationRequest/{selected['id']}"], prefetch=prefetch
    )
    cards = _post(service, SELECT, body)["cards"]
    sign = _post(service, SIGN, order_request("order-sign", pid, drafts, prefetch=prefetch))["cards"]

    assert [c["source"]["topic"]["code"] for c in cards] == ["ORD-01"]
    assert f"MedicationRequest/{selected['id']}" in cards[0]["detail"]
    assert sorted(c["source"]["topic"]["code"] for c in sign) == ["ORD-01", "ORD-01"]  # no suppression across hooks


def test_an_unreadable_order_gets_an_info_card_and_an_empty_one_none(service: ServiceProcess) -> None:
    case = _case("prednisone-90-days")
    pid = _pid(case, "sandbox")
    prefetch = order_prefetch(_chart(case, pid), pid)
    no_frequency = draft_request("no-frequency", pid, PREDNISONE_5, timing={}, supply_days=90)
    empty = draft_request("empty", pid, None)

    cards = _post(service, SIGN, order_request("order-sign", pid, draft_orders(no_frequency, empty), prefetch=prefetch))

    (card,) = cards["cards"]
    assert card["indicator"] == "info" and card["source"]["topic"]["code"] == "ORD-00"
    assert "no frequency is recorded" in card["summary"]
    assert "MedicationRequest/no-frequency" in card["detail"]


def test_the_wrong_hook_and_a_missing_draft_bundle_are_400(service: ServiceProcess) -> None:
    case = _case("egfr-34-alendronate")
    pid = _pid(case, "sandbox")
    body = order_request("order-sign", pid, draft_orders(_draft(case, pid, "sandbox")))
    wrong_hook = requests.post(f"{service.base_url}/cds-services/{SELECT}", json=body, timeout=30)
    del body["context"]["draftOrders"]
    no_drafts = requests.post(f"{service.base_url}/cds-services/{SIGN}", json=body, timeout=30)

    assert wrong_hook.status_code == 400 and wrong_hook.json()["resourceType"] == "OperationOutcome"
    assert "order-select" in wrong_hook.json()["issue"][0]["diagnostics"]
    assert no_drafts.status_code == 400 and "draftOrders" in no_drafts.text


def test_without_prefetch_or_fhir_server_the_answer_is_412(service: ServiceProcess) -> None:
    case = _case("egfr-34-alendronate")
    pid = _pid(case, "sandbox")
    body = order_request("order-sign", pid, draft_orders(_draft(case, pid, "sandbox")))

    response = requests.post(f"{service.base_url}/cds-services/{SIGN}", json=body, timeout=30)

    assert response.status_code == 412
    assert "patient" in response.json()["issue"][0]["diagnostics"]


def test_the_catalog_pages_list_the_order_rules(service: ServiceProcess, tmp_path: Path) -> None:
    page = requests.get(f"{service.base_url}/cds-services/{SIGN}/catalog", timeout=30).text

    for rule in ("ORD-01", "ORD-07", "ORD-08", "ORD-11"):
        assert f'id="{rule}"' in page
    assert 'id="TX-01"' not in page  # an order card speaks only about the order


def test_a_draft_the_ehr_also_returns_in_prefetch_is_the_order_not_history(service: ServiceProcess) -> None:
    case = _case("denosumab-new-start")
    pid = _pid(case, "r4")
    draft = _draft(case, pid, "r4")
    prefetch = order_prefetch([*_chart(case, pid), draft], pid)  # the EHR stored the draft and its search finds it
    assert prefetch["medicationRequests"]["entry"]

    cards = _post(service, SIGN, order_request("order-sign", pid, draft_orders(draft), prefetch=prefetch))["cards"]

    assert [c["source"]["topic"]["code"] for c in cards] == ["ORD-06"]  # still a new start
