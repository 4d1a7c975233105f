"""Cards a clinician reads in seconds, with one voice per response (issue 14, decision table §3 "Card length").

Measured over the seed, Synthea, example and test charts (the golden responses the real app sends, kept current by
tests/service/test_golden_cards.py) and over the decision core's generated patients (tests/decision/strategies.py):
every live detail <= 1,200 characters and the median <= 700; at most three citations; no seed-article text, no rule
id, no Markdown link in clinician text; source.url at the rule's own anchor in the catalog.

"One voice": every pair of rules that fires together in those responses is checked for a card advising what
another card of the same response forbids. The pairs come from the core's generated patients and the charts, and
are checked against the precedence table (a pair §4 forbids must never be seen).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import statistics
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cards.catalog import default_catalog
from cards.formatting import DETAIL_LIMIT
from cards.registries import MAX_CITATIONS
from cards.render import RenderOptions, render_cards
from decision_core.dates import add_months
from decision_core.facts import MedicationStatus, PatientFacts
from decision_core.precedence import CARD_ROWS
from decision_core.specs import RULE_SPECS
from decision_core.therapy import BISPHOSPHONATE_CLASSES, pending_orders
from tests.decision.builders import NOW, alendronate, run, zoledronic
from tests.decision.strategies import patients

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
MEDIAN_LIMIT = 700
RULE_ID = re.compile(r"\b(?:" + "|".join(sorted({r.split("-")[0] for r in RULE_SPECS})) + r")-\d\d\b")
MARKDOWN_LINK = re.compile(r"\]\(|https?://")
SERVICE_ID = "osteoporosis-management"
OPTIONS = RenderOptions(service_id=SERVICE_ID, public_base_url="https://cds.example.org")
GENERATED = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OSTEOPOROSIS_DRUG_CARDS = {"SAFE-01", "SAFE-02", "SAFE-03", "MON-02", "MON-03", "MON-04"}


# --- the responses measured ----------------------------------------------------------------------------------------


def _walk_responses(value: Any) -> Iterable[tuple[str, list[dict[str, Any]]]]:
    if isinstance(value, dict):
        if isinstance(value.get("response"), dict) and "cards" in value["response"]:
            yield value.get("now", "")[:10], value["response"]["cards"]
        for item in value.values():
            yield from _walk_responses(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_responses(item)


def chart_responses() -> list[tuple[date, list[dict[str, Any]]]]:
    """Every response the real app sends for the seed, Synthea, example and test charts (golden files)."""
    found = []
    for path in sorted(GOLDEN.glob("*.json")):
        if path.stem in ("catalog-examples", "discovery"):
            continue
        for now, cards in _walk_responses(json.loads(path.read_text("utf-8"))):
            found.append((date.fromisoformat(now), cards))
    return found


@st.composite
def finished_bisphosphonate_courses(draw: st.DrawFn) -> tuple:
    """A past bisphosphonate course around the holiday's edges (2-4 infusions, 30-40 months oral, ended 0-75 months
    ago), so the generated patients reach the holiday card and its neighbours, not only by chance."""
    ended = add_months(NOW, -draw(st.sampled_from([0, 3, 13, 21, 36, 59, 60, 61, 75])))
    if draw(st.booleans()):
        count = draw(st.integers(2, 4))
        return (zoledronic(*(add_months(ended, -12 * i) for i in range(count))),)
    months = draw(st.sampled_from([30, 35, 36, 40]))
    return (alendronate(add_months(ended, -months), ended, status=MedicationStatus.COMPLETED),)


@st.composite
def generated_patients(draw: st.DrawFn) -> PatientFacts:
    facts = draw(patients())
    if draw(st.integers(0, 2)) == 0:  # often: Hypothesis favours 0
        facts = dataclasses.replace(facts, medications=facts.medications + draw(finished_bisphosphonate_courses()))
    return facts


def generated_responses() -> list[tuple[PatientFacts, list[dict[str, Any]]]]:
    """The decision core's generated patients, rendered as one response each."""
    collected: list[tuple[PatientFacts, list[dict[str, Any]]]] = []

    @GENERATED
    @given(generated_patients())
    def collect(facts: PatientFacts) -> None:
        cards = [r.card for r in render_cards(run(facts), default_catalog(), "pat-gen", OPTIONS)]
        if cards:
            collected.append((facts, cards))

    collect()
    return collected


_GENERATED: list[tuple[PatientFacts, list[dict[str, Any]]]] = []


def _generated() -> list[tuple[PatientFacts, list[dict[str, Any]]]]:
    if not _GENERATED:
        _GENERATED.extend(generated_responses())
    return _GENERATED


def _rule(card: dict[str, Any]) -> str:
    return card["source"]["topic"]["code"]


# --- card length ---------------------------------------------------------------------------------------------------


def _check_lengths(details: list[str], where: str) -> None:
    assert details, where
    longest = max(details, key=len)
    assert len(longest) <= DETAIL_LIMIT, f"{where}: a detail of {len(longest)} characters:\n{longest}"
    assert statistics.median(len(d) for d in details) <= MEDIAN_LIMIT, where


def test_chart_card_details_are_short() -> None:
    _check_lengths([c["detail"] for _, cards in chart_responses() for c in cards], "charts")


def test_generated_patient_card_details_are_short() -> None:
    _check_lengths([c["detail"] for _, cards in _generated() for c in cards], "generated patients")


def _clinician_text(card: dict[str, Any]) -> str:
    return card["summary"] + "\n" + card["detail"]


def _check_live_card(card: dict[str, Any]) -> None:
    text = _clinician_text(card)
    assert "seed article" not in text.lower(), text
    assert not RULE_ID.search(text), (RULE_ID.search(text), text)
    assert not MARKDOWN_LINK.search(card["detail"]), card["detail"]
    evidence = card["detail"].rsplit("\n", 1)[-1]
    assert evidence.startswith("Evidence: ") and len(evidence.split("; ")) <= MAX_CITATIONS, evidence
    first_cited = evidence.removeprefix("Evidence: ").split("; ")[0].rstrip(".")
    assert card["links"][0]["label"] == first_cited  # the first citation is the first link


def test_live_cards_carry_no_seed_text_no_rule_ids_no_markdown_links_and_at_most_three_citations() -> None:
    for _, cards in chart_responses():
        for card in cards:
            _check_live_card(card)
    for _, cards in _generated():
        for card in cards:
            _check_live_card(card)


def test_source_url_is_the_rules_anchor_in_the_catalog() -> None:
    for _, cards in _generated():
        for card in cards:
            assert card["source"]["url"] == f"https://cds.example.org/cds-services/{SERVICE_ID}/catalog#{_rule(card)}"
    for _, cards in chart_responses():
        for card in cards:
            assert re.fullmatch(
                rf"https?://[^/]+/cds-services/{SERVICE_ID}/catalog#{_rule(card)}", card["source"]["url"]
            )


# --- one voice -----------------------------------------------------------------------------------------------------

_NOW_ADVICE = re.compile(r"\b(?:give|start|act)\b[^.\n]*\bnow\b", re.IGNORECASE)
_NO_FOLLOW_ON = re.compile(r"no follow-on", re.IGNORECASE)
_ORDERED_BISPHOSPHONATE = re.compile(
    r"\b(?:alendronate|risedronate|ibandronate|zoledronic acid)\b[^.\n]{0,30}\bordered\b", re.IGNORECASE
)
_FUTURE_DATE = re.compile(r"(?<!was )\b(?:due|Next DXA) (?:on )?\(?(\d{4}-\d{2}-\d{2})")
_DRUG_DRAFT = re.compile(r"alendronate|risedronate|zoledronic|denosumab", re.IGNORECASE)


def voice_problems(cards: list[dict[str, Any]], today: date, facts: PatientFacts | None = None) -> list[str]:
    """Where one card of a response advises what another forbids, or words a past date as a future one."""
    problems = []
    rules = {_rule(c): c for c in cards}
    texts = {rule: _clinician_text(card) for rule, card in rules.items()}
    calcium_first = [r for r, t in texts.items() if "correct calcium first" in t or t.startswith("Low calcium")]
    if calcium_first:
        for rule, text in texts.items():
            if _NOW_ADVICE.search(text) and "once calcium is corrected" not in text:
                problems.append(f"{rule} advises giving now while {calcium_first[0]} says correct calcium first")
            for suggestion in rules[rule].get("suggestions", ()):
                for action in suggestion["actions"]:
                    resource = action.get("resource", {})
                    if resource.get("resourceType") == "MedicationRequest" and _DRUG_DRAFT.search(
                        json.dumps(resource.get("medicationCodeableConcept", {}))
                    ):
                        problems.append(f"{rule} drafts a drug while {calcium_first[0]} says correct calcium first")
    follow_on_gap = [r for r, t in texts.items() if _NO_FOLLOW_ON.search(t)]
    planned = [r for r, t in texts.items() if _ORDERED_BISPHOSPHONATE.search(t)]
    if facts is not None and any(o.drug_class in BISPHOSPHONATE_CLASSES for o in pending_orders(facts.medications)):
        planned.append("the chart (a bisphosphonate ordered)")
    if follow_on_gap and planned:
        problems.append(f"{follow_on_gap[0]} says no follow-on while {planned[0]} names a planned one")
    not_on_medication = [r for r, t in texts.items() if "not on osteoporosis medication" in t]
    on_medication = sorted(OSTEOPOROSIS_DRUG_CARDS & set(rules))
    on_medication += [r for r, t in texts.items() if "on osteoporosis therapy" in t and r not in on_medication]
    if not_on_medication and on_medication:
        problems.append(f"{not_on_medication[0]} says not on medication next to {on_medication[0]}")
    for rule, text in texts.items():
        for sentence in re.split(r"(?<=[.:;])\s|\n", text):
            for match in _FUTURE_DATE.finditer(sentence):
                if date.fromisoformat(match.group(1)) < today and "overdue" not in sentence.lower():
                    problems.append(f"{rule} words the past date {match.group(1)} as future: {sentence!r}")
    return problems


def _forbidden_pairs() -> set[frozenset[str]]:
    """Pairs §4 never lets fire together (unconditional card rows)."""
    pairs = set()
    for row in CARD_ROWS:
        if row.winner_applies.__name__ == "_always" and row.loser_applies.__name__ == "_always":
            pairs |= {frozenset((w, loser)) for w in row.winners for loser in row.losers if w != loser}
    return pairs


def test_every_co_firing_pair_speaks_with_one_voice() -> None:
    forbidden = _forbidden_pairs()
    responses: list[tuple[list[dict[str, Any]], date, PatientFacts | None]] = [
        (cards, NOW, facts) for facts, cards in _generated()
    ]
    responses += [(cards, now, None) for now, cards in chart_responses()]
    seen: dict[frozenset[str], int] = {}
    problems = []
    for cards, today, facts in responses:
        fired = sorted({_rule(c) for c in cards})
        for pair in itertools.combinations(fired, 2):
            key = frozenset(pair)
            seen[key] = seen.get(key, 0) + 1
            assert key not in forbidden, f"§4 forbids {sorted(key)} together"
        problems += voice_problems(cards, today, facts)

    assert not problems, "\n".join(dict.fromkeys(problems))
    # The generated patients reach the pairs that matter most for one voice.
    for pair in (("SAFE-01", "SAFE-03"), ("MON-04", "UNIV-01"), ("SAFE-03", "VITD-01")):
        assert frozenset(pair) in seen, pair


def test_the_voice_check_catches_what_it_is_for() -> None:
    """The checker is not vacuous: each contradiction the issue lists is reported."""
    today = date(2026, 11, 25)

    def card(rule: str, summary: str, detail: str = "") -> dict[str, Any]:
        return {"summary": summary, "detail": detail, "source": {"topic": {"code": rule}}}

    give_now = [
        card("SAFE-01", "Denosumab dose overdue: give now or start planned transition"),
        card("SAFE-03", "Low calcium (corrected 7.6 mg/dL): correct before the overdue denosumab dose"),
    ]
    past_due = [card("SAFE-03", "Check serum calcium (and 25-OH D) before next denosumab dose due 2026-09-02")]
    follow_on = [
        card("SAFE-01", "Denosumab overdue", "No follow-on bisphosphonate is recorded."),
        card("SAFE-03", "Check calcium", "Zoledronic acid is ordered and not yet given."),
    ]
    not_on = [card("TX-01", "Treatment indicated; not on osteoporosis medication"), card("MON-04", "Holiday")]

    assert voice_problems(give_now, today)
    assert voice_problems(past_due, today)
    assert voice_problems(follow_on, today)
    assert voice_problems(not_on, today)
