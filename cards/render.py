"""Recommendations → spec-valid CDS Hooks cards, worded from the card catalog in `cards/`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cards.catalog import Catalog
from cards.suggestions import build_suggestions
from decision_core.recommendation import Indicator, Recommendation

SOURCE_LABEL = "Osteo CDS (bone health)"
TOPIC_SYSTEM = "urn:osteo-cds:rule"
SMART_LINK_LABEL = "Open the bone-health app"
_INDICATOR_ORDER = {Indicator.CRITICAL: 0, Indicator.WARNING: 1, Indicator.INFO: 2}


@dataclass(frozen=True)
class RenderOptions:
    """What the cards need to know about the service and the site, built by the HTTP edge from its settings:
    the service the cards come from, the public URL of its card catalog, and the optional SMART app link."""

    service_id: str | None = None
    public_base_url: str | None = None
    smart_app_url: str | None = None
    smart_app_context: str | None = None

    def catalog_url(self, rule_id: str) -> str | None:
        if not self.public_base_url or not self.service_id:
            return None
        return f"{self.public_base_url}/cds-services/{self.service_id}/catalog#{rule_id}"


@dataclass(frozen=True)
class RenderedCard:
    rule_id: str
    card: dict[str, Any]

    @property
    def suggestion_uuids(self) -> tuple[str, ...]:
        return tuple(s["uuid"] for s in self.card.get("suggestions", ()))


def _deletes_shared_draft(suggestions: Sequence[dict[str, Any]]) -> bool:
    deleted = [{a["resourceId"] for a in s.get("actions", ()) if a.get("type") == "delete"} for s in suggestions]
    return any(deleted[i] & deleted[j] for i in range(len(deleted)) for j in range(i + 1, len(deleted)))


def render_cards(
    recommendations: Sequence[Recommendation], catalog: Catalog, patient_id: str, options: RenderOptions | None = None
) -> list[RenderedCard]:
    """Cards ordered critical → warning → info, then by the catalog's fixed rule order."""
    options = options or RenderOptions()
    ordered = sorted(recommendations, key=lambda r: (_INDICATOR_ORDER[r.indicator], catalog.order(r.rule_id)))
    in_response = frozenset(r.rule_id for r in ordered)
    return [RenderedCard(r.rule_id, render_card(r, catalog, patient_id, options, in_response)) for r in ordered]


def render_card(
    recommendation: Recommendation,
    catalog: Catalog,
    patient_id: str,
    options: RenderOptions | None = None,
    in_response: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """One card; `in_response` = the rule ids of the cards sent with it (a card refers only to those)."""
    options = options or RenderOptions()
    text = catalog.text(recommendation, in_response)
    links: list[dict[str, Any]] = [{"label": link.label, "url": link.url, "type": "absolute"} for link in text.links]
    if text.smart_link and options.smart_app_url:
        smart: dict[str, Any] = {"label": SMART_LINK_LABEL, "url": options.smart_app_url, "type": "smart"}
        if options.smart_app_context:
            smart["appContext"] = options.smart_app_context
        links.append(smart)
    # source.url is "about the source": the rule's own anchor in the card catalog, where its full rationale is
    # (the base is the public URL, else the request's own; a guideline link only when neither is known).
    source_url = options.catalog_url(recommendation.rule_id) or (text.links[0].url if text.links else None)
    source: dict[str, Any] = {"label": SOURCE_LABEL}
    if source_url:
        source["url"] = source_url
    source["topic"] = {"system": TOPIC_SYSTEM, "code": recommendation.rule_id, "display": text.title}
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": text.summary,
        "indicator": recommendation.indicator.value,
        "detail": text.detail,
        "source": source,
    }
    suggestions = build_suggestions(recommendation.actions, patient_id)
    if suggestions:
        card["suggestions"] = suggestions
        # Every draft a card carries is what the card recommends. One draft: take it or leave it (at-most-one);
        # several drafts (e.g. calcium and vitamin D) are independent, so any combination may be taken.
        # Order cards (§10): suggestions that each delete the same draft are alternatives for it (remove it, or
        # replace it), so only one may be taken, and the first (the alternative drug) is the recommended one.
        alternatives = _deletes_shared_draft(suggestions)
        card["selectionBehavior"] = "at-most-one" if len(suggestions) == 1 or alternatives else "any"
        for index, suggestion in enumerate(suggestions):
            suggestion["isRecommended"] = index == 0 or not alternatives
    if text.override_reasons:
        card["overrideReasons"] = [dict(reason) for reason in text.override_reasons]
    if links:
        card["links"] = links
    return card
