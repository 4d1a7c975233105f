"""Load the card catalog (cards/rules/*.yaml) and fill a rule's templates with a recommendation's values.

Templates are Jinja2 with StrictUndefined: a template naming a value the decision core did not provide fails
loudly in tests instead of printing a blank. Values are formatted for clinicians: dates ISO 8601, decimals as
written, negative numbers with an ASCII hyphen-minus, and any text from the chart escaped so it cannot inject
markdown or HTML into a card.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template

from decision_core.model import Recommendation

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|])")


@dataclass(frozen=True)
class CardText:
    title: str
    summary: str
    detail: str | None
    links: tuple[Mapping[str, str], ...] = ()
    override_reasons: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class RuleCard:
    rule_id: str
    title: str
    order: int
    summaries: Mapping[str, Template]
    detail: Template | None
    evidence: tuple[str, ...] = ()
    links: tuple[Mapping[str, str], ...] = ()
    override_reasons: tuple[Mapping[str, str], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)


def format_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return _MARKDOWN_SPECIAL.sub(r"\\\1", value.replace("\u2212", "-"))
    return value


def _environment() -> Environment:
    env = Environment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=False, finalize=format_value)
    return env


class Catalog:
    def __init__(self, cards: Mapping[str, RuleCard]) -> None:
        self.cards = dict(cards)

    def order(self, rule_id: str) -> int:
        card = self.cards.get(rule_id)
        return card.order if card else 10_000

    def text(self, recommendation: Recommendation) -> CardText:
        card = self.cards[recommendation.rule_id]
        values = dict(recommendation.values)
        summary_template = card.summaries.get(recommendation.variant) or card.summaries["default"]
        summary = " ".join(summary_template.render(values).split())
        detail = card.detail.render(values, variant=recommendation.variant).strip() if card.detail else None
        return CardText(card.title, summary, detail or None, card.links, card.override_reasons)


def load_catalog_from(texts: Sequence[str]) -> Catalog:
    env = _environment()
    cards: dict[str, RuleCard] = {}
    for text in texts:
        data = yaml.safe_load(text)
        summaries = {name: env.from_string(t) for name, t in data["summaries"].items()}
        cards[data["rule_id"]] = RuleCard(
            rule_id=data["rule_id"],
            title=data["title"],
            order=int(data["order"]),
            summaries=summaries,
            detail=env.from_string(data["detail"]) if data.get("detail") else None,
            evidence=tuple(data.get("evidence", ())),
            links=tuple(data.get("links", ())),
            override_reasons=tuple(data.get("override_reasons", ())),
            raw=data,
        )
    return Catalog(cards)


@cache
def default_catalog() -> Catalog:
    folder = resources.files("cards").joinpath("rules")
    texts = [f.read_text("utf-8") for f in sorted(folder.iterdir(), key=lambda f: f.name)
             if f.name.endswith(".yaml")]
    return load_catalog_from(texts)


@dataclass(frozen=True)
class Evidence:
    key: str
    cite: str
    year: int
    url: str | None = None


@cache
def evidence_registry() -> Mapping[str, Evidence]:
    data = yaml.safe_load(resources.files("cards").joinpath("evidence.yaml").read_text("utf-8"))
    return {key: Evidence(key, item["cite"], int(item["year"]), item.get("url")) for key, item in data.items()}


def evidence_markdown(keys: Sequence[str]) -> str:
    """The card's evidence section: one bullet per source, with its year and link."""
    registry = evidence_registry()
    lines = []
    for key in dict.fromkeys(keys):
        item = registry[key]
        cite = f"[{item.cite}]({item.url})" if item.url else item.cite
        lines.append(f"- {cite} [{key}]")
    return "**Evidence**\n\n" + "\n".join(lines)
