"""What a site's CDS committee changed about the rule set: rules turned off, indicators lowered.

Read from OSTEO_CDS_RULES_OFF (`UNIV-01,LAB-01`) and OSTEO_CDS_RULE_INDICATORS (`DATA-02:info,TX-03:info`), checked
when the settings are read (an unknown rule id, an indicator above what the rule can send, or bad syntax is a
ConfigError: exit 2 at start-up, naming the problem). The drug-safety rules SAFE-01/02/03 can be changed only with
OSTEO_CDS_ALLOW_SAFETY_RULE_CHANGES=true as well. Applied to every service's recommendations before they are worded;
the catalog page lists each change as "configured here".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from decision_core.recommendation import Indicator, Recommendation
from decision_core.rule_spec import RuleSpec

SAFETY_RULES = frozenset({"SAFE-01", "SAFE-02", "SAFE-03"})
_LEVEL = {Indicator.INFO: 0, Indicator.WARNING: 1, Indicator.CRITICAL: 2}
_ENTRY = re.compile(r"^\s*([A-Za-z]+-\d{2})\s*:\s*([A-Za-z]+)\s*$")


class SiteRuleError(ValueError):
    """A site rule setting the service cannot run with (the config layer turns it into a ConfigError)."""


@dataclass(frozen=True)
class SiteRules:
    off: frozenset[str] = frozenset()
    # rule id -> the highest indicator its cards are sent with here
    indicators: Mapping[str, Indicator] = field(default_factory=lambda: MappingProxyType({}))

    def apply(self, recommendations: Iterable[Recommendation]) -> list[Recommendation]:
        kept = []
        for rec in recommendations:
            if rec.rule_id in self.off:
                continue
            cap = self.indicators.get(rec.rule_id)
            if cap is not None and _LEVEL[rec.indicator] > _LEVEL[cap]:
                rec = replace(rec, indicator=cap)
            kept.append(rec)
        return kept

    def changes(self) -> dict[str, str]:
        """rule id -> what this site configured, in words for the catalog page."""
        words = {rule: "turned off here (OSTEO_CDS_RULES_OFF)" for rule in sorted(self.off)}
        for rule, cap in sorted(self.indicators.items()):
            words[rule] = f"sent at most as {cap.value} here (OSTEO_CDS_RULE_INDICATORS)"
        return words

    def __bool__(self) -> bool:
        return bool(self.off or self.indicators)


def _rule_id(raw: str, setting: str, specs: Mapping[str, RuleSpec]) -> str:
    rule = raw.strip().upper()
    if rule not in specs:
        raise SiteRuleError(
            f"{setting} names {raw.strip()!r}, which is not a rule of this service (known: {', '.join(specs)})"
        )
    return rule


def parse_site_rules(
    off_raw: str | None,
    indicators_raw: str | None,
    allow_safety_changes: bool,
    specs: Mapping[str, RuleSpec],
) -> SiteRules:
    off: set[str] = set()
    for item in (off_raw or "").split(","):
        if item.strip():
            off.add(_rule_id(item, "OSTEO_CDS_RULES_OFF", specs))
    indicators: dict[str, Indicator] = {}
    for item in (indicators_raw or "").split(","):
        if not item.strip():
            continue
        match = _ENTRY.match(item)
        if match is None:
            raise SiteRuleError(
                f"OSTEO_CDS_RULE_INDICATORS entry {item.strip()!r} is not RULE-ID:indicator (e.g. DATA-02:info)"
            )
        rule = _rule_id(match.group(1), "OSTEO_CDS_RULE_INDICATORS", specs)
        try:
            cap = Indicator(match.group(2).lower())
        except ValueError:
            raise SiteRuleError(
                f"OSTEO_CDS_RULE_INDICATORS: {match.group(2)!r} for {rule} is not info, warning or critical"
            ) from None
        highest = max((v.indicator for v in specs[rule].variants.values()), key=_LEVEL.__getitem__)
        if _LEVEL[cap] > _LEVEL[highest]:
            raise SiteRuleError(
                f"OSTEO_CDS_RULE_INDICATORS: {rule} is at most {highest.value}; an indicator can only be lowered, "
                f"not raised to {cap.value}"
            )
        if rule in indicators:
            raise SiteRuleError(f"OSTEO_CDS_RULE_INDICATORS names {rule} twice")
        indicators[rule] = cap
    both = off & set(indicators)
    if both:
        raise SiteRuleError(f"{', '.join(sorted(both))} is both turned off and given an indicator; choose one")
    safety = sorted((off | set(indicators)) & SAFETY_RULES)
    if safety and not allow_safety_changes:
        raise SiteRuleError(
            f"{', '.join(safety)} {'is a drug-safety rule' if len(safety) == 1 else 'are drug-safety rules'}: "
            "turning it off or lowering its indicator also needs OSTEO_CDS_ALLOW_SAFETY_RULE_CHANGES=true"
        )
    return SiteRules(frozenset(off), MappingProxyType(indicators))
