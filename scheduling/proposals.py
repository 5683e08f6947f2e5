"""A time the candidate proposes in words ("next Tuesday after 3pm") as a window in UTC.

Why a small parser of our own around dateparser: dateparser reads dates well ("24 Nov",
"2026-11-24", "tomorrow") but has no notion of "after 3pm", "morning" or "between 2 and 4",
and silently picks one reading of "3/4". The day and the time of day are read separately
here; dateparser only gets the date words. Decisions:

* "Tuesday" and "next Tuesday" both mean the coming Tuesday (never today); "this week" and
  "next week" are Monday to Sunday.
* A numeric date whose day and month could swap ("3/4") is ambiguous unless one reading is
  in the past; both readings are offered.
* Morning 08–12, afternoon 12–18, evening 17–21 (the candidate's local time).
* A time without a day is its next occurrence; a day or time already gone is "past".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

MAX_CHARS = 200
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHORT = {d[:3]: i for i, d in enumerate(_WEEKDAYS)} | {"tues": 1, "thur": 3, "thurs": 3}
_PARTS = {"morning": (8, 12), "afternoon": (12, 18), "evening": (17, 21), "noon": (12, 13)}
_MONTHS = r"jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_HOUR = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"

Kind = Literal["window", "ambiguous", "past", "unclear"]


@dataclass
class Proposal:
    kind: Kind
    start: datetime | None = None
    end: datetime | None = None
    exact: bool = False
    options: list[str] = field(default_factory=list)
    message: str | None = None


def _hour(h: str, m: str | None, suffix: str | None, *, assume_pm: bool = False) -> time | None:
    hour, minute = int(h), int(m or 0)
    suffix = (suffix or "").replace(".", "")
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    elif not suffix and assume_pm and 1 <= hour <= 7:
        hour += 12  # "between 2 and 4", "at 3": office hours, so the afternoon
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def _times(text: str) -> tuple[time | None, time | None, bool, str]:
    """(from, to, exact, text without the time words)."""
    m = re.search(rf"\bbetween\s+{_HOUR}\s+and\s+{_HOUR}", text)
    if m:
        suffix = m.group(6)
        a = _hour(m.group(1), m.group(2), m.group(3) or suffix, assume_pm=True)
        b = _hour(m.group(4), m.group(5), suffix, assume_pm=True)
        if a and b and a < b:
            return a, b, False, text.replace(m.group(0), " ")
    m = re.search(rf"\b(after|from)\s+{_HOUR}", text)
    if m:
        a = _hour(m.group(2), m.group(3), m.group(4), assume_pm=True)
        if a:
            return a, time(23, 59), False, text.replace(m.group(0), " ")
    m = re.search(rf"\b(before|until|by)\s+(?:{_HOUR}|(noon|midday))", text)
    if m:
        b = time(12) if m.group(5) else _hour(m.group(2), m.group(3), m.group(4))
        if b:
            return time(0), b, False, text.replace(m.group(0), " ")
    for word, (a, b) in _PARTS.items():
        if re.search(rf"\b{word}\b", text):
            return time(a), time(b), word == "noon", text.replace(word, " ")
    m = re.search(rf"\bat\s+{_HOUR}", text) or re.search(
        r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)", text
    ) or re.search(r"\b(\d{1,2})[:](\d{2})()\b", text)
    if m:
        a = _hour(m.group(1), m.group(2), m.group(3), assume_pm=True)
        if a:
            return a, None, True, text.replace(m.group(0), " ")
    return None, None, False, text


def _weekday(text: str, today: date) -> tuple[date | None, bool]:
    """(day, is_past) for a weekday name with an optional next/this/last."""
    m = re.search(r"\b(next|this|coming|last)?\s*(" + "|".join(
        sorted([*_WEEKDAYS, *_SHORT], key=len, reverse=True)) + r")\b", text)  # fmt: skip
    if not m:
        return None, False
    word = m.group(2)
    index = _WEEKDAYS.index(word) if word in _WEEKDAYS else _SHORT[word]
    ahead = (index - today.weekday()) % 7
    if m.group(1) == "last":
        back = (today.weekday() - index) % 7 or 7
        return today - timedelta(days=back), True
    return today + timedelta(days=ahead or 7), False


def _numeric(text: str, today: date) -> tuple[list[date], str | None]:
    m = re.search(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?\b", text)
    if not m:
        return [], None
    a, b = int(m.group(1)), int(m.group(2))
    year = m.group(3)
    readings: list[date] = []
    for day, month in ((a, b), (b, a)):
        try:
            y = int(year) + (2000 if year and len(year) == 2 else 0) if year else today.year
            d = date(y, month, day)
            if not year and d < today:
                d = date(y + 1, month, day)
            if d not in readings:
                readings.append(d)
        except ValueError:
            continue
    return readings, m.group(0)


def _dateparser_day(text: str, now_local: datetime) -> date | None:
    if not re.search(rf"\b({_MONTHS})|\d{{4}}-\d{{2}}-\d{{2}}|\b\d{{1,2}}(st|nd|rd|th)\b", text):
        return None
    import dateparser

    found = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": now_local.replace(tzinfo=None),
            "DATE_ORDER": "DMY",
            "REQUIRE_PARTS": ["day"],
        },
    )
    return found.date() if found else None


def _utc(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock).replace(tzinfo=zone).astimezone(UTC)


def _label(day: date) -> str:
    return day.strftime("%a %d %B").replace(" 0", " ")


def parse_proposal(text: str, tz: str, now: datetime) -> Proposal:
    """Read a proposed time in the candidate's zone `tz` (see the module's decisions)."""
    raw = " ".join((text or "").split())[:MAX_CHARS].lower()
    if not raw:
        return Proposal("unclear")
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    today = local_now.date()
    start_t, end_t, exact, rest = _times(raw)
    days: list[date] = []
    week = False
    past_word = False
    if re.search(r"\byesterday\b", rest):
        days, past_word = [today - timedelta(days=1)], True
    elif re.search(r"\btomorrow\b", rest):
        days = [today + timedelta(days=1)]
    elif re.search(r"\btoday\b|\btonight\b", rest):
        days = [today]
    elif re.search(r"\b(next|this)\s+week\b", rest):
        monday = today - timedelta(days=today.weekday())
        if "next" in rest:
            monday += timedelta(days=7)
        days, week = [monday], True
    else:
        day, past_word = _weekday(rest, today)
        if day is not None:
            days = [day]
        else:
            parsed = _dateparser_day(rest, local_now)
            if parsed is not None:
                days = [parsed]
            else:
                readings, _token = _numeric(rest, today)
                if len(readings) > 1:
                    future = [d for d in readings if d >= today]
                    if len(future) == 1:
                        readings = future
                    else:
                        when = f" at {start_t:%H:%M}" if exact and start_t else ""
                        return Proposal(
                            "ambiguous",
                            options=[_label(d) + when for d in readings],
                            message=f"Do you mean {' or '.join(_label(d) for d in readings)}?",
                        )
                days = readings
    if not days and start_t is None:
        return Proposal("unclear")
    if not days:  # a time alone: its next occurrence
        first = _utc(today, start_t or time(0), zone)
        days = [today if first > now else today + timedelta(days=1)]
    day = days[0]
    if week:
        start = _utc(day, start_t or time(0), zone)
        end = _utc(day + timedelta(days=6), end_t or time(23, 59), zone)
    elif exact and start_t is not None:
        start = _utc(day, start_t, zone)
        end = start + timedelta(minutes=1)
    else:
        start = _utc(day, start_t or time(0), zone)
        end = _utc(day, end_t or time(23, 59), zone)
    if past_word or end <= now or (exact and start <= now):
        return Proposal("past", start, end, exact, message="That time has already passed.")
    return Proposal("window", max(start, now), end, exact)
