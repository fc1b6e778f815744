"""Partial dates as the registry writes them: ``2025``, ``2025-08`` or ``2025-08-14``."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@functools.total_ordering
@dataclass(frozen=True)
class PartialDate:
    """A calendar date known to the year, the month or the day."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.day is not None and self.month is None:
            raise ValueError("a day needs a month")
        # Let the datetime module judge month and day ranges (leap years included).
        dt.date(self.year, self.month or 1, self.day or 1)

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Parse ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; raise ValueError otherwise."""
        match = _PARTIAL.match(text.strip())
        if not match:
            raise ValueError(f"not a registry date: {text!r}")
        year, month, day = match.groups()
        return cls(int(year), int(month) if month else None, int(day) if day else None)

    @property
    def precision(self) -> str:
        """Say how much is known: ``year``, ``month`` or ``day``."""
        if self.day is not None:
            return "day"
        return "month" if self.month is not None else "year"

    def earliest(self) -> dt.date:
        """Return the first day this date may stand for."""
        return dt.date(self.year, self.month or 1, self.day or 1)

    def isoformat(self) -> str:
        """Write the date back at its own precision."""
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return text

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        # What is less precise sorts first: 2025 < 2025-01 < 2025-01-01.
        return (self.year, self.month or 0, self.day or 0) < (other.year, other.month or 0, other.day or 0)

    def __str__(self) -> str:
        return self.isoformat()


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """Make a stored datetime aware: SQLite hands them back naive, and we write them in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
