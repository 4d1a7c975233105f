"""Check that recommendations match their RuleSpec: variant, indicator, keys, declared value types, actions and
evidence (used by the tests; cheap enough for a service self-test)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .recommendation import Recommendation
from .rule_spec import EVIDENCE_KEYS
from .specs import RULE_SPECS
from .value_types import conforms

_SCALARS = (str, int, bool, Decimal, type(None))


def _plain(value: Any, path: str) -> list[str]:
    if type(value) in _SCALARS or (type(value) is date and not isinstance(value, datetime)):
        return []
    if isinstance(value, tuple | list):
        return [p for i, item in enumerate(value) for p in _plain(item, f"{path}[{i}]")]
    if type(value) is dict:
        problems = [f"{path}: non-str key {k!r}" for k in value if type(k) is not str]
        return problems + [p for k, v in value.items() for p in _plain(v, f"{path}.{k}")]
    return [f"{path}: {type(value).__name__} is not a plain value type"]


def recommendation_problems(rec: Recommendation) -> list[str]:
    """Every way `rec` departs from its RuleSpec (empty when it conforms)."""
    spec = RULE_SPECS.get(rec.rule_id)
    if spec is None:
        return [f"unknown rule id {rec.rule_id}"]
    problems: list[str] = []
    variant = spec.variants.get(rec.variant)
    if variant is None:
        return [f"{rec.rule_id}: unknown variant {rec.variant!r}"]
    if rec.indicator != variant.indicator:
        problems.append(f"{rec.rule_id}/{rec.variant}: indicator {rec.indicator} != {variant.indicator}")
    required = spec.required_keys(rec.variant)
    keys = set(rec.values)
    if keys != required:
        problems.append(
            f"{rec.rule_id}/{rec.variant}: missing {sorted(required - keys)}, unexpected {sorted(keys - required)}"
        )
    problems += [f"{rec.rule_id}: {p}" for p in _plain(dict(rec.values), "values")]
    for name, key in spec.keys_of(rec.variant).items():
        if name in rec.values:
            problems += [f"{rec.rule_id}/{rec.variant}: {p}" for p in conforms(rec.values[name], key.type, name)]
    for action in rec.actions:
        if action.kind not in spec.action_kinds:
            problems.append(f"{rec.rule_id}: action {action.kind} not allowed")
        problems += [f"{rec.rule_id}: {p}" for p in _plain(dict(action.params), f"action {action.kind}")]
    if not rec.evidence or not set(rec.evidence) <= EVIDENCE_KEYS:
        problems.append(f"{rec.rule_id}: evidence {rec.evidence} empty or unknown")
    return problems


def assert_conforms(recs: list[Recommendation]) -> None:
    problems = [p for rec in recs for p in recommendation_problems(rec)]
    ids = [r.rule_id for r in recs]
    if len(ids) != len(set(ids)):
        problems.append(f"duplicate rule ids: {ids}")
    if problems:
        raise AssertionError("\n".join(problems))
