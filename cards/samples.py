"""Sample recommendations for the card catalog: cards/samples.yaml turned into the decision core's shapes.

YAML gives floats, lists and dicts; the core gives Decimals, tuples and dates. Values are converted with the types
the core declares (decision_core.specs), so a sample card renders exactly as a real one would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml

from cards.spec_values import KeyType, ValueType, variant_keys
from decision_core.model import ActionKind, Recommendation, SuggestedAction
from decision_core.specs import RULE_SPECS


@dataclass(frozen=True)
class Sample:
    rule_id: str
    variant: str
    patient: str  # who the sample patient is, in a few words
    recommendation: Recommendation


def _convert(value: Any, value_type: ValueType) -> Any:
    if value is None:
        return None
    kind = value_type.kind
    if kind == "Decimal":
        return Decimal(str(value))
    if kind == "int" and not isinstance(value, bool):
        return int(value)
    if kind == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    if kind == "tuple":
        assert value_type.item is not None
        return tuple(_convert(v, value_type.item) for v in value)
    if kind == "record":
        fields = dict(value_type.fields)
        return {k: _convert(v, fields[k]) if k in fields else v for k, v in value.items()}
    return value


def _convert_key(value: Any, key: KeyType) -> Any:
    if value is None:
        return None
    return _convert(value, key.main)


def _params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


@cache
def load_samples() -> tuple[Sample, ...]:
    data = yaml.safe_load(resources.files("cards").joinpath("samples.yaml").read_text("utf-8"))
    samples = []
    for rule_id, entry in data.items():
        spec = RULE_SPECS[rule_id]
        for variant, overrides in entry["variants"].items():
            variant = str(variant)
            raw = {**entry.get("base", {}), **(overrides or {})}
            patient = raw.pop("patient", entry["patient"])
            actions = tuple(
                SuggestedAction(ActionKind(a["kind"]), _params(a.get("params", {}))) for a in raw.pop("actions", ())
            )
            keys = variant_keys(spec, variant)
            values = {name: _convert_key(value, keys[name]) if name in keys else value for name, value in raw.items()}
            recommendation = Recommendation(
                rule_id, spec.variants[variant].indicator, variant, values, actions, spec.evidence
            )
            samples.append(Sample(rule_id, variant, patient, recommendation))
    return tuple(samples)
