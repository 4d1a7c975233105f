"""Card rules, one function per rule id, in decision-table order.

Each returns its raw trigger result (its own conditions only); inter-rule suppression (§4) is applied
afterwards, in one place, by `decision_core.precedence`.
"""

from __future__ import annotations

from types import MappingProxyType

from .common import Rule
from .data_quality import data01, data02, data03
from .diagnosis import dx01, dx02
from .glucocorticoid import gc01
from .laboratory import lab01, vitd01
from .monitoring import mon01, mon02, mon03, mon04
from .risk import risk01
from .safety import safe01, safe02, safe03
from .treatment import tx01, tx02, tx03, tx04
from .universal import univ01

RULES: MappingProxyType[str, Rule] = MappingProxyType(
    {
        "DX-01": dx01,
        "DX-02": dx02,
        "RISK-01": risk01,
        "TX-01": tx01,
        "TX-02": tx02,
        "TX-03": tx03,
        "TX-04": tx04,
        "GC-01": gc01,
        "SAFE-01": safe01,
        "SAFE-02": safe02,
        "SAFE-03": safe03,
        "VITD-01": vitd01,
        "LAB-01": lab01,
        "UNIV-01": univ01,
        "MON-01": mon01,
        "MON-02": mon02,
        "MON-03": mon03,
        "MON-04": mon04,
        "DATA-01": data01,
        "DATA-02": data02,
        "DATA-03": data03,
    }
)

# Rules that still run when the birth date is missing (no population path can be set): drug safety and data.
AGE_INDEPENDENT_RULES: MappingProxyType[str, Rule] = MappingProxyType(
    {
        rule_id: rule
        for rule_id, rule in RULES.items()
        if rule_id in {"SAFE-01", "SAFE-02", "SAFE-03", "MON-02", "MON-03", "DATA-03"}
    }
)
