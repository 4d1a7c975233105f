"""Recommendations → spec-valid CDS Hooks cards, worded from the card catalog in `cards/`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cards.catalog import Catalog, evidence_markdown
from cds_service.suggestions import build_suggestions
from decision_core.model import Indicator, Recommendation

SOURCE_LABEL = "Osteo CDS (bone health)"
TOPIC_SYSTEM = "urn:osteo-cds:rule"
_INDICATOR_ORDER = {Indicator.CRITICAL: 0, Indicator.WARNING: 1, Indicator.INFO: 2}


@dataclass(frozen=True)
class RenderedCard:
    rule_id: str
    card: dict[str, Any]

    @property
    def suggestion_uuids(self) -> tuple[str, ...]:
        return tuple(s["uuid"] for s in self.card.get("suggestions", ()))


def render_cards(recommendations: Sequence[Recommendation], catalog: Catalog, patient_id: str) -> list[RenderedCard]:
    """Cards ordered critical → warning → info, then by the catalog's fixed rule order."""
    ordered = sorted(recommendations, key=lambda r: (_INDICATOR_ORDER[r.indicator], catalog.order(r.rule_id)))
    return [RenderedCard(r.rule_id, render_card(r, catalog, patient_id)) for r in ordered]


def render_card(recommendation: Recommendation, catalog: Catalog, patient_id: str) -> dict[str, Any]:
    text = catalog.text(recommendation)
    evidence = tuple(recommendation.evidence) or catalog.cards[recommendation.rule_id].evidence
    detail = "\n\n".join(part for part in (text.detail, evidence_markdown(evidence)) if part)
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": text.summary,
        "indicator": recommendation.indicator.value,
        "detail": detail,
        "source": {
            "label": SOURCE_LABEL,
            "topic": {"system": TOPIC_SYSTEM, "code": recommendation.rule_id, "display": text.title},
        },
    }
    suggestions = build_suggestions(recommendation.actions, patient_id)
    if suggestions:
        card["suggestions"] = suggestions
        if len(suggestions) == 1:
            # A single draft: the clinician may take it or not; it is what this card recommends.
            card["selectionBehavior"] = "at-most-one"
            suggestions[0]["isRecommended"] = True
        else:
            card["selectionBehavior"] = "any"
    if text.override_reasons and recommendation.indicator is not Indicator.INFO:
        card["overrideReasons"] = [dict(reason) for reason in text.override_reasons]
    if text.links:
        card["links"] = [dict(link) for link in text.links]
    return card
