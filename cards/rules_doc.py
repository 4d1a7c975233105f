"""Render decision_core/RULES.md from the rule contract (decision_core.specs), the card files' titles and decision
table wording (cards/rules/*.yaml), the precedence table, the thresholds and the deviation list.

Regenerate with `python -m cards.rules_doc > decision_core/RULES.md`; a test keeps the file current.
"""

from __future__ import annotations

from cards.catalog import Catalog, default_catalog
from decision_core.deviations import ACTION_PARAMS, DEVIATIONS
from decision_core.precedence import CARD_ROWS, STATE_ROWS
from decision_core.rule_spec import Key
from decision_core.specs import RULE_SPECS
from decision_core.thresholds import threshold_table
from decision_core.value_types import describe


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _key_doc(key: Key) -> str:
    return f"{describe(key.type)}; {key.doc}" if key.doc else describe(key.type)


def render(catalog: Catalog | None = None) -> str:
    catalog = catalog or default_catalog()
    out: list[str] = [
        "# Decision core rules (generated)",
        "",
        "Generated from `decision_core.specs.RULE_SPECS` (the contract), `cards/rules/*.yaml` (titles and the",
        "decision table's wording), `decision_core.precedence`, `decision_core.thresholds` and",
        "`decision_core.deviations` by `python -m cards.rules_doc > decision_core/RULES.md`.",
        "Do not edit by hand: a test fails when this file and the code disagree.",
        "",
        "## Public API",
        "",
        "- `decision_core.evaluate(facts: PatientFacts, now: date | datetime) -> list[Recommendation]`:",
        "  sorted by indicator (critical, warning, info), then decision-table order; at most one per rule id.",
        "- `decision_core.assess(facts, now) -> Assessment`: every derived value (C-01..C-10) the rules read.",
        "- `decision_core.engine.triggered(facts, now)`: the raw trigger set before §4 (audit, tests).",
        "- `decision_core.RULE_SPECS: Mapping[str, RuleSpec]`;",
        "  `decision_core.conformance.recommendation_problems(rec)`.",
        "- `decision_core.data_issues.affected_rules(issue)`: which rules a data issue affects (DATA-03).",
        "- `decision_core.THRESHOLDS`: every threshold with its source keys.",
        "",
        "## Conventions for `values`",
        "",
        "- Plain types only: `str`, `int`, `bool`, `Decimal`, `date`, `None`, tuples and dicts of those; each key",
        "  conforms to the type its spec declares (`decision_core.value_types`; quoted values are the known codes).",
        "- T/Z-scores, FRAX %, labs and doses are `Decimal` exactly as recorded (FRAX adjusted values are exact",
        "  products); format them in the card layer. Negative numbers are to be written with ASCII hyphen-minus.",
        "- Each variant always provides exactly the keys listed (values may be `None` where the type says so).",
        "- Every rule has `unchecked_domains`: data domains it needs that were unavailable or partial; the card",
        "  must then say what could not be checked.",
        "",
        "## Action parameters",
        "",
        "| kind | params |",
        "|---|---|",
        *[f"| `{kind}` | {_cell(params)} |" for kind, params in ACTION_PARAMS],
        "",
    ]
    for spec in RULE_SPECS.values():
        card = catalog.cards[spec.rule_id]
        table = card.decision_table
        out += [
            f"## {spec.rule_id}: {card.title}",
            "",
            f"**Trigger.** {table.trigger}",
            "",
            f"**Default indicator.** {spec.default_indicator}. **Evidence.** {', '.join(spec.evidence)}.",
            f"**Actions it may emit.** {', '.join(sorted(str(k) for k in spec.action_kinds)) or 'none'}.",
            f"**Data domains.** {', '.join(spec.domains) or 'none'}.",
            "",
            "| variant | indicator | summary template | extra keys |",
            "|---|---|---|---|",
        ]
        for name, variant in spec.variants.items():
            extra = ", ".join(f"`{k}`" for k in variant.extra_keys) or "-"
            out.append(f"| `{name}` | {variant.indicator} | {_cell(table.summaries[name])} | {extra} |")
        out += ["", "| value key | type; meaning |", "|---|---|"]
        for key, declared in spec.all_keys().items():
            out.append(f"| `{key}` | {_cell(_key_doc(declared))} |")
        out.append("")
    out += [
        "## Precedence (§4) as implemented",
        "",
        "| if this fires | these do not | condition |",
        "|---|---|---|",
    ]
    for row in CARD_ROWS:
        out.append(f"| {', '.join(sorted(row.winners))} | {', '.join(sorted(row.losers))} | {_cell(row.note)} |")
    for state_row in STATE_ROWS:
        out.append(f"| state: {state_row.state} | {', '.join(sorted(state_row.losers))} | {_cell(state_row.note)} |")
    out += ["", "## Thresholds", "", "| name | value | sources |", "|---|---|---|"]
    for name, value, sources in threshold_table():
        out.append(f"| `{name}` | {value} | {', '.join(sources)} |")
    out += [
        "",
        "## Deviations from the decision table",
        "",
        "Each entry is a place where the table is contradictory, silent or unimplementable, and the closest safe",
        "reading the core implements.",
        "",
    ]
    for key, topic, table_says, done, why in DEVIATIONS:
        out += [f"### {key}: {topic}", "", f"- Table: {table_says}", f"- Implemented: {done}", f"- Why: {why}", ""]
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render())
