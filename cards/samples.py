"""Sample recommendations for the card catalog: cards/samples.yaml turned into the decision core's shapes.

YAML gives floats, lists and dicts; the core gives Decimals, tuples and dates. Values are converted with the types
the core declares (decision_core.specs), so a sample card renders exactly as a real one would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from cards.sample_values import from_yaml
from decision_core.recommendation import ActionKind, Recommendation, SuggestedAction
from decision_core.specs import RULE_SPECS


@dataclass(frozen=True)
class Sample:
    rule_id: str
    variant: str
    patient: str  # who the sample patient is, in a few words
    recommendation: Recommendation


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
            keys = spec.keys_of(variant)
            values = {name: from_yaml(value, keys[name].type) if name in keys else value for name, value in raw.items()}
            recommendation = Recommendation(
                rule_id, spec.variants[variant].indicator, variant, values, actions, spec.evidence
            )
            samples.append(Sample(rule_id, variant, patient, recommendation))
    return tuple(samples)
