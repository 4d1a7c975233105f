"""The card catalog page a CDS committee reviews: every rule's trigger, variants, an example card, suggestions, links,
override reasons and evidence. Served at GET /cds-services/{id}/catalog and written by `osteo-cds catalog --out DIR`.

The page is static HTML with inline CSS and no JavaScript or external assets, so it can be archived with the
approval minutes. Example cards are rendered by the real renderer from the sample patients in cards/samples.yaml.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template

from cards.catalog import Catalog
from cards.registries import evidence_registry, override_reason_registry
from cards.render import SOURCE_LABEL, RenderOptions, render_card
from cards.samples import Sample, load_samples
from decision_core.specs import RULE_SPECS
from decision_core.version import RULE_SET_VERSION, TABLE_REVISION, TABLE_REVISION_DATE

EXAMPLE_PATIENT_ID = "example-patient"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


@dataclass
class VariantRow:
    name: str
    indicator: str
    template: str
    example_summary: str
    suggestions: list[str]


@dataclass
class RuleEntry:
    rule_id: str
    title: str
    trigger: str
    indicators: list[str]
    variants: list[VariantRow]
    patient: str
    example: dict[str, Any]
    example_detail_html: str
    example_json: str
    links: list[dict[str, Any]]
    smart_link: bool
    override_reasons: list[Mapping[str, str]]
    evidence: list[dict[str, Any]]
    seeds: list[dict[str, str]]
    action_kinds: list[str] = field(default_factory=list)
    rationale_html: str = ""
    citations: list[str] = field(default_factory=list)
    configured: str = ""  # what this site changed ("turned off here ..."), empty when nothing


def _samples_by_rule() -> dict[str, list[Sample]]:
    grouped: dict[str, list[Sample]] = {}
    for sample in load_samples():
        grouped.setdefault(sample.rule_id, []).append(sample)
    return grouped


def example_cards(catalog: Catalog, options: RenderOptions | None = None) -> dict[str, list[dict[str, Any]]]:
    """Per rule id, one rendered card per variant for its sample patient, in the spec's variant order."""
    grouped = _samples_by_rule()
    result = {}
    for card in catalog.ordered():
        order = list(RULE_SPECS[card.rule_id].variants)
        samples = sorted(grouped.get(card.rule_id, []), key=lambda s: order.index(s.variant))
        result[card.rule_id] = [render_card(s.recommendation, catalog, EXAMPLE_PATIENT_ID, options) for s in samples]
    return result


@cache
def open_items() -> tuple[dict[str, Any], ...]:
    """The open "[verify]" notes (cards/open_items.yaml), listed on the catalog page."""
    return tuple(yaml.safe_load(resources.files("cards").joinpath("open_items.yaml").read_text("utf-8")))


def build_entries(
    catalog: Catalog, options: RenderOptions | None = None, site_changes: Mapping[str, str] | None = None
) -> list[RuleEntry]:
    grouped = _samples_by_rule()
    examples = example_cards(catalog, options)
    registry = evidence_registry()
    entries = []
    for card in catalog.ordered():
        spec = RULE_SPECS[card.rule_id]
        cards = examples[card.rule_id]
        samples = {s.variant: s for s in grouped.get(card.rule_id, [])}
        rows = []
        for (name, variant), example in zip(spec.variants.items(), cards, strict=True):
            rows.append(
                VariantRow(
                    name,
                    variant.indicator.value,
                    card.decision_table.summaries[name],
                    example["summary"],
                    [s["label"] for s in example.get("suggestions", ())],
                )
            )
        first = cards[0]
        seeds = [{"key": key, "cite": registry[key].cite, "statement": text} for key, text in card.seeds.items()]
        evidence = [
            {"key": key, "cite": registry[key].cite, "year": registry[key].year, "url": registry[key].url}
            for key in spec.evidence
            if not registry[key].seed
        ]
        entries.append(
            RuleEntry(
                rule_id=card.rule_id,
                title=card.title,
                trigger=card.trigger,
                indicators=sorted(
                    {v.indicator.value for v in spec.variants.values()}, key=["critical", "warning", "info"].index
                ),
                variants=rows,
                patient=samples[next(iter(spec.variants))].patient,
                example=first,
                example_detail_html=markdown_to_html(first["detail"]),
                example_json=json.dumps(first, indent=2, ensure_ascii=False),
                links=[{"label": link.label, "url": link.url, "verify": link.verify} for link in card.links],
                smart_link=card.smart_link,
                override_reasons=list(card.override_reasons),
                evidence=evidence,
                seeds=seeds,
                action_kinds=sorted(a.value for a in spec.action_kinds),
                rationale_html=markdown_to_html(card.rationale) if card.rationale else "",
                citations=list(card.citations),
                configured=(site_changes or {}).get(card.rule_id, ""),
            )
        )
    return entries


# --- a small, safe renderer for the GFM subset the card details use ---------------------------------------------

_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\((https://[^\s)]+)\)")
_PLACEHOLDER_BASE = 0xE000  # private-use code points stand in for backslash-escaped characters


def _inline(text: str) -> str:
    text = _ESCAPED.sub(lambda m: chr(_PLACEHOLDER_BASE + ord(m.group(1))), html.unescape(text))
    text = html.escape(text, quote=True)
    text = _LINK.sub(r'<a href="\2">\1</a>', text)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    return "".join(html.escape(chr(ord(c) - _PLACEHOLDER_BASE)) if 0xE000 <= ord(c) < 0xE080 else c for c in text)


def markdown_to_html(markdown: str) -> str:
    """Paragraphs, '- ' lists, **bold**, https links and backslash escapes; everything else is escaped text."""
    parts = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            parts.append(f"<ul>{items}</ul>")
        elif len(lines) == 1 and _BOLD.fullmatch(lines[0]):
            parts.append(f"<h4>{_inline(lines[0][2:-2])}</h4>")
        else:
            parts.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "\n".join(parts)


# --- the page ---------------------------------------------------------------------------------------------------


def _read_template(name: str) -> str:
    return resources.files("cards").joinpath("templates", name).read_text("utf-8")


@cache
def _page_template() -> Template:
    env = Environment(undefined=StrictUndefined, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(_read_template("catalog.html"))


def render_catalog_html(
    catalog: Catalog,
    options: RenderOptions,
    generated: datetime | None = None,
    site_changes: Mapping[str, str] | None = None,
) -> str:
    """`site_changes`: rule id -> what this site configured (listed as "configured here")."""
    entries = build_entries(catalog, options, site_changes)
    items = [item for item in open_items() if not item.get("rules") or set(item["rules"]) & set(catalog.cards)]
    registry = override_reason_registry()
    return _page_template().render(
        entries=entries,
        css=_read_template("catalog.css"),
        service_id=options.service_id,
        source_label=SOURCE_LABEL,
        generated=(generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        override_system=next(iter(registry.values()))["system"],
        override_reasons=list(registry.values()),
        smart_configured=bool(options.smart_app_url),
        variant_count=sum(len(e.variants) for e in entries),
        rule_set_version=RULE_SET_VERSION,
        table_revision=TABLE_REVISION,
        table_revision_date=TABLE_REVISION_DATE,
        site_changes=[(rule, words) for rule, words in (site_changes or {}).items() if rule in catalog.cards],
        open_items=[item for item in items if not item.get("resolved")],
        resolved_items=[item for item in items if item.get("resolved")],
    )


def write_catalog(
    out: Path, catalog: Catalog, options: RenderOptions, site_changes: Mapping[str, str] | None = None
) -> list[Path]:
    """index.html plus examples/<RULE-ID>.json (the example cards of each rule, as a CDS Hooks response)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "examples").mkdir(exist_ok=True)
    written = [out / "index.html"]
    written[0].write_text(render_catalog_html(catalog, options, site_changes=site_changes), "utf-8")
    for rule_id, cards in example_cards(catalog, options).items():
        path = out / "examples" / f"{rule_id}.json"
        path.write_text(json.dumps({"cards": cards}, indent=2, ensure_ascii=False) + "\n", "utf-8")
        written.append(path)
    return written
