"""The card catalog is data checked against the decision core's contract (decision_core.specs.RULE_SPECS)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import yaml

from cards.catalog import default_catalog, load_catalog_from
from cards.formatting import display_decimal, fit_summary
from cards.registries import evidence_registry, override_reason_registry
from cards.rule_files import CatalogError, packaged_rule_files
from cards.samples import load_samples
from decision_core.conformance import recommendation_problems
from decision_core.recommendation import Indicator
from decision_core.rule_spec import EVIDENCE_KEYS
from decision_core.specs import RULE_SPECS

EXPECTED_RULES = {
    "DX-01", "DX-02", "RISK-01", "TX-01", "TX-02", "TX-03", "TX-04", "GC-01", "SAFE-01", "SAFE-02", "SAFE-03",
    "VITD-01", "LAB-01", "UNIV-01", "MON-01", "MON-02", "MON-03", "MON-04", "DATA-01", "DATA-02", "DATA-03",
    # order hooks (§10)
    "ORD-00", "ORD-01", "ORD-02", "ORD-03", "ORD-04", "ORD-05", "ORD-06", "ORD-07", "ORD-08", "ORD-09", "ORD-10",
    "ORD-11",
}  # fmt: skip


def test_one_card_file_per_rule_and_a_summary_for_every_variant_of_the_spec() -> None:
    catalog = default_catalog()

    assert set(catalog.cards) == set(RULE_SPECS) == EXPECTED_RULES
    assert [name for name, _ in packaged_rule_files()] == sorted(f"{rule}.yaml" for rule in EXPECTED_RULES)
    for rule_id, spec in RULE_SPECS.items():
        assert set(catalog.cards[rule_id].summaries) == set(spec.variants), rule_id


def test_rule_order_is_fixed_and_follows_the_decision_table() -> None:
    assert [card.rule_id for card in default_catalog().ordered()] == list(RULE_SPECS)


def test_override_reasons_exactly_on_rules_that_can_warn() -> None:
    for rule_id, card in default_catalog().cards.items():
        escalates = any(v.indicator is not Indicator.INFO for v in RULE_SPECS[rule_id].variants.values())
        assert bool(card.override_reasons) == escalates, rule_id
        for reason in card.override_reasons:
            assert reason["system"] == "urn:osteo-cds:override-reason" and reason["code"] and reason["display"]


def test_every_card_has_an_absolute_https_guideline_link() -> None:
    for rule_id, card in default_catalog().cards.items():
        assert card.links, rule_id
        assert all(link.url.startswith("https://") for link in card.links), rule_id


def test_frax_calculator_link_on_risk_01_marked_for_verification() -> None:
    (frax,) = [link for link in default_catalog().cards["RISK-01"].links if "FRAX calculator" in link.label]

    assert frax.url == "https://frax.shef.ac.uk/FRAX/tool.aspx?country=9"
    assert frax.verify and "verify" in frax.verify


def test_evidence_registry_covers_every_key_the_core_cites_with_name_and_year() -> None:
    registry = evidence_registry()

    assert set(registry) >= EVIDENCE_KEYS
    for key, item in registry.items():
        assert str(item.year) in item.cite, key  # the citation itself names the year
        assert item.url is None or item.url.startswith("https://"), key


def test_override_reason_codes_are_unique_and_displayed() -> None:
    reasons = override_reason_registry()

    assert {"patient-declined", "already-addressed", "contraindication", "not-applicable"} <= set(reasons)
    assert all(r["display"] for r in reasons.values())


def test_samples_cover_every_variant_with_exactly_the_spec_keys() -> None:
    samples = load_samples()

    every_variant = {(rule_id, v) for rule_id, spec in RULE_SPECS.items() for v in spec.variants}
    assert {(s.rule_id, s.variant) for s in samples} == every_variant
    for sample in samples:
        spec = RULE_SPECS[sample.rule_id]
        assert set(sample.recommendation.values) == spec.required_keys(sample.variant), (sample.rule_id, sample.variant)
        assert {a.kind for a in sample.recommendation.actions} <= spec.action_kinds, (sample.rule_id, sample.variant)


def test_sample_values_have_the_types_the_core_declares() -> None:
    # A sample card must show what a real one would: every value of the type the core emits for that key.
    problems = [p for sample in load_samples() for p in recommendation_problems(sample.recommendation)]

    assert problems == []


# --- the loader refuses files that disagree with the core -----------------------------------------------------------


def _files_with(rule_id: str, change: Callable[[dict[str, Any]], None]) -> tuple[list[str], list[str]]:
    names, texts = [], []
    for name, text in packaged_rule_files():
        if name == f"{rule_id}.yaml":
            data = yaml.safe_load(text)
            change(data)
            text = yaml.safe_dump(data, sort_keys=False)
        names.append(name)
        texts.append(text)
    return names, texts


def _drop_variant(data: dict[str, Any]) -> None:
    del data["summaries"]["normal"]


def _unknown_variant(data: dict[str, Any]) -> None:
    data["summaries"]["persistence"] = "Osteoporosis {{ lowest_t }}"


def _key_of_another_variant(data: dict[str, Any]) -> None:
    data["summaries"]["normal"] = "BMD normal, fracture {{ fracture_date }}"


def _key_the_core_lacks(data: dict[str, Any]) -> None:
    data["detail"] += "\nFRAX {{ frax_mof }}\n"


def _old_placeholder_keys(data: dict[str, Any]) -> None:
    data["summaries"]["normal"] = "Bone density classification: lowest T-score {{ T }} at {{ site }}, DXA {{ date }}"


def _no_override_reasons(data: dict[str, Any]) -> None:
    data.pop("override_reasons")


def _override_reasons_on_info_rule(data: dict[str, Any]) -> None:
    data["override_reasons"] = ["patient-declined"]


def _unknown_override_reason(data: dict[str, Any]) -> None:
    data["override_reasons"] = ["because"]


def _raw_html(data: dict[str, Any]) -> None:
    data["detail"] += "\n<b>bold</b>\n"


def _missing_field(data: dict[str, Any]) -> None:
    data.pop("trigger")


def _seed_not_in_spec(data: dict[str, Any]) -> None:
    data["seeds"]["S002"] = "a statement the spec does not cite here"


def _link_without_url(data: dict[str, Any]) -> None:
    data["links"].append({"evidence": "KDIGO17"})


def _http_link(data: dict[str, Any]) -> None:
    data["links"].append({"label": "Insecure", "url": "http://example.org"})


def _breaks_on_none(data: dict[str, Any]) -> None:
    data["summaries"]["low-for-age"] = "Low BMD for age: Z-score {{ lowest_z + 1 }}"


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("DX-01", _drop_variant, "missing ['normal']"),
    ("DX-01", _unknown_variant, "unknown ['persistence']"),
    ("DX-01", _key_of_another_variant, "not provided for this variant: ['fracture_date']"),
    ("DX-01", _key_the_core_lacks, "detail uses keys the core does not provide: ['frax_mof']"),
    ("DX-01", _old_placeholder_keys, "['T', 'date', 'site']"),
    ("TX-01", _no_override_reasons, "warning/critical cards need override_reasons"),
    ("DX-01", _override_reasons_on_info_rule, "all info"),
    ("TX-01", _unknown_override_reason, "'because' is not in override_reasons.yaml"),
    ("DX-01", _raw_html, "$.detail"),
    ("DX-01", _missing_field, "'trigger' is a required property"),
    ("DX-02", _seed_not_in_spec, "seeds must state what each seed of the spec says"),
    ("DX-01", _link_without_url, "'KDIGO17', which has no url"),
    ("DX-01", _http_link, "$.links"),
    ("DX-02", _breaks_on_none, "variant low-for-age with none values"),
]


@pytest.mark.parametrize(("rule_id", "change", "message"), BROKEN, ids=[b[1].__name__.strip("_") for b in BROKEN])
def test_loader_rejects_a_file_that_disagrees_with_the_spec(
    rule_id: str, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    names, texts = _files_with(rule_id, change)

    with pytest.raises(CatalogError) as raised:
        load_catalog_from(texts, names=names)

    assert any(message in problem for problem in raised.value.problems), raised.value.problems


def test_loader_rejects_a_missing_rule_file() -> None:
    files = [(n, t) for n, t in packaged_rule_files() if n != "MON-02.yaml"]

    with pytest.raises(CatalogError, match=r"no card file for rules \['MON-02'\]"):
        load_catalog_from([t for _, t in files], names=[n for n, _ in files])


def test_loader_rejects_a_file_named_after_another_rule() -> None:
    names = [n if n != "DX-02.yaml" else "DX-09.yaml" for n, _ in packaged_rule_files()]

    with pytest.raises(CatalogError, match=r"name the file DX-02\.yaml"):
        load_catalog_from([t for _, t in packaged_rule_files()], names=names)


# --- summary fitting --------------------------------------------------------------------------------------------------


def test_fit_summary_takes_the_first_candidate_that_fits() -> None:
    long = "word " * 40
    assert fit_summary(["short enough"]) == "short enough"
    assert fit_summary([long, "the fallback"]) == "the fallback"


def test_fit_summary_cuts_at_a_word_boundary_and_marks_the_cut() -> None:
    text = "Osteoporosis treatment indicated (" + "averyveryverylongword " * 10 + ")"

    cut = fit_summary([text])

    assert len(cut) < 140 and cut.endswith("...")
    kept = cut[: -len("...")]
    assert text.startswith(kept) and text[len(kept)] == " "


def test_fit_summary_cuts_a_single_endless_word_hard() -> None:
    cut = fit_summary(["x" * 300])

    assert len(cut) == 139 and cut.endswith("...")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("9.39876", "9.3"),  # 2.345 mmol/L calcium in mg/dL
        ("12.0192", "12.0"),  # 30 nmol/L 25-OH D in ng/mL: one decimal, not "12.01"
        ("9.40", "9.4"),  # a computed corrected calcium
        ("19.996", "19.9"),  # never "20.0" on a below-20 card
        ("-2.509", "-2.5"),  # still at or below -2.5
        ("-2.49", "-2.4"),  # still above -2.5
        ("-1.0", "-1.0"),  # as recorded
        ("3.0", "3.0"),  # FRAX hip 3.0 stays 3.0 in summary and detail alike
        ("35", "35"),
        ("20.0001", "20.0"),
        ("-0.004", "0.0"),
    ],
)
def test_numbers_have_at_most_one_decimal_cut_toward_zero(value: str, shown: str) -> None:
    assert display_decimal(Decimal(value)) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("19.996", "19.9"),
        ("20.01", "20"),
        ("3.30", "3.3"),
        ("21", "21"),
        ("20.0", "20"),
        ("4.5", "4.5"),
        ("-0.001", "0"),
    ],
)
def test_thresholds_are_written_as_the_table_writes_them_and_never_round_across(value: str, shown: str) -> None:
    """Thresholds are trimmed ("FRAX hip 3.3% >=3%"), cut toward zero like every value."""
    assert display_decimal(Decimal(value), trim=True) == shown
