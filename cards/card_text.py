"""A rule's card text: the Jinja environments its templates are compiled in, the globals they may call, the loaded
rule (RuleCard) and the words made from it for one recommendation (CardText)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, StrictUndefined, Template

from cards.formatting import domain_names, fit_summary, markdown_value, plain_value, trimmed_decimal
from decision_core.recommendation import Indicator, Recommendation

_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")  # templates with conditional lines leave runs of blank lines

TEMPLATE_GLOBALS = frozenset(
    {"reason", "see", "card_names"}
)  # names the rule templates may use besides value keys and `variant`


class _FixedGlobalsEnvironment(Environment):
    """Jinja keeps a template's globals as a ChainMap over the environment's, which every render copies key by key
    into a new context (about a quarter of a card's rendering). Ours never change once the catalog is loaded (as
    Jinja advises), so each template gets them as one plain dict."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


def _environment(finalize: Callable[[Any], str]) -> Environment:
    env = _FixedGlobalsEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=finalize,
    )
    env.filters["domains"] = domain_names
    env.filters["trimmed"] = trimmed_decimal
    return env


SUMMARY_ENV = _environment(plain_value)
DETAIL_ENV = _environment(markdown_value)


@dataclass(frozen=True)
class CardLink:
    label: str
    url: str
    verify: str | None = None  # what must be checked before go-live (shown in the catalog, not on cards)


@dataclass(frozen=True)
class CardText:
    title: str
    summary: str
    detail: str
    links: tuple[CardLink, ...] = ()
    override_reasons: tuple[Mapping[str, str], ...] = ()
    smart_link: bool = False
    summary_fallback: bool = False  # the short template (or a cut) was needed to stay under 140 characters


@dataclass(frozen=True)
class DecisionTableText:
    """The decision table's own words for a rule (RULES.md and the catalog page show them; cards do not)."""

    trigger: str
    summaries: Mapping[str, str]  # variant -> the table's summary template ({value_key} placeholders)


class ReasonWords:
    """How one rule words its reason codes (the rule file's `reasons:`): a code, or a record with a `code` field and
    the values the wording cites. Templates of the rule call it as `reason(r)`."""

    def __init__(self, templates: Mapping[str, Template]) -> None:
        self.templates = dict(templates)

    def __call__(self, reason: Any) -> str:
        if isinstance(reason, Mapping):
            code, context = str(reason["code"]), dict(reason)
        else:
            code, context = str(reason), {}
        return " ".join(self.templates[code].render(context).split())


@dataclass(frozen=True)
class RuleCard:
    rule_id: str
    title: str
    order: int
    trigger: str
    summaries: Mapping[str, Template]
    short_summaries: Mapping[str, Template]
    detail: Template
    links: tuple[CardLink, ...]
    override_reasons: tuple[Mapping[str, str], ...]
    smart_link: bool
    seeds: Mapping[str, str]
    decision_table: DecisionTableText
    reason_words: ReasonWords
    subject: str = ""  # how other cards refer to this one: "see the {subject} card"
    citations: tuple[str, ...] = ()  # the live card's key evidence (1-3 keys, the first linked)
    evidence_line: str = ""  # the citations as the detail's last line (cards.registries.citation_line)
    rationale: str = ""  # the full reasoning, shown in the catalog at the rule's anchor (Markdown)
    source: Mapping[str, Any] = field(default_factory=dict)  # the YAML as loaded, for the catalog page


def see_card(subjects: Mapping[str, str], in_response: frozenset[str]) -> Callable[..., str]:
    """The template global `see(rule_id, ...)`: " (see the <subject> card)" for the first of these rules whose card is
    in the same response, else nothing: a card never points at a card the clinician cannot see."""

    def see(*rule_ids: str) -> str:
        for rule_id in rule_ids:
            if rule_id in in_response and rule_id in subjects:
                return f" (see the {subjects[rule_id]} card)"
        return ""

    return see


def card_names(subjects: Mapping[str, str]) -> Callable[[Iterable[str]], str]:
    """The template global `card_names(rule_ids)`: "the treatment and calcium check cards" (rule ids are not clinician
    language)."""

    def names(rule_ids: Iterable[str]) -> str:
        words = list(dict.fromkeys(subjects.get(r, "other") for r in rule_ids))
        if not words:
            return ""
        joined = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        return f"the {joined} card" + ("s" if len(words) > 1 else "")

    return names


def word_card(
    card: RuleCard,
    recommendation: Recommendation,
    subjects: Mapping[str, str],
    names: Callable[[Iterable[str]], str],
    in_response: Iterable[str] = (),
) -> CardText:
    """The card's words for one recommendation of its rule. `subjects`: how every rule's card is referred to, and
    `names` the card_names global made from them; `in_response`: the rule ids of the other cards sent with it."""
    values = dict(recommendation.values)
    variant = recommendation.variant
    helpers = {"see": see_card(subjects, frozenset(in_response) - {recommendation.rule_id}), "card_names": names}
    candidates = [" ".join(card.summaries[variant].render(values, **helpers).split())]
    if variant in card.short_summaries:
        candidates.append(" ".join(card.short_summaries[variant].render(values, **helpers).split()))
    summary = fit_summary(candidates)
    body = _BLANK_LINES.sub("\n\n", card.detail.render(values, variant=variant, **helpers)).strip()
    detail = "\n\n".join(part for part in (body, _by_name_note(values), card.evidence_line) if part)
    reasons = card.override_reasons if recommendation.indicator is not Indicator.INFO else ()
    return CardText(
        card.title, summary, detail, card.links, reasons, card.smart_link, summary_fallback=summary != candidates[0]
    )


def _by_name_note(values: Mapping[str, Any]) -> str:
    """Every card that reads the medication list says which entries were recognised by name (§1.1 rev 2)."""
    names = values.get("drugs_recognised_by_name") or ()
    if not names:
        return ""
    listed = "; ".join(markdown_value(name) for name in names)
    return f"Recognised by name (no listed code): {listed}. Check that the entry is the drug meant."
