"""Time intervals in UTC: the common currency of calendars, availability and bookings.

Why one tiny type: busy times come from CalDAV, ICS feeds and our own bookings, and free
slots are computed from all of them. Keeping every instant timezone-aware and in UTC at this
boundary means local wall-clock time only ever appears when a person reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is refused (it would silently mean server time)."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("naive datetime: give a time zone")
    return value.astimezone(UTC)


def stored_utc(value: datetime) -> datetime:
    """A datetime read back from the database as aware UTC: SQLite returns naive values for
    timezone columns, which Parley always writes in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Interval:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start))
        object.__setattr__(self, "end", as_utc(self.end))
        if self.end <= self.start:
            raise ValueError("an interval must end after it starts")

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


def merge(intervals: list[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined."""
    out: list[Interval] = []
    for iv in sorted(intervals):
        if out and iv.start <= out[-1].end:
            if iv.end > out[-1].end:
                out[-1] = Interval(out[-1].start, iv.end)
        else:
            out.append(iv)
    return out
