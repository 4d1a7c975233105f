"""Calendar arithmetic as decision table §0 defines it: whole calendar months, rounded down."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime


def as_date(moment: date | datetime) -> date:
    """The calendar day of the evaluation time in UTC (§0 rev 2: every window is counted on the date of NOW in UTC);
    a naive datetime is read as UTC. The clock of the caller, never of this process."""
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).date() if moment.tzinfo is not None else moment.date()
    return moment


def add_months(day: date, months: int) -> date:
    """`day` plus `months` calendar months, clamped to the end of the month (Jan 31 + 1 month = Feb 28/29).

    A result past the calendar's ends (a record dated 9999-12-31 plus a 24-month window) is date.max or date.min:
    it still compares correctly with any real day, where date() would raise."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if year > date.max.year:
        return date.max
    if year < date.min.year:
        return date.min
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def months_between(start: date, end: date) -> int:
    """Whole calendar months from `start` to `end`, rounded down (2025-07-01 -> 2026-03-01 = 8).

    Negative when `end` precedes `start` (rounded towards zero the same way, by symmetry).
    """
    if end < start:
        return -months_between(end, start)
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if add_months(start, months) > end:
        months -= 1
    return months


def within_months_before(day: date, today: date, months: int) -> bool:
    """True when `day` is not in the future and `today` is at most `months` calendar months after it."""
    return day <= today <= add_months(day, months)


def within_days_before(day: date, today: date, days: int) -> bool:
    return day <= today and (today - day).days <= days
