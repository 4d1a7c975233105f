"""Card rules, one function per rule id, in decision-table order. Each returns its raw trigger result;
inter-rule suppression (§4) is applied afterwards in `decision_core.precedence`."""

from __future__ import annotations

from types import MappingProxyType

from .common import Rule
from .diagnosis import dx01, dx02

RULES: MappingProxyType[str, Rule] = MappingProxyType(
    {
        "DX-01": dx01,
        "DX-02": dx02,
    }
)

# Rules that still run when the birth date is missing (no population path can be set).
AGE_INDEPENDENT_RULES: MappingProxyType[str, Rule] = MappingProxyType(
    {
        rid: rule
        for rid, rule in RULES.items()
        if rid in {"SAFE-01", "SAFE-02", "SAFE-03", "MON-02", "MON-03", "DATA-03"}
    }
)
