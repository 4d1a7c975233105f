"""The order cards read as the patient-view cards must (issue 14, decision table §3 "Card length"), measured over
the order charts: every boundary chart of tests/integration/test_order_hooks.py in the sandbox's and strict R4
shape, and sessions that sign several drafts at once, so that order cards stand beside each other.

Every live detail <= 1,200 characters and the median <= 700; at most three citations, the first one linked; no
seed-article text, no rule id, no Markdown link; source.url at the rule's own anchor in the order service's catalog;
and one voice: no card advises what another card of the same response forbids (tests/unit/test_card_voice.py),
and no card tells the clinician to go ahead with a draft another card says to remove.

Sent through the real app (request validation, prefetch, draft reading, the decision core, the card catalog) with
Flask's test client, as the golden cards are; evaluation time 2026-11-25."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cards.formatting import DETAIL_LIMIT
from cds_service import create_app
from cds_service.config import Settings
from cds_service.validation import response_problems
from testkit.fhir import patient
from testkit.orders import (
    ALENDRONATE_70,
    DENOSUMAB_60,
    PREDNISONE_5,
    ZOLEDRONIC_ACID,
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
from tests.conftest import EVALUATION_TIME
from tests.integration.test_order_hooks import CASES, _chart, _draft, _pid
from tests.unit.test_card_voice import MEDIAN_LIMIT, _check_live_card, voice_problems

SIGN = "bone-safety-order-sign"
BASE_URL = "https://cds.example.org"
TODAY = date.fromisoformat(EVALUATION_TIME[:10])
DRAFT_REFERENCE = re.compile(r"MedicationRequest/([A-Za-z0-9\-.]+)")
# Going ahead with the drafted drug, unconditionally ("give it", "the order is not wrong").
_GO_AHEAD = re.compile(r"\b(?:give (?:it|the dose|the drug)|sign (?:it|the order)|the order is not wrong)\b", re.I)
_CONDITION = re.compile(r"\b(?:if|once|when|after|until)\b", re.I)


@dataclass(frozen=True)
class Session:
    """One order-sign call: a chart and the drafts signed together."""

    name: str
    chart: Callable[[str], list[dict[str, Any]]]
    drafts: Callable[[str], list[dict[str, Any]]]


def _labs(pid: str, egfr_value: float = 60, ca: float | None = 9.4, vitd: float = 32) -> list[dict[str, Any]]:
    found = [egfr(pid, egfr_value), vitamin_d(pid, vitd)]
    return found + ([calcium(pid, ca)] if ca is not None else [])


def _dmab_given(pid: str) -> dict[str, Any]:
    return administration(f"{pid}-dmab", pid, DENOSUMAB_60, "2026-06-01")


def _drafts(*specs: tuple[tuple[str, str], dict[str, Any]]) -> Callable[[str], list[dict[str, Any]]]:
    return lambda pid: [draft_request(f"d{i}-{pid}", pid, drug, **extra) for i, (drug, extra) in enumerate(specs)]


LONG_PREDNISONE: dict[str, Any] = {"supply_days": 30, "repeats": 2}

SESSIONS = [
    # Denosumab in advanced CKD with a low calcium: "correct calcium first" beside the boxed warning.
    Session(
        "denosumab-egfr-29-low-calcium",
        lambda pid: [*_labs(pid, 29, ca=8.1), _dmab_given(pid)],
        _drafts((DENOSUMAB_60, {})),
    ),
    # Denosumab in advanced CKD with no recent calcium: the lab work-up beside the boxed warning.
    Session(
        "denosumab-egfr-25-no-calcium",
        lambda pid: [*_labs(pid, 25, ca=None), _dmab_given(pid)],
        _drafts((DENOSUMAB_60, {})),
    ),
    # Long-term prednisone and an alendronate with eGFR 32 signed together (the alendronate silences ORD-08).
    Session(
        "prednisone-and-alendronate-egfr-32",
        lambda pid: _labs(pid, 32),
        _drafts((PREDNISONE_5, LONG_PREDNISONE), (ALENDRONATE_70, {})),
    ),
    # Two bone drugs drafted together, one of them contraindicated by achalasia.
    Session(
        "alendronate-and-denosumab-achalasia",
        lambda pid: [*_labs(pid), esophageal_condition(pid)],
        _drafts((ALENDRONATE_70, {}), (DENOSUMAB_60, {})),
    ),
    # A denosumab stop re-signed with a low calcium: the follow-on must not be given over the calcium.
    Session(
        "denosumab-stopped-low-calcium",
        lambda pid: [*_labs(pid, ca=8.1), _dmab_given(pid)],
        _drafts((DENOSUMAB_60, {"status": "stopped"})),
    ),
    # A denosumab stop with zoledronic acid as its follow-on while the eGFR is 32.
    Session(
        "denosumab-stopped-zoledronic-egfr-32",
        lambda pid: [*_labs(pid, 32), _dmab_given(pid)],
        _drafts((DENOSUMAB_60, {"status": "stopped"}), (ZOLEDRONIC_ACID, {})),
    ),
    # Zoledronic acid with low calcium and eGFR 29; prednisone alongside.
    Session(
        "zoledronic-low-calcium-egfr-29-prednisone",
        lambda pid: _labs(pid, 29, ca=8.2),
        _drafts((ZOLEDRONIC_ACID, {}), (PREDNISONE_5, LONG_PREDNISONE)),
    ),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    data: Path = tmp_path_factory.mktemp("order-card-voice")
    env = {
        "OSTEO_CDS_AUTH_MODE": "development",
        "OSTEO_CDS_DATA_DIR": str(data),
        "OSTEO_CDS_NOW": EVALUATION_TIME,
        "OSTEO_CDS_PUBLIC_BASE_URL": BASE_URL,
    }
    app = create_app(Settings.from_env(env))
    try:
        yield app.test_client()
    finally:
        app.extensions["osteo_cds"].close()


def _sign(client: FlaskClient, pid: str, chart: list[dict[str, Any]], drafts: list[dict[str, Any]]) -> list[dict]:
    body = order_request("order-sign", pid, draft_orders(*drafts), prefetch=order_prefetch(chart, pid))
    response = client.post(f"/cds-services/{SIGN}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert response_problems(answer) == []
    return answer["cards"]


def _order_responses(client: FlaskClient) -> list[tuple[str, list[dict[str, Any]]]]:
    responses = []
    for case in CASES:
        for shape in ("sandbox", "r4"):
            pid = _pid(case, shape)
            cards = _sign(client, pid, _chart(case, pid), [_draft(case, pid, shape)])
            responses.append((f"{case.name}/{shape}", cards))
    for session in SESSIONS:
        pid = f"voice-{session.name}"
        chart = [patient(pid, birth_date="1950-03-01"), *session.chart(pid)]
        responses.append((session.name, _sign(client, pid, chart, session.drafts(pid))))
    return responses


@pytest.fixture(scope="module")
def order_responses(client: FlaskClient) -> list[tuple[str, list[dict[str, Any]]]]:
    return _order_responses(client)


def _rule(card: dict[str, Any]) -> str:
    return card["source"]["topic"]["code"]


def test_order_card_details_are_short(order_responses: list[tuple[str, list[dict[str, Any]]]]) -> None:
    details = [card["detail"] for _, cards in order_responses for card in cards]
    rules = {_rule(card) for _, cards in order_responses for card in cards}
    assert rules >= {f"ORD-{n:02d}" for n in range(1, 12)}  # every order rule is measured
    longest = max(details, key=len)
    assert len(longest) <= DETAIL_LIMIT, f"a detail of {len(longest)} characters:\n{longest}"
    assert statistics.median(len(d) for d in details) <= MEDIAN_LIMIT


def test_order_cards_carry_no_seed_text_no_rule_ids_and_at_most_three_citations(
    order_responses: list[tuple[str, list[dict[str, Any]]]],
) -> None:
    for _, cards in order_responses:
        for card in cards:
            _check_live_card(card)


def test_order_card_source_url_is_the_rules_anchor_in_the_order_catalog(
    client: FlaskClient, order_responses: list[tuple[str, list[dict[str, Any]]]]
) -> None:
    page = client.get(f"/cds-services/{SIGN}/catalog")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for _, cards in order_responses:
        for card in cards:
            assert card["source"]["url"] == f"{BASE_URL}/cds-services/{SIGN}/catalog#{_rule(card)}"
            assert f'id="{_rule(card)}"' in html


def go_ahead_conflicts(cards: list[dict[str, Any]]) -> list[str]:
    """A card telling the clinician to go ahead with a draft that another card of the response says to remove."""
    problems = []
    removed: dict[str, str] = {}
    for card in cards:
        for suggestion in card.get("suggestions", ()):
            for action in suggestion["actions"]:
                if action["type"] == "delete":
                    removed.setdefault(action["resourceId"].removeprefix("MedicationRequest/"), _rule(card))
    for card in cards:
        named = DRAFT_REFERENCE.search(card["detail"])
        remover = removed.get(named.group(1)) if named else None
        if remover is None or remover == _rule(card):
            continue
        for sentence in re.split(r"(?<=[.:;])\s|\n", card["summary"] + "\n" + card["detail"]):
            if _GO_AHEAD.search(sentence) and not _CONDITION.search(sentence):
                problems.append(f"{_rule(card)} says {sentence.strip()!r} while {remover} removes the draft")
    return problems


def test_order_cards_beside_each_other_speak_with_one_voice(
    order_responses: list[tuple[str, list[dict[str, Any]]]],
) -> None:
    problems = []
    pairs = set()
    for name, cards in order_responses:
        pairs |= {frozenset((_rule(a), _rule(b))) for a in cards for b in cards if _rule(a) < _rule(b)}
        problems += [f"{name}: {p}" for p in voice_problems(cards, TODAY) + go_ahead_conflicts(cards)]
    assert not problems, "\n".join(problems)
    # The sessions put the order cards that matter most for one voice side by side.
    for pair in (("ORD-03", "ORD-05"), ("ORD-04", "ORD-05"), ("ORD-01", "ORD-03"), ("ORD-09", "ORD-11")):
        assert frozenset(pair) in pairs, pair


def test_the_go_ahead_check_catches_what_it_is_for() -> None:
    def card(rule: str, detail: str, delete: str | None = None) -> dict[str, Any]:
        actions = [{"type": "delete", "resourceId": f"MedicationRequest/{delete}"}] if delete else []
        suggestions = [{"label": "Remove", "actions": actions}] if actions else []
        return {"summary": rule, "detail": detail, "source": {"topic": {"code": rule}}, "suggestions": suggestions}

    remove = card("ORD-03", "**Order**: denosumab (MedicationRequest/d0). Remove the draft.", delete="d0")
    go_ahead = card("ORD-05", "**Order**: denosumab (MedicationRequest/d0). The order is not wrong in itself.")
    conditional = card("ORD-05", "**Order**: denosumab (MedicationRequest/d0).\nIf it is given, give it slowly.")
    other_draft = card("ORD-05", "**Order**: denosumab (MedicationRequest/d1). Give it under supervision.")

    assert go_ahead_conflicts([remove, go_ahead])
    assert not go_ahead_conflicts([remove, conditional])
    assert not go_ahead_conflicts([remove, other_draft])
