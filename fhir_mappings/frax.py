"""FRAX results read from the chart (the service never computes FRAX, decision table §8)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from decision_core.facts import DataDomain, DataIssue, FraxResult, FraxValue, IssueKind
from fhir_mappings.observations import Qty
from fhir_mappings.quality import differs
from fhir_mappings.terminology import CodeEntry
from fhir_mappings.unit_conversion import parse_unit


@dataclass(frozen=True, slots=True)
class FraxPart:
    """One FRAX number or input, before parts of the same day are combined."""

    kind: str  # "mof" | "hip" | "input-glucocorticoids" | "input-bmd-used"
    effective: date
    record: str
    value: Decimal | None = None
    flag: bool | None = None
    preliminary: bool = False


def probability(
    entry: CodeEntry, value: Qty | None, *, effective: date, record: str, preliminary: bool = False
) -> FraxPart | DataIssue:
    kind = entry.concept.get("kind")
    item = f"FRAX {'MOF' if kind == 'mof' else 'hip'} {effective.isoformat()}"

    def issue(reason: str, problem: IssueKind) -> DataIssue:
        return DataIssue(item, reason, record, kind=problem, domain=DataDomain.FRAX, topic=FraxValue(kind))

    if value is None or value.value is None:
        return issue("no numeric value", IssueKind.NO_VALUE)
    unit_text = value.code or value.unit
    if unit_text is None or not unit_text.strip():
        return issue("unit missing (expected %)", IssueKind.UNIT_MISSING)
    unit = parse_unit(value.code) or parse_unit(value.unit)
    if unit is None or unit.dimension != "percent":
        return issue(f"unit '{unit_text}' not recognised (expected %)", IssueKind.UNIT_NOT_RECOGNISED)
    if not Decimal(0) <= value.value <= Decimal(100):
        return issue(f"probability {value.value}% outside 0..100", IssueKind.IMPLAUSIBLE)
    return FraxPart(kind=kind, effective=effective, record=record, value=value.value, preliminary=preliminary)


_YES = re.compile(r"^\s*(y|yes|true|1|positive)\s*$", re.I)
_NO = re.compile(r"^\s*(n|no|false|0|negative|none)\s*$", re.I)


def yes_no(value_bool: bool | None, value_texts: Sequence[str], value_codes: Sequence[str]) -> bool | None:
    if value_bool is not None:
        return value_bool
    for t in (*value_codes, *value_texts):
        if _YES.match(t):
            return True
        if _NO.match(t):
            return False
    return None


def bmd_used_from_method(texts: Iterable[str]) -> bool | None:
    """terminology.md B: whether BMD was used is recorded in Observation.method or a note, if at all."""
    for t in texts:
        low = t.lower()
        if re.search(r"\b(without|no)\s+(bmd|bone mineral density)\b", low):
            return False
        if "bmd" in low or "bone mineral density" in low:
            return True
    return None


def combine(parts: Iterable[FraxPart]) -> tuple[tuple[FraxResult, ...], list[DataIssue]]:
    """One FraxResult per day, newest first. Same-day values more than 10 % apart conflict (DATA-03): that
    probability is reported and left out; closer values are the same result and the first record's is kept."""
    by_day: dict[date, list[FraxPart]] = {}
    for p in parts:
        by_day.setdefault(p.effective, []).append(p)
    results: list[FraxResult] = []
    issues: list[DataIssue] = []
    for day in sorted(by_day, reverse=True):
        ps = sorted(by_day[day], key=lambda p: p.record)
        values: dict[str, Decimal | None] = {}
        for kind in ("mof", "hip"):
            got = [p for p in ps if p.kind == kind and p.value is not None]
            if not got:
                values[kind] = None
                continue
            nums = [p.value for p in got if p.value is not None]
            if any(differs(a, b) for i, a in enumerate(nums) for b in nums[i + 1 :]):
                shown = ", ".join(f"{p.value}% ({p.record})" for p in got)
                issues.append(
                    DataIssue(
                        f"FRAX {'MOF' if kind == 'mof' else 'hip'} {day.isoformat()}",
                        f"conflicting same-day results differ by more than 10%: {shown}",
                        got[0].record,
                        kind=IssueKind.SAME_DAY_CONFLICT,
                        domain=DataDomain.FRAX,
                        topic=FraxValue(kind),
                    )
                )
                values[kind] = None
            else:
                values[kind] = got[0].value
        if values["mof"] is None and values["hip"] is None:
            continue
        gc = next((p.flag for p in ps if p.kind == "input-glucocorticoids" and p.flag is not None), None)
        bmd = next((p.flag for p in ps if p.kind == "input-bmd-used" and p.flag is not None), None)
        records = tuple(dict.fromkeys(p.record for p in ps))
        results.append(
            FraxResult(
                effective=day,
                records=records,
                mof_percent=values["mof"],
                hip_percent=values["hip"],
                glucocorticoid_input=gc,
                bmd_used=bmd,
                preliminary=any(p.preliminary for p in ps if p.kind in ("mof", "hip") and p.value is not None),
            )
        )
    return tuple(results), issues
