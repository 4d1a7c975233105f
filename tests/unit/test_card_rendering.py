"""Every rule's card, rendered for a sample patient, is a spec-valid CDS Hooks card a clinician can read and act on."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cards.catalog import default_catalog
from cards.formatting import fit_summary, markdown_value
from cards.registries import evidence_registry
from cards.render import RenderOptions, render_cards
from cards.sample_values import sample_values
from cards.samples import Sample, load_samples
from cds_service.validation import response_problems
from decision_core.recommendation import Indicator, Recommendation
from decision_core.specs import RULE_SPECS
from decision_core.value_types import is_optional, main_type
from tests.support.spec_strategies import values_strategy

PATIENT = "pat-42"
RAW_HTML = re.compile(r"<[A-Za-z/!?]")
SAMPLES = load_samples()
VARIANTS = [(rule_id, variant) for rule_id, spec in RULE_SPECS.items() for variant in spec.variants]


def _card(recommendation: Recommendation, options: RenderOptions | None = None) -> dict[str, Any]:
    (rendered,) = render_cards([recommendation], default_catalog(), PATIENT, options)
    return rendered.card


@pytest.mark.parametrize("sample", SAMPLES, ids=[f"{s.rule_id}:{s.variant}" for s in SAMPLES])
def test_every_rule_renders_a_valid_card_for_its_sample_patient(sample: Sample) -> None:
    card = _card(sample.recommendation)

    assert response_problems({"cards": [card]}) == []
    assert len(card["summary"]) < 140
    assert "\u2212" not in card["summary"] + card["detail"]  # negatives use the ASCII hyphen-minus
    assert not RAW_HTML.search(card["detail"])
    assert card["indicator"] == RULE_SPECS[sample.rule_id].variants[sample.variant].indicator.value
    assert card["source"]["topic"] == {
        "system": "urn:osteo-cds:rule",
        "code": sample.rule_id,
        "display": default_catalog().cards[sample.rule_id].title,
    }
    assert card["source"]["url"].startswith("https://")
    assert "**Why**" in card["detail"] and "**What to do**" in card["detail"]
    for suggestion in card.get("suggestions", ()):
        for action in suggestion["actions"]:
            if action["type"] == "delete":  # order cards: the draft the card is about (CDS Hooks 2.0 resourceId)
                assert action["resourceId"].startswith("MedicationRequest/") and "resource" not in action
                continue
            resource = action["resource"]
            model = {"ServiceRequest": ServiceRequest, "MedicationRequest": MedicationRequest}[resource["resourceType"]]
            model.model_validate(resource)
            assert resource["status"] == "draft" and resource["intent"] == "proposal"
            assert resource["subject"] == {"reference": f"Patient/{PATIENT}"}


@pytest.mark.parametrize("sample", SAMPLES, ids=[f"{s.rule_id}:{s.variant}" for s in SAMPLES])
def test_every_live_card_states_its_key_evidence_and_links_the_first_citation(sample: Sample) -> None:
    card = _card(sample.recommendation)
    rule = default_catalog().cards[sample.rule_id]
    registry = evidence_registry()

    citations = [registry[key] for key in rule.citations]
    assert 1 <= len(citations) <= 3
    assert card["detail"].endswith("Evidence: " + "; ".join(c.short for c in citations) + ".")
    assert card["links"][0]["url"] == citations[0].url
    assert "seed article" not in card["detail"].lower() and "**Evidence**" not in card["detail"]
    for key, statement in rule.seeds.items():
        assert statement not in card["detail"], key


def test_override_reasons_only_on_warning_and_critical_cards() -> None:
    for sample in SAMPLES:
        card = _card(sample.recommendation)
        if sample.recommendation.indicator is Indicator.INFO:
            assert "overrideReasons" not in card, sample
        else:
            assert card["overrideReasons"], sample
            assert all({"system", "code", "display"} <= set(r) for r in card["overrideReasons"])


def test_links_are_absolute_and_the_frax_calculator_is_on_risk_01() -> None:
    for sample in SAMPLES:
        card = _card(sample.recommendation)
        assert card["links"] and all(link["type"] == "absolute" for link in card["links"])
    risk = next(s for s in SAMPLES if s.rule_id == "RISK-01")
    urls = [link["url"] for link in _card(risk.recommendation)["links"]]
    assert "https://frax.shef.ac.uk/FRAX/tool.aspx?country=9" in urls


def test_risk_01_detail_prefills_the_frax_inputs_from_the_chart() -> None:
    risk = next(s for s in SAMPLES if s.rule_id == "RISK-01" and s.variant == "low-bone-mass")

    detail = _card(risk.recommendation)["detail"]

    for expected in (
        "Age 66, female",
        "weight 61.5 kg",
        "height 162 cm",
        "Prior fragility fracture: none recorded",
        "parent hip fracture: ask",
        "Smoking: no",
        "glucocorticoids: no",
        "rheumatoid arthritis: no",
        "alcohol 3+ units/day: ask",
        "Femoral neck T-score: -1.7 (left femoral neck)",
    ):
        assert expected in detail, expected


def test_the_smart_app_link_comes_from_config_on_the_cards_that_offer_it() -> None:
    options = RenderOptions(smart_app_url="https://apps.example.org/bone/launch", smart_app_context="view=timeline")
    offering = {rule_id for rule_id, card in default_catalog().cards.items() if card.smart_link}

    for sample in SAMPLES:
        smart = [link for link in _card(sample.recommendation, options)["links"] if link["type"] == "smart"]
        if sample.rule_id in offering:
            assert smart == [
                {
                    "label": "Open the bone-health app",
                    "url": "https://apps.example.org/bone/launch",
                    "type": "smart",
                    "appContext": "view=timeline",
                }
            ]
        else:
            assert smart == []
    assert {"TX-01", "RISK-01", "SAFE-01"} <= offering


def test_no_smart_link_without_config_and_no_app_context_when_unset() -> None:
    tx01 = next(s for s in SAMPLES if s.rule_id == "TX-01").recommendation

    assert all(link["type"] == "absolute" for link in _card(tx01)["links"])
    (smart,) = [
        link
        for link in _card(tx01, RenderOptions(smart_app_url="https://apps.example.org/x"))["links"]
        if link["type"] == "smart"
    ]
    assert "appContext" not in smart


def test_source_url_points_at_the_catalog_page_when_the_public_url_is_known() -> None:
    dx = next(s for s in SAMPLES if s.rule_id == "DX-01").recommendation

    options = RenderOptions(service_id="osteoporosis-management", public_base_url="https://cds.example.org")
    card = _card(dx, options)

    assert card["source"]["url"] == "https://cds.example.org/cds-services/osteoporosis-management/catalog#DX-01"


def test_cards_are_ordered_critical_warning_info_then_by_rule_order() -> None:
    picks = {
        ("UNIV-01", "basics"),
        ("SAFE-01", "overdue-critical"),
        ("DX-01", "osteoporosis-dxa"),
        ("TX-01", "osteoporosis-dxa"),
        ("SAFE-03", "advanced-ckd"),
        ("DATA-03", "uninterpretable"),
        ("SAFE-02", "bisphosphonate-low-egfr"),
    }
    recommendations = [s.recommendation for s in reversed(SAMPLES) if (s.rule_id, s.variant) in picks]

    rendered = render_cards(recommendations, default_catalog(), PATIENT)

    assert [r.rule_id for r in rendered] == ["SAFE-01", "SAFE-02", "TX-01", "SAFE-03", "DX-01", "UNIV-01", "DATA-03"]


def test_every_card_and_suggestion_gets_a_fresh_uuid() -> None:
    univ = next(s for s in SAMPLES if s.rule_id == "UNIV-01").recommendation

    first, second = _card(univ), _card(univ)

    uuids = [first["uuid"], second["uuid"]] + [s["uuid"] for s in first["suggestions"] + second["suggestions"]]
    assert len(set(uuids)) == len(uuids) == 6


def test_selection_behavior_fits_the_number_of_drafts() -> None:
    univ = _card(next(s for s in SAMPLES if s.rule_id == "UNIV-01").recommendation)
    dx02 = _card(next(s for s in SAMPLES if (s.rule_id, s.variant) == ("DX-02", "low-for-age")).recommendation)

    assert univ["selectionBehavior"] == "any" and [s["isRecommended"] for s in univ["suggestions"]] == [True, True]
    assert dx02["selectionBehavior"] == "at-most-one" and dx02["suggestions"][0]["isRecommended"] is True


def test_chart_text_cannot_inject_html_or_markdown_into_the_detail() -> None:
    sample = next(s for s in SAMPLES if s.rule_id == "DATA-03")
    values = dict(sample.recommendation.values)
    values["issues"] = (
        {
            "item": "<script>alert(1)</script>",
            "reason": "**unit** [x](javascript:1) | <b>",
            "record": "Observation/1",
            "affects": "TX-01",
        },
    )
    values["first_item"] = "<script>alert(1)</script>"

    evidence = sample.recommendation.evidence
    card = _card(Recommendation("DATA-03", Indicator.INFO, "uninterpretable", values, (), evidence))

    assert not RAW_HTML.search(card["detail"])
    assert "&lt;script>alert(1)&lt;/script>" in card["detail"]
    assert "\\*\\*unit\\*\\* \\[x\\](javascript:1) \\| &lt;b>" in card["detail"]
    assert card["summary"].startswith("Data could not be interpreted: <script>")  # summaries are plain text


MARKDOWN_ACTS_ON = set("\\`*_[]|~#")
ENTITY_START = re.compile(r"&#?[A-Za-z0-9]+;")


def _read_as_literal_text(shown: str) -> str:
    """The text a GFM reader shows for `shown`; fails on any character it would read as markup, HTML or an entity."""
    read, at = [], 0
    while at < len(shown):
        if shown[at] == "\\":
            assert shown[at + 1] in MARKDOWN_ACTS_ON or (at == 0 and shown[1] == ">"), shown
            read.append(shown[at + 1])
            at += 2
        elif shown.startswith(("&lt;", "&amp;"), at):
            read.append("<" if shown[at + 1] == "l" else "&")
            at += 4 if shown[at + 1] == "l" else 5
        else:
            char = shown[at]
            assert char not in MARKDOWN_ACTS_ON and not (at == 0 and char == ">"), shown
            assert not RAW_HTML.match(shown, at) and not ENTITY_START.match(shown, at), shown
            read.append(char)
            at += 1
    return "".join(read)


@given(st.text(alphabet=st.sampled_from(list("a <>&;#`*_[]|~\\/\n\u2212"))) | st.text())
@example("&amp;")  # each alone: the one character that makes the text need escaping
@example("<b")
@example("> quoted")
@example("a_b")
@example("plain words, 20% \u2212 of 3.5")
def test_chart_text_in_the_detail_reads_as_the_text_itself_and_never_as_markup(text: str) -> None:
    assert _read_as_literal_text(markdown_value(text)) == re.sub(r"\s+", " ", text.replace("\u2212", "-"))


# --- summaries stay under 140 characters for any values the spec allows ---------------------------------------------


@pytest.mark.parametrize(("rule_id", "variant"), VARIANTS, ids=[f"{r}:{v}" for r, v in VARIANTS])
def test_any_spec_shaped_values_give_a_short_summary_and_a_clean_detail(rule_id: str, variant: str) -> None:
    spec = RULE_SPECS[rule_id]

    @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(values_strategy(spec, variant))
    def check(values: dict[str, Any]) -> None:
        card = _card(Recommendation(rule_id, spec.variants[variant].indicator, variant, values, (), spec.evidence))
        assert 0 < len(card["summary"]) < 140
        assert not RAW_HTML.search(card["detail"])
        assert response_problems({"cards": [card]}) == []

    check()


# Realistic worst cases: the longest site labels, drug names and reasons the core produces, and 4-digit numbers.
WORST_CASE: dict[str, Any] = {
    "lowest_t_site": "lumbar spine L1,L3,L4",
    "historical_t_site": "lumbar spine L1,L2,L4",
    "lowest_z_site": "right femoral neck",
    "femoral_neck_site": "right femoral neck",
    "reason_text": "prior vertebral fracture 2023-02-10 (presumed)",
    "drug": "zoledronic acid",
    "first_item": "DXA T-score -1.4 (site not stated) 2026-01-12",
    "first_reason": "unit 'mmol' not recognised",
    "procedure": "Posterior lumbar interbody fusion L4-L5",
    "missing": ("CBC", "Ca", "albumin", "phos", "eGFR", "ALP", "TSH", "25-OH D", "testosterone"),
    "vitamin_d_iu_text": "800-1000",
    "acr_category": "very-high",
    "fracture_group": "other-major",
    "fracture_site": "proximal-humerus",
    "fracture_date": None,
    "planned_date": None,
    "due_date": None,
}


@pytest.mark.parametrize(("rule_id", "variant"), VARIANTS, ids=[f"{r}:{v}" for r, v in VARIANTS])
def test_worst_case_values_fit_without_cutting_words(rule_id: str, variant: str) -> None:
    spec = RULE_SPECS[rule_id]
    keys = spec.keys_of(variant)
    values = sample_values(keys, "long")
    for name, key in keys.items():
        if name in WORST_CASE and (WORST_CASE[name] is not None or is_optional(key.type)):
            values[name] = WORST_CASE[name]
        elif main_type(key.type) is Decimal:
            values[name] = Decimal("-1234.5")
        elif main_type(key.type) is int:
            values[name] = 1234
    text = default_catalog().text(Recommendation(rule_id, spec.variants[variant].indicator, variant, values))

    assert len(text.summary) < 140
    assert not text.summary.endswith("..."), text.summary  # the template or its short form fits; nothing is cut


def test_a_summary_that_cannot_fit_is_shortened_by_its_fallback_template() -> None:
    spec = RULE_SPECS["TX-01"]
    values = sample_values(spec.keys_of("frax"), "typical")
    values["unreadable_drug"] = None  # every medication entry read
    site = "lumbar spine L1-L4, L3 and L4 excluded for degenerative change"
    values["reasons"] = ({"code": "osteoporosis-dxa", "t_score": Decimal("-2.8"), "site": site},)
    values["reasons"] += ({"code": "frax", "measure": "hip", "percent": Decimal("3.3"), "threshold": Decimal("3")},)
    reason = f"T-score -2.8 {site}"
    assert len(f"Osteoporosis treatment indicated ({reason}); not on osteoporosis medication") >= 140

    text = default_catalog().text(Recommendation("TX-01", Indicator.WARNING, "osteoporosis-dxa", values))

    assert text.summary_fallback
    assert text.summary == "Osteoporosis treatment indicated, not on therapy: " + reason


def test_a_summary_beyond_every_template_is_cut_at_a_word_with_a_mark() -> None:
    spec = RULE_SPECS["TX-01"]
    values = sample_values(spec.keys_of("frax"), "typical")
    values["unreadable_drug"] = None  # every medication entry read
    site = " ".join(["vertebral fracture 2023-02-10"] * 6)  # a site label as long as chart text can be
    values["reasons"] = ({"code": "osteoporosis-dxa", "t_score": Decimal("-2.8"), "site": site},)
    reason = f"T-score -2.8 {site}"

    summary = default_catalog().text(Recommendation("TX-01", Indicator.WARNING, "osteoporosis-dxa", values)).summary

    assert summary == fit_summary(["Osteoporosis treatment indicated, not on therapy: " + reason])
    assert len(summary) < 140 and summary.endswith(" vertebral...")
