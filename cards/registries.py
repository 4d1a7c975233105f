"""The shared registries the rule files refer to by key: evidence (cards/evidence.yaml: citations, links, the seed
articles) and override reasons (cards/override_reasons.yaml)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

MAX_CITATIONS = 3


@dataclass(frozen=True)
class Evidence:
    key: str
    cite: str
    year: int
    short: str
    url: str | None = None
    seed: bool = False


def read_packaged_yaml(name: str) -> Any:
    """A YAML data file shipped in the `cards` package."""
    return yaml.safe_load(resources.files("cards").joinpath(name).read_text("utf-8"))


@cache
def evidence_registry() -> Mapping[str, Evidence]:
    return {
        key: Evidence(key, item["cite"], int(item["year"]), item["short"], item.get("url"), key.startswith("S0"))
        for key, item in read_packaged_yaml("evidence.yaml").items()
    }


@cache
def override_reason_registry() -> Mapping[str, Mapping[str, str]]:
    data = read_packaged_yaml("override_reasons.yaml")
    return {
        code: {"system": data["system"], "code": code, "display": display} for code, display in data["reasons"].items()
    }


def citation_line(keys: Sequence[str]) -> str:
    """The live card's key evidence: at most three citations, by name and year, plain text (the first one is the
    card's first link; the catalog page lists every citation and what the seed articles state)."""
    registry = evidence_registry()
    names = [registry[key].short for key in dict.fromkeys(keys)][:MAX_CITATIONS]
    return "Evidence: " + "; ".join(names) + "." if names else ""
