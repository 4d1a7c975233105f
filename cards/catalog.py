"""Load the card catalog (cards/rules/*.yaml) and fill a rule's templates with a recommendation's values.

One YAML file per rule id holds everything a clinician reads: the summary template of every variant the decision
core can emit, the detail (GitHub-flavoured Markdown: why, what to do), links, override reasons and what each seed
article states. Loading is strict: every file is checked against a schema, against the decision core's contract
(decision_core.specs.RULE_SPECS: variants, value keys, evidence) and by rendering every template with spec-shaped
sample values, so a template naming a value the core does not provide fails at start-up and in tests, never as a
blank in front of a clinician.

Values are formatted for clinicians: dates ISO 8601, decimals as written, negative numbers with an ASCII
hyphen-minus. Text from the chart is neutralised in the detail so it cannot inject markdown or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template, TemplateError, meta
from jsonschema import Draft202012Validator

from cards.sample_values import sample_of, sample_values
from decision_core.recommendation import Indicator, Recommendation
from decision_core.rule_spec import RuleSpec
from decision_core.specs import RULE_SPECS
from decision_core.value_types import reason_codes, reason_record, record_fields

SUMMARY_LIMIT = 140  # CDS Hooks: "<140 char"; every summary is at most 139 characters
DETAIL_LIMIT = 1200  # decision table §3 (rev 2) "Card length": read in seconds during a visit
MAX_CITATIONS = 3
OVERRIDE_REASON_SYSTEM = "urn:osteo-cds:override-reason"
_ELLIPSIS = "..."


class CatalogError(ValueError):
    """The card catalog does not match its schema or the decision core's contract. Lists every problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("card catalog is invalid:\n  " + "\n  ".join(self.problems))


# --- value formatting ----------------------------------------------------------------------------------------------

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~#])")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # only these can open raw HTML (or an autolink) in GFM
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_WHITESPACE = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")  # templates with conditional lines leave runs of blank lines
_DOMAIN_NAMES = {
    "labs": "lab results",
    "medications": "medications",
    "conditions": "conditions and fractures",
    "frax": "FRAX results",
    "dxa": "DXA results",
    "procedures": "planned procedures",
}


def display_decimal(value: Decimal, *, trim: bool = False) -> str:
    """The one number formatter of the cards: at most one decimal, cut toward zero, as clinicians write results.
    Converted and computed values (30 nmol/L / 2.496 = 12.0192 ng/mL; corrected calcium 9.40) read 12.0 and 9.4; a
    value recorded with one decimal or none keeps it ("-1.0" stays "-1.0", "58" stays "58"). Cutting (not rounding)
    keeps every comparison with a threshold of one decimal: 19.99 ng/mL shows as 19.9, never as a misleading 20.0 on a
    "below 20" card, and -2.51 still shows at or below -2.5.

    `trim` drops trailing zeros ("20.0" -> "20", "4.5" stays): for thresholds, written as the decision table writes
    them (FRAX hip 3%, MOF 20%). Chart values are never trimmed, so summary and detail show the same decimals."""
    exponent = value.as_tuple().exponent
    if not value.is_finite() or not isinstance(exponent, int) or exponent >= -1:
        text = format(value, "f")  # as recorded
    else:
        text = _unsigned_zero(format(value.quantize(Decimal("0.1"), rounding=ROUND_DOWN), "f"))
    if trim and "." in text:
        text = _unsigned_zero(text.rstrip("0").rstrip("."))
    return text


def _unsigned_zero(text: str) -> str:
    return text[1:] if text.startswith("-") and set(text[1:]) <= {"0", "."} else text


def _scalar(value: Any) -> str:
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return display_decimal(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return _WHITESPACE.sub(" ", str(value).replace("\u2212", "-"))  # one line: chart text may hold newlines


def plain_value(value: Any) -> str:
    """A value as summary text (plain text, no markup)."""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(plain_value(v) for v in value)
    return _scalar(value)


def markdown_value(value: Any) -> str:
    """A value as GFM text: markdown punctuation escaped, and no '<' that could open a tag (chart text is untrusted)."""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(markdown_value(v) for v in value)
    if isinstance(value, bool | int | Decimal | date) or value is None:
        return _scalar(value)
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", _scalar(value))
    text = _ENTITY.sub("&amp;", text)
    text = _TAG_START.sub("&lt;", text)
    return "\\" + text if text.startswith(">") else text  # '>' opening a line would start a block quote


format_value = markdown_value  # the detail's formatter, kept under its earlier name


def _domains(names: Iterable[str]) -> str:
    return ", ".join(_DOMAIN_NAMES.get(n, n) for n in names)


def _environment(finalize: Any) -> Environment:
    env = Environment(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=finalize,
    )
    env.filters["domains"] = _domains
    env.filters["trimmed"] = lambda value: display_decimal(value, trim=True)
    return env


SUMMARY_ENV = _environment(plain_value)
DETAIL_ENV = _environment(markdown_value)


def fit_summary(candidates: Sequence[str], limit: int = SUMMARY_LIMIT) -> str:
    """The first candidate shorter than `limit`; else the last one cut at a word boundary, marked with '...'."""
    for text in candidates:
        if len(text) < limit:
            return text
    text = candidates[-1]
    room = limit - 1 - len(_ELLIPSIS)
    cut = text[: room + 1].rsplit(" ", 1)[0] if " " in text[: room + 1] else text[:room]
    return cut[:room].rstrip(" ,;:-(") + _ELLIPSIS


# --- data classes --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    key: str
    cite: str
    year: int
    short: str
    url: str | None = None
    seed: bool = False


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


TEMPLATE_GLOBALS = frozenset(
    {"reason", "see", "card_names"}
)  # names the rule templates may use besides value keys and `variant`


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
    rationale: str = ""  # the full reasoning, shown in the catalog at the rule's anchor (Markdown)
    source: Mapping[str, Any] = field(default_factory=dict)  # the YAML as loaded, for the catalog page


# --- registries (evidence, override reasons) -----------------------------------------------------------------------


def _read(name: str) -> Any:
    return yaml.safe_load(resources.files("cards").joinpath(name).read_text("utf-8"))


@cache
def evidence_registry() -> Mapping[str, Evidence]:
    return {
        key: Evidence(key, item["cite"], int(item["year"]), item["short"], item.get("url"), key.startswith("S0"))
        for key, item in _read("evidence.yaml").items()
    }


@cache
def override_reason_registry() -> Mapping[str, Mapping[str, str]]:
    data = _read("override_reasons.yaml")
    return {
        code: {"system": data["system"], "code": code, "display": display} for code, display in data["reasons"].items()
    }


def citation_line(keys: Sequence[str]) -> str:
    """The live card's key evidence: at most three citations, by name and year, plain text (the first one is the
    card's first link; the catalog page lists every citation and what the seed articles state)."""
    registry = evidence_registry()
    names = [registry[key].short for key in dict.fromkeys(keys)][:MAX_CITATIONS]
    return "Evidence: " + "; ".join(names) + "." if names else ""


def see_card(subjects: Mapping[str, str], in_response: frozenset[str]) -> Any:
    """The template global `see(rule_id, ...)`: " (see the <subject> card)" for the first of these rules whose card is
    in the same response, else nothing: a card never points at a card the clinician cannot see."""

    def see(*rule_ids: str) -> str:
        for rule_id in rule_ids:
            if rule_id in in_response and rule_id in subjects:
                return f" (see the {subjects[rule_id]} card)"
        return ""

    return see


def card_names(subjects: Mapping[str, str]) -> Any:
    """The template global `card_names(rule_ids)`: "the treatment and calcium check cards" (rule ids are not clinician
    language)."""

    def names(rule_ids: Iterable[str]) -> str:
        words = list(dict.fromkeys(subjects.get(r, "other") for r in rule_ids))
        if not words:
            return ""
        joined = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        return f"the {joined} card" + ("s" if len(words) > 1 else "")

    return names


# --- the catalog ---------------------------------------------------------------------------------------------------


class Catalog:
    def __init__(self, cards: Mapping[str, RuleCard], specs: Mapping[str, RuleSpec] = RULE_SPECS) -> None:
        self.cards = dict(cards)
        self.specs = specs

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

    def subjects(self) -> dict[str, str]:
        return {rule_id: card.subject for rule_id, card in self.cards.items()}

    def text(self, recommendation: Recommendation, in_response: Iterable[str] = ()) -> CardText:
        """The card's words. `in_response`: the rule ids of the other cards sent with it (cross references)."""
        card = self.cards[recommendation.rule_id]
        values = dict(recommendation.values)
        variant = recommendation.variant
        subjects = self.subjects()
        helpers = {
            "see": see_card(subjects, frozenset(in_response) - {recommendation.rule_id}),
            "card_names": card_names(subjects),
        }
        candidates = [" ".join(card.summaries[variant].render(values, **helpers).split())]
        if variant in card.short_summaries:
            candidates.append(" ".join(card.short_summaries[variant].render(values, **helpers).split()))
        summary = fit_summary(candidates)
        body = _BLANK_LINES.sub("\n\n", card.detail.render(values, variant=variant, **helpers)).strip()
        detail = "\n\n".join(part for part in (body, _by_name_note(values), citation_line(card.citations)) if part)
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


@cache
def rule_file_schema() -> dict[str, Any]:
    schema: dict[str, Any] = _read("rule.schema.yaml")
    Draft202012Validator.check_schema(schema)
    return schema


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


def load_catalog_from(
    texts: Sequence[str], specs: Mapping[str, RuleSpec] = RULE_SPECS, names: Sequence[str] | None = None
) -> Catalog:
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
    return Catalog(cards, specs)


def rule_files() -> list[tuple[str, str]]:
    folder = resources.files("cards").joinpath("rules")
    return [
        (f.name, f.read_text("utf-8"))
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".yaml")
    ]


@cache
def default_catalog() -> Catalog:
    files = rule_files()
    return load_catalog_from([text for _, text in files], names=[name for name, _ in files])
