"""Site rule changes applied to recommendations, and what the catalog page tells a CDS committee (rule-set version,
table revision, open [verify] items, each rule's full rationale at its anchor)."""

from __future__ import annotations

import html
import re

import pytest

from cards.catalog import default_catalog
from cards.catalog_page import open_items, render_catalog_html
from cards.render import RenderOptions, render_cards
from cds_service.site_rules import SiteRuleError, parse_site_rules
from decision_core.recommendation import Indicator
from decision_core.specs import RULE_SPECS
from decision_core.version import RULE_SET_VERSION, TABLE_REVISION, TABLE_REVISION_DATE
from tests.decision.builders import by_id, months_ago, patient, run
from tests.decision.test_rules_rev2 import _denosumab_patient

OPTIONS = RenderOptions(service_id="osteoporosis-management", public_base_url="https://cds.example.org")


def test_a_lowered_safety_rule_is_sent_lower_and_sorted_with_its_new_indicator() -> None:
    recs = run(_denosumab_patient(months_ago(8), ca="7.6"))
    assert by_id(recs)["SAFE-01"].indicator is Indicator.CRITICAL
    rules = parse_site_rules("UNIV-01", "SAFE-01:warning", True, RULE_SPECS)

    changed = rules.apply(recs)
    cards = [r.card for r in render_cards(changed, default_catalog(), "p", OPTIONS)]

    assert by_id(changed)["SAFE-01"].indicator is Indicator.WARNING
    assert "UNIV-01" not in by_id(changed)
    assert [c["indicator"] for c in cards] == sorted(
        (c["indicator"] for c in cards), key=["critical", "warning", "info"].index
    )


def test_without_the_second_setting_a_safety_rule_cannot_be_silenced() -> None:
    with pytest.raises(SiteRuleError, match="SAFE-01, SAFE-03 are drug-safety rules"):
        parse_site_rules("SAFE-01", "SAFE-03:info", False, RULE_SPECS)


def test_an_indicator_equal_to_the_rules_own_is_accepted_and_changes_nothing() -> None:
    rules = parse_site_rules(None, "DATA-02:info", False, RULE_SPECS)
    recs = run(patient(age=70))

    assert rules.apply(recs) == recs


def test_a_rule_off_and_capped_at_once_is_refused() -> None:
    with pytest.raises(SiteRuleError, match="both turned off and given an indicator"):
        parse_site_rules("TX-03", "TX-03:info", False, RULE_SPECS)


def _page() -> str:
    return render_catalog_html(default_catalog(), OPTIONS, site_changes={"UNIV-01": "turned off here"})


def test_the_catalog_page_names_the_rule_set_version_and_the_table_revision() -> None:
    page = _page()

    assert f"Rule set <strong>{RULE_SET_VERSION}</strong>" in page
    assert f"revision {TABLE_REVISION} ({TABLE_REVISION_DATE})" in page
    assert (TABLE_REVISION, TABLE_REVISION_DATE) == (2, "2026-12")


def test_every_open_verify_item_is_listed_on_the_catalog_page() -> None:
    page = _page()
    section = page.split('id="open-items"', 1)[1].split("</section>", 1)[0]

    assert open_items()
    for item in open_items():
        if not item.get("resolved"):
            assert html.escape(item["topic"]) in section
    assert "[verify]" in page  # the link notes stay on their rule too


def test_each_rule_keeps_its_full_rationale_evidence_and_seed_statements_at_its_anchor() -> None:
    page = _page()
    catalog = default_catalog()
    for rule_id, card in catalog.cards.items():
        entry = page.split(f'<article class="rule" id="{rule_id}">', 1)[1].split("</article>", 1)[0]
        for statement in card.seeds.values():
            assert html.escape(statement).replace("&quot;", "&#34;").replace("&#x27;", "&#39;") in entry, rule_id
        if card.rationale:
            assert "<h3>Rationale</h3>" in entry
            first_words = " ".join(card.rationale.split()[:4])
            assert re.sub(r"\s+", " ", first_words) in re.sub(r"\s+", " ", entry), rule_id
