"""Same-day duplicates: identical values merge silently; values that differ by more
than 10 % after normalisation are a conflict: a DataIssue is reported and none of them is used."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from decimal import Decimal
from typing import TypeVar

from decision_core.facts import DataDomain, DataIssue, IssueKind, IssueTopic

T = TypeVar("T")
CONFLICT_FRACTION = Decimal("0.10")


def differs(a: Decimal, b: Decimal) -> bool:
    """More than 10 % apart, relative to the larger magnitude."""
    if a == b:
        return False
    scale = max(abs(a), abs(b))
    return abs(a - b) > CONFLICT_FRACTION * scale


def resolve_same_day(
    items: Iterable[T],
    key: Callable[[T], Hashable],
    value: Callable[[T], Decimal | None],
    is_preliminary: Callable[[T], bool],
    record: Callable[[T], str],
    describe: Callable[[T], str],
    domain: DataDomain,
    topic: Callable[[T], IssueTopic | None],
) -> tuple[list[T], list[DataIssue]]:
    groups: dict[Hashable, list[T]] = {}
    for it in items:
        groups.setdefault(key(it), []).append(it)
    kept: list[T] = []
    issues: list[DataIssue] = []
    for group in groups.values():
        # Identical values: keep one, preferring a final result over a preliminary one.
        distinct: dict[Decimal | None, T] = {}
        for it in sorted(group, key=lambda x: (is_preliminary(x), record(x))):
            distinct.setdefault(value(it), it)
        values = [v for v in distinct if v is not None]
        conflict = any(differs(a, b) for i, a in enumerate(values) for b in values[i + 1 :])
        if conflict:
            first = min(group, key=record)
            shown = ", ".join(f"{value(it)} ({record(it)})" for it in sorted(distinct.values(), key=record))
            issues.append(
                DataIssue(
                    describe(first),
                    f"conflicting same-day results differ by more than 10%: {shown}",
                    record(first),
                    kind=IssueKind.SAME_DAY_CONFLICT,
                    domain=domain,
                    topic=topic(first),
                )
            )
            continue
        kept.extend(distinct.values())
    return kept, issues
