"""The card catalog: every rule's card (cards/rules/*.yaml, checked by cards.rule_files) and the words of a card for
one recommendation.

One YAML file per rule id holds everything a clinician reads: the summary template of every variant the decision
core can emit, the detail (GitHub-flavoured Markdown: why, what to do), links, override reasons and what each seed
article states. Values are formatted by cards.formatting; the templates are compiled in cards.card_text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from types import MappingProxyType
from typing import Any

from cards.card_text import CardText, RuleCard, card_names, word_card
from cards.rule_files import load_rule_cards, packaged_rule_files
from decision_core.recommendation import Recommendation
from decision_core.rule_spec import RuleSpec
from decision_core.specs import RULE_SPECS


class Catalog:
    """The rule cards of one rule set, read-only: what every card is called is worked out once, not per card."""

    def __init__(self, cards: Mapping[str, RuleCard], specs: Mapping[str, RuleSpec] = RULE_SPECS) -> None:
        self.cards: Mapping[str, RuleCard] = MappingProxyType(dict(cards))
        self.specs = specs
        self._subjects = MappingProxyType({rule_id: card.subject for rule_id, card in self.cards.items()})
        self._card_names = card_names(self._subjects)

    def subset(self, rule_ids: Iterable[str]) -> Catalog:
        """The catalog of these rules only (one service's rule set); itself when it holds no others."""
        wanted = set(rule_ids)
        if set(self.cards) <= wanted:
            return self
        return Catalog({k: v for k, v in self.cards.items() if k in wanted}, self.specs)

    def order(self, rule_id: str) -> int:
        card = self.cards.get(rule_id)
        return card.order if card else 10_000

    def ordered(self) -> list[RuleCard]:
        return sorted(self.cards.values(), key=lambda c: c.order)

    def word_reason(self, rule_id: str, reason: Any) -> str:
        """One reason of a rule's recommendation, as its card words it."""
        return self.cards[rule_id].reason_words(reason)

    def text(self, recommendation: Recommendation, in_response: Iterable[str] = ()) -> CardText:
        """The card's words. `in_response`: the rule ids of the other cards sent with it (cross references)."""
        card = self.cards[recommendation.rule_id]
        return word_card(card, recommendation, self._subjects, self._card_names, in_response)


def load_catalog_from(
    texts: Sequence[str], specs: Mapping[str, RuleSpec] = RULE_SPECS, names: Sequence[str] | None = None
) -> Catalog:
    """Parse and check rule files; raises cards.rule_files.CatalogError listing every problem."""
    return Catalog(load_rule_cards(texts, specs, names), specs)


@cache
def default_catalog() -> Catalog:
    files = packaged_rule_files()
    return load_catalog_from([text for _, text in files], names=[name for name, _ in files])
