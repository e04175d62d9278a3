"""Working days: the legal clock counts them, not calendar days.

The domain needs only this protocol; the Vietnamese calendar (public holidays, Tết, observed
and make-up days, the government's announced swaps) is built in ``infrastructure.calendar``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol


class WorkCalendar(Protocol):
    def is_working_day(self, day: date) -> bool:
        """True if public offices work on this day."""
        ...

    def add_working_days(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
        ...

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in the half-open span (start, end]; 0 if end is not after start."""
        ...


class WeekdayCalendar:
    """Monday to Friday, no holidays: a plain calendar for tests and examples."""

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        day = start
        remaining = days
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count
