"""Which rules a data issue affects: the core's decision, from what is wrong (`kind`) with which data (`domain`,
`topic`). The extraction only reports the problem; the DATA-03 card names the rules listed here.

The per-analyte orders differ between values as read from the chart and values the core interprets: that is how
the cards have always listed them, and card wording changes only on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .facts import Analyte, DataDomain, DataIssue, DrugClass, FraxValue, IssueKind, Vital

AGE_RULES = ("DX-01", "DX-02", "RISK-01", "TX-01", "TX-02", "DATA-01")
DXA_VALUE_RULES = ("DX-01", "DX-02", "TX-01", "TX-02", "RISK-01", "MON-01", "GC-01")
FRAX_PROBABILITY_RULES = ("RISK-01", "TX-01", "TX-02", "TX-03", "GC-01")

# Rules that read each analyte, for a value that could not be read from the chart.
_LAB_READING: Mapping[Analyte, tuple[str, ...]] = MappingProxyType(
    {
        Analyte.VITAMIN_D_25OH: ("VITD-01", "TX-01", "LAB-01"),
        Analyte.CALCIUM: ("SAFE-03", "TX-01", "LAB-01"),
        Analyte.ALBUMIN: ("SAFE-03", "TX-01", "LAB-01"),
        Analyte.EGFR: ("SAFE-02", "SAFE-03", "TX-01", "LAB-01"),
        Analyte.CT_HU: ("TX-04",),
    }
)
# Rules that interpret each analyte's canonical value, for a value the core could not interpret.
_LAB_INTERPRETING: Mapping[Analyte, tuple[str, ...]] = MappingProxyType(
    {
        Analyte.VITAMIN_D_25OH: ("VITD-01", "TX-01", "LAB-01", "TX-04"),
        Analyte.CALCIUM: ("TX-01", "SAFE-03", "LAB-01"),
        Analyte.ALBUMIN: ("TX-01", "SAFE-03", "LAB-01"),
        Analyte.EGFR: ("TX-01", "SAFE-02", "SAFE-03", "LAB-01"),
        Analyte.CT_HU: ("TX-04",),
    }
)
_VITAL_RULES: Mapping[Vital, tuple[str, ...]] = MappingProxyType(
    {
        Vital.WEIGHT: ("RISK-01",),
        Vital.HEIGHT: ("RISK-01",),
        Vital.BMI: ("RISK-01", "DATA-01"),
        Vital.ALCOHOL: ("RISK-01", "DATA-01", "UNIV-01"),
    }
)
_DRUG_RULES: Mapping[DrugClass, tuple[str, ...]] = MappingProxyType(
    {
        DrugClass.GLUCOCORTICOID: ("GC-01",),
        DrugClass.DENOSUMAB: ("SAFE-01", "SAFE-03"),  # no dose date: neither the lapse nor the due date is known
    }
)
# Which rules cannot fully run when a data domain is missing.
DOMAIN_RULES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        DataDomain.LABS: ("TX-01", "SAFE-02", "SAFE-03", "VITD-01", "LAB-01", "TX-04"),
        DataDomain.MEDICATIONS: (
            "TX-01",
            "SAFE-01",
            "SAFE-02",
            "SAFE-03",
            "MON-02",
            "MON-03",
            "MON-04",
            "GC-01",
            "UNIV-01",
        ),
        DataDomain.CONDITIONS: ("DX-01", "TX-01", "TX-02", "RISK-01", "LAB-01", "DATA-01"),
        DataDomain.FRAX: ("RISK-01", "TX-01", "TX-02", "TX-03", "GC-01"),
        DataDomain.DXA: ("DX-01", "DX-02", "TX-01", "RISK-01", "MON-01", "DATA-01", "DATA-02"),
        DataDomain.PROCEDURES: ("TX-04", "DX-01"),
    }
)
_DXA_FOUND_BY_CORE: Mapping[IssueKind, tuple[str, ...]] = MappingProxyType(
    {
        IssueKind.STUDY_NOT_USABLE: ("DX-01", "DX-02", "TX-01", "RISK-01"),
        IssueKind.VALUE_EXCLUDED: ("DX-01", "DX-02"),
        IssueKind.NO_DIAGNOSTIC_T_SCORE: ("DX-01",),
    }
)


def affected_rules(issue: DataIssue) -> tuple[str, ...]:
    """Rule ids that treated the issue's data as missing, in the order the DATA-03 card names them."""
    kind, domain, topic = issue.kind, issue.domain, issue.topic
    if kind in (IssueKind.NOT_RETRIEVED, IssueKind.PARTLY_RETRIEVED):
        return DOMAIN_RULES.get(domain, ()) if domain is not None else ()
    if kind is IssueKind.UNREADABLE:
        return ()
    if domain is DataDomain.PATIENT:
        return AGE_RULES if kind is IssueKind.INCOMPLETE_DATE else ("DX-01", "DX-02")
    if domain is DataDomain.DXA:
        if kind is IssueKind.NO_DATE:
            return ()  # an undated DXA value names no rule (as the cards have always said it)
        return _DXA_FOUND_BY_CORE.get(kind, DXA_VALUE_RULES)
    if domain is DataDomain.LABS and isinstance(topic, Analyte):
        if kind in (IssueKind.NOT_CANONICAL_UNIT, IssueKind.CONFLICTING_VALUES):
            return _LAB_INTERPRETING.get(topic, ())
        return _LAB_READING.get(topic, ("LAB-01",))
    if domain is DataDomain.FRAX:
        return FRAX_PROBABILITY_RULES if topic in (FraxValue.MOF, FraxValue.HIP) else ()
    if domain is DataDomain.VITALS and isinstance(topic, Vital):
        return () if kind is IssueKind.NO_DATE else _VITAL_RULES.get(topic, ())
    if domain is DataDomain.MEDICATIONS and isinstance(topic, DrugClass):
        return _DRUG_RULES.get(topic, ())
    return ()


def issue_value(issue: DataIssue) -> dict[str, object]:
    """One DATA-03 item as the card reads it."""
    return {"item": issue.item, "reason": issue.reason, "record": issue.record, "affects": affected_rules(issue)}
