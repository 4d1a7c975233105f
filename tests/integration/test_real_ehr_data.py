"""Issue 11: data as real EHRs and the CDS Hooks sandbox send it, through the service as deployed (gunicorn over
HTTP) and the real FHIR test server: each defect of the issue, reproduced in the shape the EHR sends it, once with
prefetch and once with the service fetching the chart from the FHIR server.

NOW is 2026-11-25 (the service's pinned clock)."""

from __future__ import annotations

import copy
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from cds_service.validation import response_problems
from testkit import fhir
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.orders import ALENDRONATE_70, draft_orders, draft_request, order_prefetch, order_request
from testkit.orders import calcium as order_calcium
from testkit.orders import egfr as order_egfr
from testkit.orders import vitamin_d as order_vitamin_d
from testkit.processes import ServiceProcess
from testkit.sekmet import SekmetServer

NOW = "2026-11-25T09:00:00Z"
SERVICE_ID = "osteoporosis-management"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    process = ServiceProcess(tmp_path_factory.mktemp("ehr-service"), {"OSTEO_CDS_NOW": NOW}, workers=1).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def templates(service: ServiceProcess) -> dict[str, str]:
    return requests.get(service.base_url + "/cds-services", timeout=10).json()["services"][0]["prefetch"]


Cards = dict[str, list[dict[str, Any]]]


def post(service: ServiceProcess, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = requests.post(f"{service.base_url}/cds-services/{SERVICE_ID}", json=body, timeout=30)
    assert response.status_code == 200, response.text[:500]
    return response.json()["cards"]


def by_rule(cards: list[dict[str, Any]]) -> Cards:
    out: Cards = {}
    for card in cards:
        out.setdefault(card["source"]["topic"]["code"], []).append(card)
    return out


def text(card: dict[str, Any]) -> str:
    return card["summary"] + "\n" + card.get("detail", "")


def via_prefetch(
    service: ServiceProcess, templates: dict[str, str], chart: list[dict[str, Any]], pid: str, **extra: Any
) -> Cards:
    prefetch = prefetch_from_chart(templates, chart, pid)
    prefetch.update(extra)
    return by_rule(post(service, hook_request(pid, prefetch=prefetch)))


def via_fhir(service: ServiceProcess, server: SekmetServer, chart: list[dict[str, Any]], pid: str) -> Cards:
    server.load(fhir.transaction(copy.deepcopy(chart)))
    return by_rule(post(service, hook_request(pid, fhir_server=server.base_url)))


def both_ways(
    service: ServiceProcess, templates: dict[str, str], server: SekmetServer, chart: list[dict[str, Any]], pid: str
) -> list[Cards]:
    return [via_prefetch(service, templates, chart, pid), via_fhir(service, server, chart, pid)]


def woman(pid: str, birth_date: str = "1950-03-14") -> dict[str, Any]:
    return fhir.patient(pid, gender="female", birth_date=birth_date)


def lumbar_t(oid: str, pid: str, value: float, when: str) -> dict[str, Any]:
    return fhir.t_score(oid, pid, "38267-1", value, when, display="DXA Lumbar spine [T-score] Bone density")


def egfr(oid: str, pid: str, value: float, when: str = "2026-10-20") -> dict[str, Any]:
    return fhir.lab(oid, pid, "98979-8", value, "mL/min/{1.73_m2}", when)


def sandbox_order(oid: str, pid: str, code: str, display: str, **extra: Any) -> dict[str, Any]:
    """A MedicationRequest as the CDS Hooks sandbox writes it: RxNorm clinical drug, `1 {pill}` x frequency."""
    order: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": oid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": fhir.RXNORM, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": "2026-05-02",
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}},
                "doseAndRate": [
                    {"doseQuantity": {"value": 1, "system": "http://unitsofmeasure.org", "code": "{pill}"}}
                ],
            }
        ],
    }
    order.update(extra)
    return order


# --- drugs as EHRs code them ------------------------------------------------------------------------------------


def test_alendronate_coded_as_the_sandbox_codes_it_with_egfr_28_gives_a_critical_safe02(
    service: ServiceProcess, templates: dict[str, str], fhir_server: SekmetServer
) -> None:
    pid = "ehr-aln-904431"
    chart = [
        woman(pid),
        lumbar_t(f"{pid}-ls", pid, -2.7, "2026-03-02"),
        egfr(f"{pid}-egfr", pid, 28),
        sandbox_order(f"{pid}-aln", pid, "904431", "Alendronic acid 70 MG Oral Tablet"),
    ]
    for cards in both_ways(service, templates, fhir_server, chart, pid):
        (safe02,) = cards["SAFE-02"]
        assert safe02["indicator"] == "critical"
        assert "alendron" in text(safe02).lower()
        assert "not on osteoporosis medication" not in "\n".join(text(c) for cs in cards.values() for c in cs)


# --- only this patient, only the past, only the living -----------------------------------------------------------


def foreign_searchset(other: str) -> dict[str, Any]:
    return fhir.searchset([lumbar_t("their-ls", other, -3.8, "2026-09-01")])


def test_a_foreign_lumbar_t_score_in_a_nested_bundle_is_dropped_and_named(
    service: ServiceProcess, templates: dict[str, str]
) -> None:
    pid = "ehr-nested-foreign"
    chart = [woman(pid), lumbar_t(f"{pid}-ls", pid, -2.7, "2026-03-02"), egfr(f"{pid}-egfr", pid, 64)]
    alone = via_prefetch(service, templates, chart, pid)
    prefetch = prefetch_from_chart(templates, chart, pid)
    bmd_key = next(k for k, v in prefetch.items() if isinstance(v, dict) and "38267-1" in str(v))
    prefetch[bmd_key]["entry"].append({"resource": foreign_searchset("someone-else")})
    nested = by_rule(post(service, hook_request(pid, prefetch=prefetch)))

    assert {k: [c["summary"] for c in v] for k, v in nested.items() if k != "DATA-03"} == {
        k: [c["summary"] for c in v] for k, v in alone.items() if k != "DATA-03"
    }
    assert "-3.8" not in "\n".join(text(c) for cs in nested.values() for c in cs)
    assert "another patient" in text(nested["DATA-03"][0])


def test_a_contained_resource_of_another_patient_is_dropped_from_fetched_data_too(
    service: ServiceProcess, fhir_server: SekmetServer
) -> None:
    pid = "ehr-contained-foreign"
    order = sandbox_order(f"{pid}-aln", pid, "904431", "Alendronic acid 70 MG Oral Tablet")
    order["contained"] = [lumbar_t("their-ls", "someone-else", -3.8, "2026-09-01")]
    order["supportingInformation"] = [{"reference": "#their-ls"}]
    chart = [woman(pid), lumbar_t(f"{pid}-ls", pid, -2.7, "2026-03-02"), egfr(f"{pid}-egfr", pid, 64), order]

    cards = via_fhir(service, fhir_server, chart, pid)

    assert "another patient" in text(cards["DATA-03"][0])
    assert "-3.8" not in "\n".join(text(c) for cs in cards.values() for c in cs)


def test_a_dxa_dated_2099_is_not_used_and_is_named(
    service: ServiceProcess, templates: dict[str, str], fhir_server: SekmetServer
) -> None:
    pid = "ehr-future-dxa"
    chart = [woman(pid), lumbar_t(f"{pid}-ls", pid, -3.1, "2099-01-01"), egfr(f"{pid}-egfr", pid, 64)]
    for cards in both_ways(service, templates, fhir_server, chart, pid):
        assert "DX-01" not in cards and "TX-02" not in cards and "TX-01" not in cards
        data03 = text(cards["DATA-03"][0])
        assert "2099-01-01" in data03 and "dated in the future" in data03


@pytest.mark.parametrize(
    "deceased", [{"deceasedDateTime": "2026-10-02T14:30:00Z"}, {"deceasedBoolean": True}], ids=["dateTime", "boolean"]
)
def test_a_deceased_patient_gets_no_cards(
    service: ServiceProcess,
    templates: dict[str, str],
    fhir_server: SekmetServer,
    deceased: dict[str, Any],
) -> None:
    pid = "ehr-deceased-" + next(iter(deceased))[8:].lower()
    chart = [{**woman(pid), **deceased}, egfr(f"{pid}-egfr", pid, 64)]  # no DXA: DATA-01 would fire if alive
    alive = via_prefetch(service, templates, [woman(pid), chart[1]], pid)
    assert "DATA-01" in alive

    assert both_ways(service, templates, fhir_server, chart, pid) == [{}, {}]


def test_a_death_date_after_now_is_not_a_deceased_patient(service: ServiceProcess, templates: dict[str, str]) -> None:
    pid = "ehr-deceased-later"
    chart = [{**woman(pid), "deceasedDateTime": "2026-12-30"}, egfr(f"{pid}-egfr", pid, 64)]
    assert "DATA-01" in via_prefetch(service, templates, chart, pid)


# --- lenient where clients are quirky ---------------------------------------------------------------------------


def prednisone_course(pid: str, **quirks: Any) -> dict[str, Any]:
    """Prednisone 5 MG tablets, 2 a day since June: 10 mg/day for 6 months (GC-01 exposure)."""
    order = sandbox_order(f"{pid}-pred", pid, "312617", "predniSONE 5 MG Oral Tablet", authoredOn="2026-06-01")
    order["dosageInstruction"] = [
        {
            "timing": {
                "repeat": {"frequency": 2, "period": 1, "periodUnit": "d", "boundsPeriod": {"start": "2026-06-01"}}
            },
            "doseAndRate": [{"doseQuantity": {"value": 1, "system": "http://unitsofmeasure.org", "code": "{pill}"}}],
        }
    ]
    order.update(quirks)
    return order


def test_a_prednisone_order_without_intent_and_with_reason_code_as_an_object_is_read(
    service: ServiceProcess, templates: dict[str, str]
) -> None:
    pid = "ehr-quirky-pred"
    order = prednisone_course(pid, reasonCode={"text": "polymyalgia rheumatica"}, category={"text": "outpatient"})
    del order["intent"]
    chart = [woman(pid, "1958-02-20"), lumbar_t(f"{pid}-ls", pid, -1.6, "2026-07-01"), egfr(f"{pid}-egfr", pid, 70)]

    cards = via_prefetch(service, templates, [*chart, order], pid)

    assert "GC-01" in cards, sorted(cards)
    assert "10 mg" in text(cards["GC-01"][0])


def test_an_stu3_style_dose_quantity_directly_under_dosage_instruction_is_read(
    service: ServiceProcess, templates: dict[str, str]
) -> None:
    pid = "ehr-stu3-dose"
    order = prednisone_course(pid)
    instruction = order["dosageInstruction"][0]
    instruction["doseQuantity"] = instruction.pop("doseAndRate")[0]["doseQuantity"]
    chart = [woman(pid, "1958-02-20"), lumbar_t(f"{pid}-ls", pid, -1.6, "2026-07-01"), egfr(f"{pid}-egfr", pid, 70)]

    cards = via_prefetch(service, templates, [*chart, order], pid)

    assert "GC-01" in cards, sorted(cards)
    assert "10 mg" in text(cards["GC-01"][0])


# --- one chart, no contradictions -------------------------------------------------------------------------------


def test_data03_lists_the_denosumab_finding_once(
    service: ServiceProcess, templates: dict[str, str], fhir_server: SekmetServer
) -> None:
    from testkit.charts import denosumab_without_dose_dates_chart

    pid = "ehr-dmab-once"
    chart = denosumab_without_dose_dates_chart(pid)
    for cards in both_ways(service, templates, fhir_server, chart, pid):
        detail = cards["DATA-03"][0]["detail"]
        assert detail.count("listed without any administration date") == 1, detail


# --- labs ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("loinc", "value", "unit"), [("2986-8", 412, "ng/dL"), ("14913-8", 14.3, "nmol/L")])
def test_testosterone_coded_with_loinc_is_on_file(
    service: ServiceProcess, templates: dict[str, str], fhir_server: SekmetServer, loinc: str, value: float, unit: str
) -> None:
    pid = f"ehr-testosterone-{loinc}"
    chart = [
        fhir.patient(pid, gender="male", birth_date="1952-08-30"),
        lumbar_t(f"{pid}-ls", pid, -2.8, "2026-09-10"),
        egfr(f"{pid}-egfr", pid, 70),
    ]
    without = via_prefetch(service, templates, chart, pid)
    assert "testosterone" in without["LAB-01"][0]["summary"].lower()  # the missing list

    chart.append(fhir.lab(f"{pid}-testo", pid, loinc, value, unit, "2026-09-10"))
    for cards in both_ways(service, templates, fhir_server, chart, pid):
        assert all("testosterone" not in c["summary"].lower() for c in cards.get("LAB-01", []))


def test_an_osteoporosis_drug_entry_that_cannot_be_read_blocks_not_on_medication_and_the_draft(
    service: ServiceProcess, templates: dict[str, str], fhir_server: SekmetServer
) -> None:
    pid = "ehr-unreadable-bp"
    entry = {
        "resourceType": "MedicationStatement",
        "id": f"{pid}-bp",
        "status": "active",
        "medicationCodeableConcept": {"text": "Bisphosphonate weekly (patient report)"},
        "subject": {"reference": f"Patient/{pid}"},
        "dateAsserted": "2026-09-01",
    }
    chart = [woman(pid), lumbar_t(f"{pid}-ls", pid, -2.8, "2026-03-02"), egfr(f"{pid}-egfr", pid, 64), entry]
    for cards in both_ways(service, templates, fhir_server, chart, pid):
        (tx01,) = cards["TX-01"]
        assert "an oral bisphosphonate entry could not be read" in tx01["summary"]
        assert "An oral bisphosphonate entry is on the list but could not be read" in tx01["detail"]
        assert "confirm current therapy" in tx01["detail"]
        everything = "\n".join(text(c) for cs in cards.values() for c in cs)
        assert "not on osteoporosis medication" not in everything
        drafts = [a for s in tx01.get("suggestions", []) for a in s.get("actions", [])]
        assert all(a.get("resource", {}).get("resourceType") != "MedicationRequest" for a in drafts)
        assert "Bisphosphonate weekly" in cards["DATA-03"][0]["detail"]


def test_a_forearm_only_study_is_not_the_last_dxa_and_data01_says_no_diagnostic_dxa(
    service: ServiceProcess, templates: dict[str, str], fhir_server: SekmetServer
) -> None:
    pid = "ehr-forearm-only"
    on_alendronate = {
        "resourceType": "MedicationStatement",
        "id": f"{pid}-aln",
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [{"system": fhir.RXNORM, "code": "904431", "display": "Alendronic acid 70 MG Oral Tablet"}]
        },
        "subject": {"reference": f"Patient/{pid}"},
        "effectivePeriod": {"start": "2019-01-10"},
        "dosage": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}}}],
    }
    forearm = fhir.t_score(f"{pid}-fa", pid, "38265-5", -2.1, "2021-12-10", display="DXA Forearm [T-score]")
    chart = [woman(pid), forearm, egfr(f"{pid}-egfr", pid, 64), on_alendronate]
    for cards in both_ways(service, templates, fhir_server, chart, pid):
        everything = "\n".join(text(c) for cs in cards.values() for c in cs)
        assert "last DXA 2021-12-10" not in everything
        assert "No DXA result is on record" not in everything
        (data01,) = cards["DATA-01"]
        assert data01["summary"].startswith("No diagnostic DXA on record")
        assert "2021-12-10 has only non-diagnostic sites" in data01["detail"]


def test_an_uninterpretable_dxa_never_gives_no_dxa_on_record_nor_a_dxa_draft(
    service: ServiceProcess, templates: dict[str, str], fhir_server: SekmetServer
) -> None:
    pid = "ehr-dxa-uninterpretable"
    chart = [woman(pid), lumbar_t(f"{pid}-ls", pid, -8.1, "2026-04-14"), egfr(f"{pid}-egfr", pid, 64)]
    for cards in both_ways(service, templates, fhir_server, chart, pid):
        assert "DATA-01" not in cards
        orders = [a for cs in cards.values() for c in cs for s in c.get("suggestions", []) for a in s["actions"]]
        assert all("DXA" not in str(a.get("resource", {}).get("code", "")) for a in orders)
        assert "2026-04-14" in cards["DATA-03"][0]["detail"]


# --- every bisphosphonate clinical drug (SCD / SBD) of the reviewed code lists, at eGFR 28 -> SAFE-02 critical -----

_CODES = Path(__file__).resolve().parents[2] / "fhir_mappings"
_BISPHOSPHONATE_CONCEPTS = {"bisphosphonate-oral", "zoledronic-acid"}


def bisphosphonate_clinical_drugs() -> list[tuple[str, str, str]]:
    """(code, name, list) of every SCD / SBD naming a bisphosphonate (C-06 drugs that SAFE-02 checks at eGFR < 35),
    read from the reviewed lists themselves: the sandbox's RxNorm subset and codes/medications.yaml."""
    found: dict[str, tuple[str, str, str]] = {}
    with (_CODES / "drugs" / "codes" / "rxnorm-bone-drugs.tsv").open(encoding="utf-8") as tsv:
        rows = csv.DictReader((line for line in tsv if not line.startswith("#")), delimiter="\t")
        for row in rows:
            # The list's tty is a heuristic from the name: "SBD/BN" marks every branded ("[Fosamax]") concept.
            if row["tty"] in ("SCD", "SBD", "SBD/BN") and row["class"].startswith("bisphosphonate:"):
                found[row["rxnorm"]] = (row["rxnorm"], row["name"], "rxnorm-bone-drugs.tsv")
    medications = yaml.safe_load((_CODES / "codes" / "medications.yaml").read_text(encoding="utf-8"))
    classes = {cid: c.get("drug_class") for cid, c in medications["concepts"].items()}
    for entry in medications["codes"]:
        if entry.get("tty") in ("SCD", "SBD") and classes.get(entry["concept"]) in _BISPHOSPHONATE_CONCEPTS:
            found.setdefault(str(entry["code"]), (str(entry["code"]), entry["display"], "medications.yaml"))
    return sorted(found.values())


BISPHOSPHONATE_CLINICAL_DRUGS = bisphosphonate_clinical_drugs()


def test_the_table_covers_every_bisphosphonate_of_c06() -> None:
    names = " ".join(name.lower() for _, name, _ in BISPHOSPHONATE_CLINICAL_DRUGS)
    for drug in ("alendron", "risedron", "ibandron", "zoledron"):
        assert drug in names
    for brand in ("[fosamax]", "[actonel]", "[boniva]"):  # branded clinical drugs (SBD) too
        assert brand in names, brand


@pytest.mark.parametrize(
    ("code", "name", "source"), BISPHOSPHONATE_CLINICAL_DRUGS, ids=[c for c, _, _ in BISPHOSPHONATE_CLINICAL_DRUGS]
)
def test_every_bisphosphonate_clinical_drug_at_egfr_28_gives_a_critical_safe02(
    service: ServiceProcess, templates: dict[str, str], code: str, name: str, source: str
) -> None:
    pid = f"ehr-safe02-{code}"
    order = sandbox_order(f"{pid}-bp", pid, code, name)
    chart = [woman(pid), lumbar_t(f"{pid}-ls", pid, -2.7, "2026-03-02"), egfr(f"{pid}-egfr", pid, 28), order]

    cards = via_prefetch(service, templates, chart, pid)

    assert "SAFE-02" in cards, f"{code} {name} ({source}): {sorted(cards)}"
    assert cards["SAFE-02"][0]["indicator"] == "critical"


def test_xgeva_by_name_counts_as_denosumab_for_safe01_and_the_card_names_the_product(
    service: ServiceProcess, templates: dict[str, str], fhir_server: SekmetServer
) -> None:
    pid = "ehr-xgeva-by-name"
    given = {
        "resourceType": "MedicationAdministration",
        "id": f"{pid}-xgeva",
        "status": "completed",
        "medicationCodeableConcept": {"text": "Xgeva 120 mg/1.7 mL subcutaneous injection"},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2026-02-10",
    }
    chart = [woman(pid), lumbar_t(f"{pid}-ls", pid, -2.6, "2026-01-15"), egfr(f"{pid}-egfr", pid, 64), given]
    for cards in both_ways(service, templates, fhir_server, chart, pid):
        (safe01,) = cards["SAFE-01"]
        assert safe01["indicator"] == "critical"  # last dose > 7 months ago
        assert safe01["summary"].startswith("Denosumab (Xgeva)")
        assert "Recognised by name (no listed code): Xgeva 120 mg/1.7 mL subcutaneous injection" in safe01["detail"]


def test_zometa_by_name_at_egfr_28_gives_safe02_naming_the_product(
    service: ServiceProcess, templates: dict[str, str]
) -> None:
    pid = "ehr-zometa-by-name"
    order = sandbox_order(f"{pid}-zol", pid, "0", "")
    order["medicationCodeableConcept"] = {"text": "Zometa 4 mg/100 mL IV infusion"}
    del order["dosageInstruction"]
    chart = [woman(pid), lumbar_t(f"{pid}-ls", pid, -2.6, "2026-01-15"), egfr(f"{pid}-egfr", pid, 28), order]

    cards = via_prefetch(service, templates, chart, pid)

    (safe02,) = cards["SAFE-02"]
    assert safe02["indicator"] == "critical"
    assert "(Zometa)" in safe02["summary"]


# --- the order hooks read the chart the same way (decision table §6, §7.19, §10) ----------------------------------

ORDER_SIGN = "bone-safety-order-sign"


def order_sign_cards(
    service: ServiceProcess, chart: list[dict[str, Any]], pid: str, *, server: SekmetServer | None = None
) -> dict[str, str]:
    """{rule: indicator} of order-sign on a sandbox-shaped alendronate 70 mg (SCD 904431) draft, the chart sent
    by prefetch or, with `server`, fetched by the service from the FHIR server."""
    drafts = draft_orders(draft_request(f"{pid}-draft", pid, ALENDRONATE_70))
    if server is None:
        body = order_request("order-sign", pid, drafts, prefetch=order_prefetch(chart, pid))
    else:
        server.load(fhir.transaction(copy.deepcopy(chart)))
        body = order_request("order-sign", pid, drafts, fhir_server=server.base_url)
    response = requests.post(f"{service.base_url}/cds-services/{ORDER_SIGN}", json=body, timeout=30)
    assert response.status_code == 200, response.text[:500]
    answer = response.json()
    assert response_problems(answer) == []
    return {card["source"]["topic"]["code"]: card["indicator"] for card in answer["cards"]}


def order_chart(pid: str, *, egfr_value: float = 60, **patient: Any) -> list[dict[str, Any]]:
    return [
        {**woman(pid), **patient},
        order_egfr(pid, egfr_value, "2026-10-20"),
        order_calcium(pid, 9.4),
        order_vitamin_d(pid, 32),
    ]


def test_order_sign_at_egfr_28_is_critical_for_the_sandbox_alendronate_draft(
    service: ServiceProcess, fhir_server: SekmetServer
) -> None:
    pid = "ehr-order-egfr-28"
    chart = order_chart(pid, egfr_value=28)
    assert order_sign_cards(service, chart, pid) == {"ORD-01": "critical"}
    assert order_sign_cards(service, chart, pid, server=fhir_server) == {"ORD-01": "critical"}


@pytest.mark.parametrize(
    "deceased", [{"deceasedDateTime": "2026-10-02T14:30:00Z"}, {"deceasedBoolean": True}], ids=["dateTime", "boolean"]
)
def test_order_sign_for_a_deceased_patient_gives_no_cards(
    service: ServiceProcess, fhir_server: SekmetServer, deceased: dict[str, Any]
) -> None:
    pid = "ehr-order-deceased-" + next(iter(deceased))[8:].lower()
    assert order_sign_cards(service, order_chart(pid, egfr_value=28), pid) == {"ORD-01": "critical"}  # alive

    chart = order_chart(pid, egfr_value=28, **deceased)
    assert order_sign_cards(service, chart, pid) == {}
    assert order_sign_cards(service, chart, pid, server=fhir_server) == {}


def test_order_sign_ignores_an_egfr_dated_in_the_future(service: ServiceProcess, fhir_server: SekmetServer) -> None:
    pid = "ehr-order-future-egfr"
    chart = [*order_chart(pid, egfr_value=60), {**order_egfr(pid, 20, "2099-01-01"), "id": f"{pid}-egfr-2099"}]
    assert order_sign_cards(service, chart, pid) == {}
    assert order_sign_cards(service, chart, pid, server=fhir_server) == {}


def test_order_sign_ignores_another_patients_egfr_in_a_nested_bundle(service: ServiceProcess) -> None:
    pid = "ehr-order-foreign-egfr"
    theirs = {**order_egfr("someone-else", 20, "2026-11-20"), "id": "their-egfr"}  # newer than hers: it would win
    chart = order_chart(pid, egfr_value=60)
    drafts = draft_orders(draft_request(f"{pid}-draft", pid, ALENDRONATE_70))
    prefetch = order_prefetch(chart, pid)
    prefetch["observations"]["entry"].append({"resource": fhir.searchset([theirs])})
    body = order_request("order-sign", pid, drafts, prefetch=prefetch)

    response = requests.post(f"{service.base_url}/cds-services/{ORDER_SIGN}", json=body, timeout=30)

    assert response.status_code == 200, response.text[:500]
    assert response.json()["cards"] == []
