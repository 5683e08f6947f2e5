"""Working hours and free interview slots.

Why a grid in local wall-clock time: an interviewer who works 09:00-17:00 in Berlin works
09:00-17:00 in summer and in winter. Slot starts are therefore laid out on the interviewer's
own clock (window start, then every slot + buffer minutes) and only then turned into UTC
instants, so the 09:00 slot is 08:00 UTC in winter and 07:00 UTC in summer, and both people
see round times. A wall time that does not exist (the hour skipped when clocks go forward) is
never offered; a wall time that happens twice (when clocks go back) means its first
occurrence (fold=0).

Every instant going in or out is an aware UTC datetime (scheduling/intervals.py); only the
working hours are local.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduling.intervals import Interval, as_utc, merge

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_WORDS: dict[str, tuple[int, ...]] = {
    "mon": (0,), "monday": (0,),
    "tue": (1,), "tues": (1,), "tuesday": (1,),
    "wed": (2,), "weds": (2,), "wednesday": (2,),
    "thu": (3,), "thur": (3,), "thurs": (3,), "thursday": (3,),
    "fri": (4,), "friday": (4,),
    "sat": (5,), "saturday": (5,),
    "sun": (6,), "sunday": (6,),
    "weekdays": (0, 1, 2, 3, 4), "workdays": (0, 1, 2, 3, 4),
    "weekend": (5, 6), "weekends": (5, 6),
    "daily": (0, 1, 2, 3, 4, 5, 6), "everyday": (0, 1, 2, 3, 4, 5, 6),
}
# 24:00 as a window end ("until midnight"); `time` itself stops at 23:59:59.999999.
END_OF_DAY = time.max
_TIME_RE = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")
_RANGE_RE = re.compile(r"^([0-9:]+)-([0-9:]+)$")
EXAMPLE = "e.g. 'mon-fri 09:00-17:00' or 'mon-thu 9-17; fri 9-13'"

Window = tuple[time, time]


def _minutes(t: time) -> int:
    return 24 * 60 if t == END_OF_DAY else t.hour * 60 + t.minute


def _fmt(t: time) -> str:
    return "24:00" if t == END_OF_DAY else f"{t.hour:02d}:{t.minute:02d}"


def _parse_time(text: str, *, end: bool) -> time:
    m = _TIME_RE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a time; write 9, 09:00 or 17:30")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if end and hour == 24 and minute == 0:
        return END_OF_DAY
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return time(hour, minute)


def _parse_days(text: str) -> list[int]:
    days: list[int] = []
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        if "-" in token:
            first, _, last = (p.strip() for p in token.partition("-"))
            a, b = _DAY_WORDS.get(first), _DAY_WORDS.get(last)
            bad = first if a is None or len(a) != 1 else last if b is None or len(b) != 1 else ""
            if bad or a is None or b is None:
                raise ValueError(f"unknown day {bad!r} (use {', '.join(DAY_NAMES)})")
            span = (b[0] - a[0]) % 7
            days.extend((a[0] + i) % 7 for i in range(span + 1))
        else:
            found = _DAY_WORDS.get(token)
            if found is None:
                raise ValueError(f"unknown day {token!r} (use {', '.join(DAY_NAMES)})")
            days.extend(found)
    if not days:
        raise ValueError(f"a day is missing; {EXAMPLE}")
    return list(dict.fromkeys(days))


def _check_day(day: int, windows: list[Window]) -> tuple[Window, ...]:
    ordered = sorted(windows, key=lambda w: _minutes(w[0]))
    for (s1, e1), (s2, e2) in pairwise(ordered):
        if _minutes(s2) < _minutes(e1):
            raise ValueError(
                f"windows overlap on {DAY_NAMES[day]}: {_fmt(s1)}-{_fmt(e1)} and "
                f"{_fmt(s2)}-{_fmt(e2)}"
            )
    return tuple(ordered)


def _window(start: time, end: time) -> Window:
    if _minutes(end) <= _minutes(start):
        raise ValueError(f"{_fmt(start)}-{_fmt(end)}: the end must be after the start")
    return (start, end)


@dataclass(frozen=True)
class WorkingHours:
    """Local working windows per weekday (0 = Monday), each day's windows sorted and
    disjoint; days without windows are absent. A window end of `END_OF_DAY` means 24:00."""

    days: dict[int, tuple[Window, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checked: dict[int, tuple[Window, ...]] = {}
        for day, windows in sorted(self.days.items()):
            if not isinstance(day, int) or not 0 <= day <= 6:
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {day!r}")
            if windows:
                checked[day] = _check_day(day, [_window(s, e) for s, e in windows])
        if not checked:
            raise ValueError(f"no working hours given; {EXAMPLE}")
        object.__setattr__(self, "days", checked)

    def __hash__(self) -> int:
        return hash(tuple(self.days.items()))

    def windows(self, weekday: int) -> tuple[Window, ...]:
        """The windows of one weekday (0 = Monday); () for a day off."""
        return self.days.get(weekday, ())

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """'mon-fri 09:00-17:00', 'mon-thu 9-17; fri 9:00-13:00',
        'mon,wed 10:00-12:00 14:00-18:00' (also 'weekdays', 'daily', full day names,
        '24:00' as an end). ValueError with a message a person can act on."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"no working hours given; {EXAMPLE}")
        if len(text) > 2000:
            raise ValueError("working hours text is too long")
        norm = text.lower().replace("\u2013", "-").replace("\u2014", "-")
        norm = re.sub(r"\s*-\s*", "-", norm)
        norm = re.sub(r"\s*,\s*", ",", norm)
        per_day: list[list[Window]] = [[] for _ in range(7)]
        for segment in re.split(r"[;\n]+", norm):
            segment = segment.strip()
            if not segment:
                continue
            m = re.match(r"^([a-z][a-z,\- ]*?)\s+(\d.*)$", segment)
            if not m:
                if re.match(r"^[a-z,\- ]+$", segment):
                    raise ValueError(f"times are missing after {segment!r}; {EXAMPLE}")
                raise ValueError(f"can't read {segment!r}; {EXAMPLE}")
            days = _parse_days(m.group(1).replace(" ", ","))
            ranges = [r for r in re.split(r"[\s,]+", m.group(2)) if r]
            windows: list[Window] = []
            for r in ranges:
                rm = _RANGE_RE.match(r)
                if not rm:
                    raise ValueError(f"{r!r} is not a time range like 09:00-17:00")
                windows.append(
                    _window(_parse_time(rm.group(1), end=False), _parse_time(rm.group(2), end=True))
                )
            for day in days:
                per_day[day].extend(windows)
        return cls({d: tuple(w) for d, w in enumerate(per_day) if w})

    def to_json(self) -> dict[str, list[list[str]]]:
        """{"mon": [["09:00", "17:00"]], ...}; days without windows are left out."""
        return {
            DAY_NAMES[day]: [[_fmt(s), _fmt(e)] for s, e in windows]
            for day, windows in self.days.items()
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> WorkingHours:
        if not isinstance(data, Mapping):
            raise ValueError("working hours must be a mapping of day -> windows")
        per_day: list[list[Window]] = [[] for _ in range(7)]
        for key, windows in data.items():
            found = _DAY_WORDS.get(str(key).lower())
            if found is None or len(found) != 1:
                raise ValueError(f"unknown day {key!r} (use {', '.join(DAY_NAMES)})")
            if not isinstance(windows, list | tuple):
                raise ValueError(f"windows for {key!r} must be a list of [start, end]")
            for pair in windows:
                if not isinstance(pair, list | tuple) or len(pair) != 2:
                    raise ValueError(f"windows for {key!r} must be a list of [start, end]")
                start, end = (str(v) for v in pair)
                per_day[found[0]].append(
                    _window(_parse_time(start, end=False), _parse_time(end, end=True))
                )
        return cls({d: tuple(w) for d, w in enumerate(per_day) if w})

    def __str__(self) -> str:
        """Canonical text that `parse` reads back, one day at a time in weekday order:
        'mon 09:00-17:00; tue 09:00-17:00; …; fri 09:00-13:00 14:00-15:30'."""
        return "; ".join(
            f"{DAY_NAMES[day]} " + " ".join(f"{_fmt(s)}-{_fmt(e)}" for s, e in windows)
            for day, windows in self.days.items()
        )

    def compact(self) -> str:
        """Shorter text for people: days with the same windows grouped and consecutive
        days as ranges ('mon-thu 09:00-17:00; fri 09:00-13:00'); `parse` reads it too."""
        groups: dict[tuple[Window, ...], list[int]] = {}
        for day, windows in self.days.items():
            groups.setdefault(windows, []).append(day)
        return "; ".join(
            f"{_day_list(days)} " + " ".join(f"{_fmt(s)}-{_fmt(e)}" for s, e in windows)
            for windows, days in sorted(groups.items(), key=lambda kv: kv[1][0])
        )


def _day_list(days: list[int]) -> str:
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        DAY_NAMES[r[0]] if len(r) == 1 else f"{DAY_NAMES[r[0]]}-{DAY_NAMES[r[-1]]}" for r in runs
    )


@dataclass(frozen=True)
class SlotRules:
    """How one interviewer can be booked."""

    timezone: str
    hours: WorkingHours
    slot_minutes: int = 45
    buffer_minutes: int = 15
    min_notice_minutes: int = 720
    horizon_days: int = 14

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        if self.slot_minutes < 1:
            raise ValueError("slot length must be at least one minute")
        if self.buffer_minutes < 0 or self.min_notice_minutes < 0 or self.horizon_days < 0:
            raise ValueError("buffer, notice and horizon can't be negative")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _wall_to_utc(day: date, minute_of_day: int, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall time, or None when that wall time does not exist
    (clocks jumped over it). Times that occur twice give the first occurrence (fold=0)."""
    local = datetime.combine(day, time(minute_of_day // 60, minute_of_day % 60), tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def _grid_minutes(rules: SlotRules, day: date) -> list[int]:
    """Slot starts on `day` as minutes after local midnight, window by window."""
    step = rules.slot_minutes + rules.buffer_minutes
    out: list[int] = []
    for start, end in rules.hours.windows(day.weekday()):
        minute, stop = _minutes(start), _minutes(end)
        while minute + rules.slot_minutes <= stop:
            out.append(minute)
            minute += step
    return out


def grid_starts(rules: SlotRules, day: date) -> list[datetime]:
    """All grid slot starts of one local date (busy or not), in UTC, skipping wall times
    that don't exist that day."""
    zone = rules.zone
    starts = (_wall_to_utc(day, m, zone) for m in _grid_minutes(rules, day))
    return [s for s in starts if s is not None]


def free_slots(
    rules: SlotRules,
    busy: Iterable[Interval],
    now: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
) -> list[datetime]:
    """Free slot starts (UTC, ascending) from `now + min_notice` to before
    `now + horizon_days`, and with their start in [start, end) when given. A slot is free
    when [start - buffer, start + slot + buffer) overlaps no busy interval."""
    now = as_utc(now)
    lower = now + timedelta(minutes=rules.min_notice_minutes)
    upper = now + timedelta(days=rules.horizon_days)
    if start is not None:
        lower = max(lower, as_utc(start))
    if end is not None:
        upper = min(upper, as_utc(end))
    if lower >= upper or limit == 0:
        return []
    blocked = merge(list(busy))
    starts = [iv.start for iv in blocked]
    ends = [iv.end for iv in blocked]
    pad = timedelta(minutes=rules.buffer_minutes)
    length = timedelta(minutes=rules.slot_minutes)
    zone = rules.zone
    day = lower.astimezone(zone).date() - timedelta(days=1)
    last = upper.astimezone(zone).date() + timedelta(days=1)
    out: list[datetime] = []
    while day <= last:
        for slot in grid_starts(rules, day):
            if not lower <= slot < upper:
                continue
            # Merged busy intervals are disjoint and sorted, so the last one starting before
            # the padded slot ends is the only one that can reach into it.
            i = bisect_left(starts, slot + length + pad)
            if i and ends[i - 1] > slot - pad:
                continue
            out.append(slot)
        day += timedelta(days=1)
    out = sorted(set(out))
    return out[:limit] if limit is not None else out


def slot_interval(rules: SlotRules, start_utc: datetime) -> Interval:
    """[start, start + slot length)."""
    start = as_utc(start_utc)
    return Interval(start, start + timedelta(minutes=rules.slot_minutes))


def is_grid_slot(rules: SlotRules, start_utc: datetime) -> bool:
    """True when `start_utc` is one of the slot starts of its local day (a client can't
    book 09:07 or a time outside working hours by sending its own timestamp)."""
    start = as_utc(start_utc)
    local = start.astimezone(rules.zone)
    if local.second or local.microsecond:
        return False
    minute = local.hour * 60 + local.minute
    if minute not in _grid_minutes(rules, local.date()):
        return False
    return _wall_to_utc(local.date(), minute, rules.zone) == start
