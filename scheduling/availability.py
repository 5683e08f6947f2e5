"""Free interview slots from working hours, buffers and busy times — in local wall-clock time.

Why the grid is built in the interviewer's own zone: "09:00-17:00" means nine o'clock where
the interviewer lives, on both sides of a daylight-saving change. Each day's windows are
turned into UTC instants with zoneinfo only at the end; wall times that do not exist (the
spring-forward gap) are skipped, and ambiguous ones (fall-back) take their first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from scheduling.intervals import Interval, as_utc, merge

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    **{d: i for i, d in enumerate(DAYS)},
    **{n: i for i, n in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday",
                                   "saturday", "sunday"))},
    "tues": 1, "thur": 3, "thurs": 3,
}  # fmt: skip
_TIME = r"(\d{1,2})(?::(\d{2}))?"
_WINDOW = re.compile(rf"^{_TIME}\s*-\s*{_TIME}$")


def _clock(hours: str, minutes: str | None) -> time:
    h, m = int(hours), int(minutes or 0)
    if h == 24 and m == 0:
        return time(23, 59, 59)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(f"{hours}:{minutes or '00'} is not a time of day")
    return time(h, m)


def _days(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip().lower()
        if "-" in part:
            first, last = (p.strip() for p in part.split("-", 1))
            if first not in _DAY_ALIASES or last not in _DAY_ALIASES:
                raise ValueError(f"unknown day in {part!r} (use mon, tue, … sun)")
            a, b = _DAY_ALIASES[first], _DAY_ALIASES[last]
            span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
            out.extend(span)
        elif part in _DAY_ALIASES:
            out.append(_DAY_ALIASES[part])
        else:
            raise ValueError(f"unknown day {part!r} (use mon, tue, … sun)")
    return out


@dataclass(frozen=True)
class WorkingHours:
    """Windows of local time per weekday (0 = Monday)."""

    days: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """"mon-fri 09:00-17:00; sat 10-12", "mon,wed 10:00-12:00 14:00-18:00"."""
        text = (text or "").strip()
        if not text:
            raise ValueError("no working hours given (e.g. \"mon-fri 09:00-17:00\")")
        if len(text) > 500:
            raise ValueError("working hours are too long")
        days: dict[int, list[tuple[time, time]]] = {}
        for group in re.split(r"[;\n]+", text):
            group = group.strip()
            if not group:
                continue
            parts = group.split()
            if len(parts) < 2:
                raise ValueError(f"{group!r}: give days and times, e.g. \"mon-fri 09:00-17:00\"")
            for day in _days(parts[0]):
                for window in parts[1:]:
                    match = _WINDOW.match(window)
                    if not match:
                        raise ValueError(f"{window!r} is not a time range like 09:00-17:00")
                    start = _clock(match.group(1), match.group(2))
                    end = _clock(match.group(3), match.group(4))
                    if end <= start:
                        raise ValueError(f"{window!r} ends before it starts")
                    days.setdefault(day, []).append((start, end))
        for day, windows in days.items():
            windows.sort()
            for (_, end), (start, _) in pairwise(windows):
                if start < end:
                    raise ValueError(f"overlapping working hours on {DAYS[day]}")
        if not days:
            raise ValueError("no working hours given")
        return cls({d: tuple(w) for d, w in sorted(days.items())})

    def to_json(self) -> dict[str, list[list[str]]]:
        return {
            DAYS[d]: [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in windows]
            for d, windows in self.days.items()
        }

    @classmethod
    def from_json(cls, data: dict[str, list[list[str]]]) -> WorkingHours:
        return cls(
            {
                DAYS.index(day): tuple(
                    (time.fromisoformat(a), time.fromisoformat(b)) for a, b in windows
                )
                for day, windows in sorted(data.items(), key=lambda kv: DAYS.index(kv[0]))
            }
        )

    def __str__(self) -> str:
        return "; ".join(
            f"{DAYS[d]} " + " ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in windows)
            for d, windows in self.days.items()
        )


@dataclass(frozen=True)
class SlotRules:
    timezone: str
    hours: WorkingHours
    slot_minutes: int = 45
    buffer_minutes: int = 15
    min_notice_minutes: int = 720
    horizon_days: int = 14


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall time, None when it does not exist (DST gap)."""
    naive = datetime.combine(day, clock)
    aware = naive.replace(tzinfo=zone, fold=0)
    back = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        return None
    return aware.astimezone(UTC)


def _grid(rules: SlotRules, day: date, zone: ZoneInfo) -> list[datetime]:
    step = timedelta(minutes=rules.slot_minutes + rules.buffer_minutes)
    length = timedelta(minutes=rules.slot_minutes)
    out: list[datetime] = []
    for start, end in rules.hours.days.get(day.weekday(), ()):
        cursor = datetime.combine(day, start)
        stop = datetime.combine(day, end)
        while cursor + length <= stop:
            instant = _local(day, cursor.time(), zone)
            if instant is not None:
                out.append(instant)
            cursor += step
    return out


def free_slots(
    rules: SlotRules,
    busy: Iterable[Interval],
    now: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
) -> list[datetime]:
    """Free slot starts (UTC, ascending) within notice and horizon, outside busy times
    (each slot needs its buffer free on both sides)."""
    zone = ZoneInfo(rules.timezone)
    now = as_utc(now)
    earliest = now + timedelta(minutes=rules.min_notice_minutes)
    latest = now + timedelta(days=rules.horizon_days)
    if start is not None:
        earliest = max(earliest, as_utc(start))
    if end is not None:
        latest = min(latest, as_utc(end))
    blocked = merge(list(busy))
    pad = timedelta(minutes=rules.buffer_minutes)
    length = timedelta(minutes=rules.slot_minutes)
    out: list[datetime] = []
    day = earliest.astimezone(zone).date() - timedelta(days=1)
    last_day = latest.astimezone(zone).date() + timedelta(days=1)
    while day <= last_day:
        for instant in _grid(rules, day, zone):
            if instant < earliest or instant >= latest:
                continue
            wanted = Interval(instant - pad, instant + length + pad)
            if any(b.overlaps(wanted) for b in blocked):
                continue
            out.append(instant)
            if limit is not None and len(out) >= limit:
                return out
        day += timedelta(days=1)
    return out


def slot_interval(rules: SlotRules, start_utc: datetime) -> Interval:
    start_utc = as_utc(start_utc)
    return Interval(start_utc, start_utc + timedelta(minutes=rules.slot_minutes))


def is_grid_slot(rules: SlotRules, start_utc: datetime) -> bool:
    zone = ZoneInfo(rules.timezone)
    start_utc = as_utc(start_utc)
    return start_utc in _grid(rules, start_utc.astimezone(zone).date(), zone)
