"""Calendar arithmetic (§0) and the single threshold table."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from decision_core.dates import add_months, as_date, months_between, within_days_before, within_months_before
from decision_core.rule_spec import EVIDENCE_KEYS
from decision_core.thresholds import THRESHOLDS, Thresholds, threshold_table


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2025, 7, 1), date(2026, 3, 1), 8),  # the table's example
        (date(2025, 7, 1), date(2026, 2, 28), 7),
        (date(2025, 1, 31), date(2025, 2, 28), 1),  # end-of-month clamping counts as a full month
        (date(2024, 1, 31), date(2024, 2, 29), 1),
        (date(2024, 2, 29), date(2025, 2, 28), 12),
        (date(2025, 3, 15), date(2025, 3, 14), 0),
        (date(2025, 3, 15), date(2025, 3, 15), 0),
        (date(2020, 6, 10), date(2026, 6, 9), 71),
        (date(2020, 6, 10), date(2026, 6, 10), 72),
    ],
)
def test_months_between_rounds_down(start: date, end: date, months: int) -> None:
    assert months_between(start, end) == months


def test_months_between_is_negative_backwards() -> None:
    assert months_between(date(2026, 3, 1), date(2025, 7, 1)) == -8


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2025, 12, 15), 2, date(2026, 2, 15)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 3, 1), -12, date(2025, 3, 1)),
    ],
)
def test_add_months_clamps_to_month_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_windows() -> None:
    today = date(2026, 3, 1)
    assert within_months_before(date(2025, 3, 1), today, 12)  # exactly 12 months: inside
    assert not within_months_before(date(2025, 2, 28), today, 12)
    assert not within_months_before(date(2026, 3, 2), today, 12)  # future
    assert within_days_before(date(2026, 1, 30), today, 30)
    assert not within_days_before(date(2026, 1, 29), today, 30)


def test_evaluation_time_may_be_datetime() -> None:
    assert as_date(datetime(2026, 3, 1, 23, 59, tzinfo=UTC)) == date(2026, 3, 1)


def test_every_threshold_has_a_known_source() -> None:
    names = {f.name for f in fields(Thresholds)} - {"sources"}
    assert set(THRESHOLDS.sources) == names
    for name, _value, sources in threshold_table():
        assert sources, name
        assert set(sources) <= EVIDENCE_KEYS, (name, sources)


def test_score_thresholds_are_decimals() -> None:
    for name, value, _ in threshold_table():
        assert not isinstance(value, float), name
    assert THRESHOLDS.t_osteoporosis_max == Decimal("-2.5")


def test_thresholds_are_frozen() -> None:
    with pytest.raises(AttributeError):
        THRESHOLDS.t_osteoporosis_max = Decimal("-2.0")  # type: ignore[misc]
