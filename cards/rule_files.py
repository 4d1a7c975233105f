"""Read and check the rule files (cards/rules/*.yaml), one per rule id.

Loading is strict: every file is checked against a schema (cards/rule.schema.yaml), against the decision core's
contract (decision_core.specs.RULE_SPECS: variants, value keys, evidence) and by rendering every template with
spec-shaped sample values, so a template naming a value the core does not provide fails at start-up and in tests,
never as a blank in front of a clinician.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import yaml
from jinja2 import Environment, Template, TemplateError, meta
from jsonschema import Draft202012Validator

from cards.card_text import (
    DETAIL_ENV,
    SUMMARY_ENV,
    TEMPLATE_GLOBALS,
    CardLink,
    DecisionTableText,
    ReasonWords,
    RuleCard,
    card_names,
    see_card,
)
from cards.registries import citation_line, evidence_registry, override_reason_registry, read_packaged_yaml
from cards.sample_values import sample_of, sample_values
from decision_core.recommendation import Indicator
from decision_core.rule_spec import RuleSpec
from decision_core.specs import RULE_SPECS
from decision_core.value_types import reason_codes, reason_record, record_fields


class CatalogError(ValueError):
    """The card catalog does not match its schema or the decision core's contract. Lists every problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("card catalog is invalid:\n  " + "\n  ".join(self.problems))


def packaged_rule_files() -> list[tuple[str, str]]:
    """(file name, text) of every rule file shipped in cards/rules/, by name."""
    folder = resources.files("cards").joinpath("rules")
    return [
        (f.name, f.read_text("utf-8"))
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".yaml")
    ]


@cache
def rule_file_schema() -> dict[str, Any]:
    schema: dict[str, Any] = read_packaged_yaml("rule.schema.yaml")
    Draft202012Validator.check_schema(schema)
    return schema


def load_rule_cards(
    texts: Sequence[str], specs: Mapping[str, RuleSpec] = RULE_SPECS, names: Sequence[str] | None = None
) -> dict[str, RuleCard]:
    """Parse and check rule files; raises CatalogError listing every problem (one file per rule of `specs`)."""
    problems: list[str] = []
    cards: dict[str, RuleCard] = {}
    for index, text in enumerate(texts):
        where = names[index] if names else f"rule file #{index + 1}"
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problems.append(f"{where}: not YAML: {exc}")
            continue
        card = _load_one(data, where, problems)
        if card is None:
            continue
        if names and names[index] != f"{card.rule_id}.yaml":
            problems.append(f"{where}: holds rule {card.rule_id}; name the file {card.rule_id}.yaml")
        if card.rule_id in cards:
            problems.append(f"{where}: a second file for {card.rule_id}")
        cards[card.rule_id] = card
    missing = sorted(set(specs) - set(cards))
    if missing:
        problems.append(f"no card file for rules {missing}")
    orders = [c.order for c in cards.values()]
    if len(set(orders)) != len(orders):
        problems.append("two rule files share an order number")
    for rule_id, card in cards.items():
        if rule_id in specs:
            problems.extend(rule_file_problems(card, specs[rule_id]))
    if problems:
        raise CatalogError(problems)
    return cards


def _compile(
    env: Environment, source: str, where: str, problems: list[str], words: ReasonWords | None = None
) -> Template | None:
    try:
        return env.from_string(source, globals={"reason": words} if words is not None else None)
    except TemplateError as exc:
        problems.append(f"{where}: template does not compile: {exc}")
        return None


def _names(env: Environment, source: str) -> set[str]:
    return set(meta.find_undeclared_variables(env.parse(source)))


def _links(data: Mapping[str, Any], where: str, problems: list[str]) -> tuple[CardLink, ...]:
    registry = evidence_registry()
    links = []
    for item in data.get("links", ()):
        if "evidence" in item:
            evidence = registry.get(item["evidence"])
            if evidence is None or evidence.url is None:
                problems.append(f"{where}: link to evidence {item['evidence']!r}, which has no url in evidence.yaml")
                continue
            links.append(CardLink(item.get("label") or evidence.short, evidence.url))
        else:
            links.append(CardLink(item["label"], item["url"], item.get("verify")))
    return tuple(links)


def _load_one(data: Any, where: str, problems: list[str]) -> RuleCard | None:
    errors = sorted(Draft202012Validator(rule_file_schema()).iter_errors(data), key=lambda e: e.json_path)
    if errors:
        problems.extend(f"{where}: {e.json_path}: {e.message}" for e in errors)
        return None
    rule_id = data["rule_id"]
    spec = RULE_SPECS.get(rule_id)
    if spec is None:
        problems.append(f"{where}: rule id {rule_id} is not in decision_core.specs.RULE_SPECS")
        return None
    reason_templates = {
        code: _compile(SUMMARY_ENV, t, f"{where}: reasons.{code}", problems)
        for code, t in data.get("reasons", {}).items()
    }
    words = ReasonWords({code: t for code, t in reason_templates.items() if t is not None})
    summaries = {
        v: _compile(SUMMARY_ENV, t, f"{where}: summaries.{v}", problems, words) for v, t in data["summaries"].items()
    }
    shorts = {
        v: _compile(SUMMARY_ENV, t, f"{where}: short_summaries.{v}", problems, words)
        for v, t in data.get("short_summaries", {}).items()
    }
    detail = _compile(DETAIL_ENV, data["detail"], f"{where}: detail", problems, words)
    reasons = []
    for code in data.get("override_reasons", ()):
        reason = override_reason_registry().get(code)
        if reason is None:
            problems.append(f"{where}: override reason {code!r} is not in override_reasons.yaml")
        else:
            reasons.append(reason)
    citations = tuple(data["citations"])
    links = _links(data, where, problems)
    registry = evidence_registry()
    for key in citations:
        if key not in registry or registry[key].seed:
            problems.append(f"{where}: citation {key!r} is not a guideline key of evidence.yaml")
    if citations and citations[0] in registry:
        first = registry[citations[0]]
        if first.url is None:
            problems.append(f"{where}: the first citation ({citations[0]}) needs a url in evidence.yaml (it is linked)")
        else:
            links = (CardLink(first.short, first.url), *(link for link in links if link.url != first.url))
    if detail is None or None in summaries.values() or None in shorts.values() or None in reason_templates.values():
        return None
    return RuleCard(
        rule_id=rule_id,
        title=data["title"],
        order=int(data["order"]),
        trigger=data["trigger"],
        summaries={v: t for v, t in summaries.items() if t is not None},  # none is None: checked above
        short_summaries={v: t for v, t in shorts.items() if t is not None},
        detail=detail,
        links=links,
        override_reasons=tuple(reasons),
        smart_link=bool(data.get("smart_link", False)),
        seeds=dict(data.get("seeds", {})),
        decision_table=DecisionTableText(data["decision_table"]["trigger"], dict(data["decision_table"]["summaries"])),
        reason_words=words,
        subject=data["subject"],
        citations=citations,
        evidence_line=citation_line(citations),
        rationale=data.get("rationale", ""),
        source=data,
    )


def rule_file_problems(card: RuleCard, spec: RuleSpec) -> list[str]:
    """Where a rule file disagrees with the decision core's contract for that rule."""
    where = f"{card.rule_id}.yaml"
    problems: list[str] = []
    variants = set(spec.variants)
    if set(card.summaries) != variants:
        missing, extra = sorted(variants - set(card.summaries)), sorted(set(card.summaries) - variants)
        problems.append(f"{where}: summaries must cover exactly the spec variants (missing {missing}, unknown {extra})")
    if set(card.decision_table.summaries) != variants:
        problems.append(f"{where}: decision_table.summaries must cover exactly the spec variants")
    if set(card.short_summaries) - variants:
        problems.append(f"{where}: short_summaries for unknown variants {sorted(set(card.short_summaries) - variants)}")
    source = card.source
    every_key = set(spec.all_keys()) | {"variant"} | TEMPLATE_GLOBALS
    unknown = _names(DETAIL_ENV, source["detail"]) - every_key
    if unknown:
        problems.append(f"{where}: detail uses keys the core does not provide: {sorted(unknown)}")
    for variant in variants & set(card.summaries):
        allowed = spec.required_keys(variant) | TEMPLATE_GLOBALS
        for kind in ("summaries", "short_summaries"):
            text = source.get(kind, {}).get(variant)
            if text is not None and (unknown := _names(SUMMARY_ENV, text) - allowed):
                problems.append(f"{where}: {kind}.{variant} uses keys not provided for this variant: {sorted(unknown)}")
    codes = {code for key in spec.all_keys().values() for code in reason_codes(key.type)}
    worded = set(card.reason_words.templates)
    if worded != codes:
        problems.append(
            f"{where}: reasons must word exactly the spec's reason codes "
            f"(missing {sorted(codes - worded)}, unknown {sorted(worded - codes)})"
        )
    spec_seeds = {k for k in spec.evidence if k.startswith("S0")}
    if set(card.seeds) != spec_seeds:
        problems.append(
            f"{where}: seeds must state what each seed of the spec says: spec {sorted(spec_seeds)}, "
            f"file {sorted(card.seeds)}"
        )
    if set(card.citations) - set(spec.evidence):
        problems.append(
            f"{where}: citations not in the rule's evidence: {sorted(set(card.citations) - set(spec.evidence))}"
        )
    escalates = any(v.indicator is not Indicator.INFO for v in spec.variants.values())
    if escalates and not card.override_reasons:
        problems.append(f"{where}: warning/critical cards need override_reasons")
    if not escalates and card.override_reasons:
        problems.append(f"{where}: override_reasons on a rule whose cards are all info (they would never be sent)")
    if not any(link.url for link in card.links):
        problems.append(f"{where}: at least one guideline link is required")
    if problems:
        return problems
    return render_problems(card, spec)


def render_problems(card: RuleCard, spec: RuleSpec) -> list[str]:
    """Render every template of every variant with spec-shaped values: typical, all-optional-None, longest."""
    problems = []
    for variant in spec.variants:
        keys = spec.keys_of(variant)
        for mode in ("typical", "none", "long"):
            values = sample_values(keys, mode)
            templates = [("summaries", card.summaries[variant])]
            if variant in card.short_summaries:
                templates.append(("short_summaries", card.short_summaries[variant]))
            try:
                helpers = {"see": see_card({}, frozenset()), "card_names": card_names({})}
                for kind, template in templates:
                    if not " ".join(template.render(values, **helpers).split()):
                        problems.append(f"{card.rule_id}.yaml: {kind}.{variant} renders empty ({mode} values)")
                if not card.detail.render(values, variant=variant, **helpers).strip():
                    problems.append(f"{card.rule_id}.yaml: detail renders empty for {variant} ({mode} values)")
            except (TemplateError, TypeError, ValueError, AttributeError, KeyError) as exc:
                problems.append(
                    f"{card.rule_id}.yaml: variant {variant} with {mode} values: {type(exc).__name__}: {exc}"
                )
    return problems + reason_problems(card, spec)


def reason_problems(card: RuleCard, spec: RuleSpec) -> list[str]:
    """Word every reason code the spec allows, with sample values of the record that carries it."""
    problems = []
    for key in spec.all_keys().values():
        for code in reason_codes(key.type):
            if code not in card.reason_words.templates:
                continue  # reported by rule_file_problems
            fields = record_fields(reason_record(key.type, code))
            for mode in ("typical", "long"):
                reason: Any = {**{f: sample_of(t, mode) for f, t in fields.items()}, "code": code} if fields else code
                try:
                    if not card.reason_words(reason):
                        problems.append(f"{card.rule_id}.yaml: reasons.{code} renders empty ({mode} values)")
                except (TemplateError, TypeError, ValueError, AttributeError) as exc:
                    problems.append(f"{card.rule_id}.yaml: reasons.{code}: {type(exc).__name__}: {exc}")
    return problems
