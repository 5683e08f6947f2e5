"""A time the candidate proposes in words ("next Tuesday after 3pm") as a window in UTC.

Why a small parser of our own around dateparser: dateparser reads many date phrasings well,
but it has no notion of "after 3pm", "morning" or "between 2 and 4", reads "Friday at 10"
as October, and silently picks one reading of "3/4". So the day and the time of day are read
here with small regexes, and dateparser (English, future-preferring, relative to `now` in the
candidate's zone) is only asked about what is left when no day was found ("in two weeks",
"december", "a week from today").

Decisions:

* Morning 08-12, afternoon 12-18, evening/tonight 17-21, lunchtime 12-14 (candidate's local
  time); "early"/"late" take the first/second half. "noon" is 12:00.
* A clock time without am/pm from 1 to 6 is afternoon ("at 3" = 15:00, "between 2 and 4"
  = 14:00-16:00); 7-12 and anything with a leading zero or from 13 is as written. An
  "afternoon"/"evening" in the same message moves it to the afternoon as well.
* "Tuesday", "next Tuesday" and "coming Tuesday" all mean the coming Tuesday, never today;
  "this Tuesday" may be today. "this week" is now until Sunday, "next week" Monday to Sunday
  of next week, "the weekend" the coming Saturday and Sunday. Two weekdays ("Monday or
  Tuesday") give one window over both days.
* A date without a year is its occurrence nearest to today, so "12 Nov" said on 23 Nov is
  in the past, not next year. A numeric date whose day and month can swap ("3/4") is
  ambiguous: both readings are offered, unless one is in the past (then the other is meant)
  or a weekday in the message matches only one. "24.11." (trailing dot) is always day-first.
* A time without a day is its next occurrence (today, or tomorrow once it has passed); an
  explicit day, or a time on it, that is already over is "past". A window that has begun is
  cut to start at `now`.
* "asap", "any time", "whenever" mean the next 14 days.
* Input is cut to 200 characters; nothing here raises on what a person types.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from scheduling.intervals import as_utc
from scheduling.timezones import zone_name_ok

MAX_CHARS = 200
ANYTIME_DAYS = 14

Kind = Literal["window", "ambiguous", "past", "unclear"]

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")  # fmt: skip
_WEEKDAY_WORDS = {
    **{n.lower(): i for i, n in enumerate(_WEEKDAY_NAMES)},
    **{n.lower()[:3]: i for i, n in enumerate(_WEEKDAY_NAMES)},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}  # fmt: skip
_MONTH_WORDS = {
    **{n.lower(): i + 1 for i, n in enumerate(_MONTH_NAMES)},
    **{n.lower()[:3]: i + 1 for i, n in enumerate(_MONTH_NAMES)},
    "sept": 9,
}  # fmt: skip
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
                 "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}  # fmt: skip

_WD = "|".join(sorted(_WEEKDAY_WORDS, key=len, reverse=True))
_MON = "|".join(sorted(_MONTH_WORDS, key=len, reverse=True))
_NUM = r"\d{1,2}|" + "|".join(_NUMBER_WORDS)
# One clock time: "3", "3pm", "15:00", "3.30 pm", "14h30", "10 o'clock", "noon".
_T = (
    r"(?:noon|midday|midnight|\d{1,2}(?:[:.h]\d{2})?(?:\s*(?:a\.?m\.?|p\.?m\.?)(?![a-z]))?"
    r"(?:\s*o'?clock)?)"
)
_T_PARTS = re.compile(
    r"^(?:(noon|midday)|(midnight)|(\d{1,2})(?:[:.h](\d{2}))?\s*(?:(a|p)\.?m\.?)?(?:\s*o'?clock)?)$"
)
# Parts of the day, [from, to) in minutes after midnight.
_PARTS = {
    "morning": (8 * 60, 12 * 60),
    "afternoon": (12 * 60, 18 * 60),
    "evening": (17 * 60, 21 * 60),
    "night": (17 * 60, 21 * 60),
    "tonight": (17 * 60, 21 * 60),
    "lunchtime": (12 * 60, 14 * 60),
    "lunch": (12 * 60, 14 * 60),
}
_LATER = {"afternoon", "evening", "night", "tonight"}
_ASAP = re.compile(
    r"\b(?:asap|as soon as possible|earliest|soonest|any\s*time|whenever|any day)\b"
)
_FILLER_WORDS = (
    "how about what whats what's maybe perhaps possibly probably i i'm im we can could would "
    "will do does works work working for me us is be it that then there ok okay fine good "
    "great please thanks thank you the a an on at in any sometime some sounds let's lets say "
    "available free am are around ish or and to best better prefer preferably like if "
    "possible also either suits suit ideally hows how's slot meeting interview call chat "
    "day time yes sure my may might should"
)
_FILLER = frozenset(_FILLER_WORDS.split())


@dataclass
class Proposal:
    """What the candidate meant: a UTC window [start, end) (`exact` when a clock time was
    given: then `start` is that time), or why there is none."""

    kind: Kind
    start: datetime | None = None
    end: datetime | None = None
    exact: bool = False
    options: list[str] = field(default_factory=list)
    message: str | None = None


@dataclass
class _Reading:
    """What the regexes found in the text."""

    dates: list[date] = field(default_factory=list)  # one day, or the readings of "3/4"
    weekday_hint: int | None = None  # for telling the readings of "3/4" apart
    span: tuple[date, date] | None = None  # [first, after last) day: weeks, weekends
    bad_date: bool = False  # "31/31", "2026-02-30"
    lower: int | None = None  # minutes after local midnight
    upper: int | None = None
    exact: int | None = None
    anytime: bool = False
    time_given: bool = False


def parse_proposal(text: str, tz: str, now: datetime) -> Proposal:
    """Read a proposed time in the candidate's zone `tz` (see the module's decisions).
    `now` must be aware; the result's instants are UTC."""
    now = as_utc(now)
    zone = ZoneInfo(tz) if zone_name_ok(tz) else ZoneInfo("UTC")
    if not isinstance(text, str):
        return _unclear()
    norm = _normalise(text)
    if not norm:
        return _unclear()
    local_now = now.astimezone(zone)
    reading = _Reading()
    rest = _read_dates(norm, local_now.date(), reading)
    rest = _read_times(rest, reading)
    lower, upper = reading.lower, reading.upper
    if reading.exact is None and lower is not None and upper is not None and lower >= upper:
        return Proposal(
            "unclear", message="Those times don't overlap; could you give one time range?"
        )
    if reading.bad_date:
        return Proposal("unclear", message="That date doesn't exist; could you check it?")
    if not reading.dates and reading.span is None:
        _fallback(rest, local_now, reading)
    return _decide(reading, zone, now, local_now)


# ------------------------------------------------------------------ reading the text
def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[: MAX_CHARS * 2])[:MAX_CHARS].lower()
    for dash in ("\u2013", "\u2014", "\u2212"):
        text = text.replace(dash, "-")
    text = text.replace("\u2019", "'").replace("@", " at ")
    text = re.sub(r"[^\w\s:./'\-+,?!]", " ", text)
    text = re.sub(r"\bhalf\s+past\s+(\d{1,2})\b", r"\1:30", text)
    text = re.sub(r"\bquarter\s+past\s+(\d{1,2})\b", r"\1:15", text)
    text = re.sub(
        r"\bquarter\s+to\s+(\d{1,2})\b", lambda m: f"{(int(m.group(1)) - 1) % 24}:45", text
    )
    return " ".join(text.split())


def _cut(text: str, m: re.Match[str]) -> str:
    return text[: m.start()] + " " + text[m.end():]


def _nearest(today: date, month: int, day: int) -> date | None:
    """The occurrence of day/month nearest to today (None if it never exists)."""
    options = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            options.append(date(year, month, day))
        except ValueError:
            continue
    return min(options, key=lambda d: abs((d - today).days)) if options else None


def _year(text: str | None) -> int | None:
    if not text:
        return None
    year = int(text)
    return year + 2000 if year < 100 else year


def _full_date(year: int | None, month: int, day: int, today: date) -> date | None:
    if year is None:
        return _nearest(today, month, day)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _read_dates(text: str, today: date, r: _Reading) -> str:
    # ISO: 2026-11-24 (optionally followed by T14:00).
    m = re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})(?:t(?=\d))?", text)
    if m:
        text = _cut(text, m)
        d = _full_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), today)
        _add_dates(r, [d] if d else [])
    # Numeric with slashes (either order) or a dash and a four-digit year.
    m = None if r.dates or r.bad_date else re.search(
        r"(?<![\d:.])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])"
        r"|(?<![\d:.])(\d{1,2})-(\d{1,2})-(\d{4})(?!\d)",
        text,
    )
    if m:
        text = _cut(text, m)
        a, b = int(m.group(1) or m.group(4)), int(m.group(2) or m.group(5))
        year = _year(m.group(3) or m.group(6))
        readings = []
        for day, month in ((a, b), (b, a)):
            d = _full_date(year, month, day, today) if 1 <= month <= 12 else None
            if d is not None and d not in readings:
                readings.append(d)
        _add_dates(r, readings)
    # Day-first with dots: 24.11. / 24.11.2026 (the trailing dot or year tells it from 10.30).
    m = None if r.dates or r.bad_date else re.search(
        r"(?<![\d:.])(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})?(?![\d:])", text
    )
    if m and 1 <= int(m.group(2)) <= 12:
        text = _cut(text, m)
        d = _full_date(_year(m.group(3)), int(m.group(2)), int(m.group(1)), today)
        _add_dates(r, [d] if d else [])
    # Month names: "24 Nov", "24th of November 2026", "Nov 24", "November the 24th".
    if not r.dates and not r.bad_date:
        m = re.search(
            rf"(?<!\bat )(?<![\d:.])\b(\d{{1,2}})(?:st|nd|rd|th)?\s*(?:of\s+)?({_MON})\b\.?"
            rf"(?:,?\s*(\d{{4}})\b)?",
            text,
        )
        if m:
            day, month, year = int(m.group(1)), _MONTH_WORDS[m.group(2)], m.group(3)
        else:
            m = re.search(
                rf"\b({_MON})\b\.?\s*(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?"
                rf"(?![\d:.]|\s*(?:a\.?m|p\.?m|h\b|o'?clock))(?:,?\s*(\d{{4}})\b)?",
                text,
            )
            if m:
                day, month, year = int(m.group(2)), _MONTH_WORDS[m.group(1)], m.group(3)
        if m:
            text = _cut(text, m)
            d = _full_date(_year(year), month, day, today)
            _add_dates(r, [d] if d else [])
    # "on the 24th": a day of this month (or the next, if that is nearer).
    if not r.dates and not r.bad_date:
        m = re.search(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b", text)
        if m:
            text = _cut(text, m)
            day = int(m.group(1))
            found = []
            for shift in (-1, 0, 1):
                month_index = today.month - 1 + shift
                y, mo = today.year + month_index // 12, month_index % 12 + 1
                try:
                    found.append(date(y, mo, day))
                except ValueError:
                    continue
            best = min(found, key=lambda d: abs((d - today).days)) if found else None
            _add_dates(r, [best] if best else [])
    text = _read_relative(text, today, r)
    text = _read_weeks(text, today, r)
    return _read_weekdays(text, today, r)


def _add_dates(r: _Reading, readings: list[date]) -> None:
    if not readings:
        r.bad_date = True
        return
    r.dates = readings


def _read_relative(text: str, today: date, r: _Reading) -> str:
    words = (
        (r"\b(?:the\s+)?day\s+after\s+tomorrow\b", 2),
        (r"\b(?:the\s+)?day\s+before\s+yesterday\b", -2),
        (r"\b(?:tomorrow|tomorow|tommorow|tommorrow|tmrw|tmr)\b", 1),
        (r"\byesterday\b", -1),
        (r"\btoday\b", 0),
        (r"\bthis(?=\s+(?:morning|afternoon|evening|lunchtime)\b)", 0),
        (r"\b(?=tonight\b)", 0),  # keeps "tonight" for the time of day
    )
    m = re.search(rf"\bin\s+({_NUM})\s+(days?|weeks?)\b|\b({_NUM})\s+(days?|weeks?)\s+from\s+"
                  r"(?:now|today)\b", text)  # fmt: skip
    if m and not r.dates and not r.bad_date:
        text = _cut(text, m)
        count_word = m.group(1) or m.group(3)
        count = _NUMBER_WORDS.get(count_word) or int(count_word)
        unit = m.group(2) or m.group(4)
        if unit.startswith("day"):
            r.dates = [today + timedelta(days=count)]
        elif m.group(3):  # "two weeks from today": that very day
            r.dates = [today + timedelta(weeks=count)]
        else:  # "in two weeks": that week
            target = today + timedelta(weeks=count)
            monday = target - timedelta(days=target.weekday())
            r.span = (monday, monday + timedelta(days=7))
    for pattern, days in words:
        m = re.search(pattern, text)
        if m:
            text = _cut(text, m) if m.end() > m.start() else text
            if not r.dates and not r.bad_date and r.span is None:
                r.dates = [today + timedelta(days=days)]
            break
    return text


def _read_weeks(text: str, today: date, r: _Reading) -> str:
    monday = today - timedelta(days=today.weekday())
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    if today.weekday() == 6:  # on a Sunday, "the weekend" is today
        saturday = today - timedelta(days=1)
    forms = (
        (r"\b(?:the\s+)?week\s+after\s+next\b", (monday + timedelta(14), monday + timedelta(21))),
        (r"\bnext\s+weekend\b", (monday + timedelta(12), monday + timedelta(14))),
        (r"\b(?:this\s+|the\s+)?weekend\b", (saturday, saturday + timedelta(2))),
        (r"\bnext\s+week\b", (monday + timedelta(7), monday + timedelta(14))),
        (r"\blast\s+week\b", (monday - timedelta(7), monday)),
        (r"\b(?:later\s+)?this\s+week\b", (today, monday + timedelta(7))),
    )
    for pattern, span in forms:
        m = re.search(pattern, text)
        if m:
            text = _cut(text, m)
            if not r.dates and not r.bad_date and r.span is None:
                r.span = span
            break
    return text


def _read_weekdays(text: str, today: date, r: _Reading) -> str:
    found: list[date] = []
    for m in list(re.finditer(rf"\b(?:(next|this|coming|last|on)\s+)?({_WD})s?\b", text))[:7]:
        text = text.replace(m.group(0), " ", 1)
        index = _WEEKDAY_WORDS[m.group(2)]
        r.weekday_hint = index if r.weekday_hint is None else r.weekday_hint
        modifier = m.group(1)
        if r.span is not None and r.span[1] - r.span[0] == timedelta(days=7):
            first = r.span[0]
            found.append(first + timedelta(days=(index - first.weekday()) % 7))
        elif modifier == "last":
            found.append(today - timedelta(days=(today.weekday() - index) % 7 or 7))
        elif modifier == "this":
            found.append(today + timedelta(days=(index - today.weekday()) % 7))
        elif found:  # "Monday or Tuesday": the Tuesday after that Monday
            found.append(found[0] + timedelta(days=(index - found[0].weekday()) % 7))
        else:
            found.append(today + timedelta(days=(index - today.weekday()) % 7 or 7))
    if found and not r.dates and not r.bad_date:
        r.span = None
        if len(set(found)) == 1:
            r.dates = [found[0]]
        else:
            r.span = (min(found), max(found) + timedelta(days=1))
    return text


def _clock(token: str, *, later: bool, as_end: bool = False) -> int | None:
    """Minutes after midnight for one clock-time token, or None when it isn't a time."""
    m = _T_PARTS.match(token.strip())
    if not m:
        return None
    if m.group(1):
        return 12 * 60
    if m.group(2):
        return 24 * 60 if as_end else 0
    digits, minute, half = m.group(3), int(m.group(4) or 0), m.group(5)
    hour = int(digits)
    if minute > 59:
        return None
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "p" else 0)
    elif hour > 23 and not (as_end and hour == 24 and minute == 0):
        return None
    elif hour < 12 and not digits.startswith("0") and (1 <= hour <= 6 or later):
        hour += 12
    return hour * 60 + minute


def _has_half(token: str) -> bool:
    return bool(re.search(r"[ap]\.?m\.?$", token.strip()))


def _read_times(text: str, r: _Reading) -> str:
    part = re.search(
        r"\b(?:(early|late)[\s-]?)?(morning|afternoon|evening|tonight|night|lunchtime|lunch)"
        r"\b",
        text,
    )
    later = False
    part_window: tuple[int, int] | None = None
    if part and not re.search(r"\b(?:after|before)\s+(?:the\s+)?lunch", text):
        text = _cut(text, part)
        later = part.group(2) in _LATER
        a, b = _PARTS[part.group(2)]
        if part.group(1) == "early":
            b = (a + b) // 2
        elif part.group(1) == "late":
            a = (a + b) // 2
        part_window = (a, b)
    if _ASAP.search(text):
        text = _ASAP.sub(" ", text)
        r.anytime = True
    # A range: "between 2 and 4pm", "from 10 to 12", "14:00-16:00", "2 until 5".
    m = re.search(
        rf"\b(?:between\s+({_T})\s+and\s+({_T})|(?:from\s+)?({_T})\s*(?:-|to|until|till|til)\s*"
        rf"({_T}))(?![\d:])",
        text,
    )
    if m:
        first, second = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        window = _range(first, second, later=later)
        if window is not None:
            text = _cut(text, m)
            r.lower, r.upper = window
            r.time_given = True
    for pattern, attr in (
        (rf"\b(?:after|from|not\s+before|later\s+than|starting|since)\s+({_T})(?![\d:])",
         "lower"),
        (rf"\b(?:before|until|till|til|by|not\s+after|no\s+later\s+than|earlier\s+than)\s+"
         rf"({_T})(?![\d:])", "upper"),
    ):  # fmt: skip
        m = re.search(pattern, text)
        if m:
            value = _clock(m.group(1), later=later, as_end=attr == "upper")
            if value is not None:
                text = _cut(text, m)
                _bound(r, attr, value)
    for pattern, attr, value in (
        (r"\bafter\s+(?:the\s+)?lunch(?:time)?\b", "lower", 13 * 60),
        (r"\bbefore\s+(?:the\s+)?lunch(?:time)?\b", "upper", 12 * 60),
        (r"\bafter\s+work\b", "lower", 17 * 60),
        (r"\bbefore\s+work\b", "upper", 9 * 60),
    ):
        m = re.search(pattern, text)
        if m:
            text = _cut(text, m)
            _bound(r, attr, value)
    # One clock time: "at 10", "10am", "14:00", "noon", and a bare hour after a day.
    m = (
        re.search(rf"(?:\bat|\baround|\babout|\bfor|~)\s*({_T})(?![\d:])", text)
        or re.search(
            r"(?<![\d:.])(\d{1,2}(?:[:.h]\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)(?![a-z])"
            r"|\d{1,2}[:.h]\d{2}|\d{1,2}\s*o'?clock|noon|midday|midnight)(?![\d:])",
            text,
        )
        or (
            re.search(r"(?<![\d:./-])(\d{1,2})(?![\d:./-])", text)
            if r.dates and len(re.findall(r"\d+", text)) == 1
            else None
        )
    )
    if m:
        value = _clock(m.group(1), later=later)
        if value is not None:
            text = _cut(text, m)
            r.exact = value
            r.time_given = True
    if part_window is not None and r.exact is None:
        _bound(r, "lower", part_window[0])
        _bound(r, "upper", part_window[1])
    return text


def _bound(r: _Reading, attr: str, value: int) -> None:
    r.time_given = True
    if attr == "lower":
        r.lower = value if r.lower is None else max(r.lower, value)
    else:
        r.upper = value if r.upper is None else min(r.upper, value)


def _range(first: str, second: str, *, later: bool) -> tuple[int, int] | None:
    end = _clock(second, later=later, as_end=True)
    if end is None:
        return None
    if not _has_half(first) and _has_half(second):
        suffix = re.search(r"([ap])\.?m\.?$", second.strip())
        assert suffix is not None
        start = _clock(f"{first} {suffix.group(1)}m", later=False)
        if start is None or start >= end:
            start = _clock(first, later=False)
            if start is not None and start >= end and start >= 12 * 60:
                start -= 12 * 60  # "10-2pm": ten in the morning
    else:
        start = _clock(first, later=later)
    if start is None:
        return None
    if end <= start and not _has_half(second) and end + 12 * 60 <= 24 * 60:
        end += 12 * 60  # "between 10 and 2"
    return (start, end) if start < end else None


def _fallback(rest: str, local_now: datetime, r: _Reading) -> None:
    """Ask dateparser about the words the regexes left, once filler is gone."""
    words = [w for w in re.findall(r"[\w']+", rest) if w not in _FILLER]
    if not words or len(words) > 8:
        return
    phrase = " ".join(words)
    if not re.search(r"[a-z]", phrase):
        return  # bare numbers: dateparser reads "10" as October
    from dateparser.date import DateDataParser  # imported late: it is slow to load

    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "RETURN_TIME_AS_PERIOD": True,
    }
    try:
        data = DateDataParser(languages=["en"], settings=settings).get_date_data(phrase)
    except (ValueError, TypeError, OverflowError, KeyError, AttributeError):
        return
    found, period = data["date_obj"], data["period"]
    if found is None:
        return
    day = found.date()
    if period == "day":
        r.dates = [day]
    elif period == "week":
        monday = day - timedelta(days=day.weekday())
        r.span = (monday, monday + timedelta(days=7))
    elif period == "month" and re.search(rf"\b(?:month|{_MON})\b", phrase):
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
        r.span = (first, after)
    elif period == "time" and not r.time_given:
        r.dates = [day]
        r.exact = found.hour * 60 + found.minute
        r.time_given = True


# ------------------------------------------------------------------ deciding
def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    day = day + timedelta(days=minutes // (24 * 60))
    minutes %= 24 * 60
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC)


def _window_on(day: date, r: _Reading, zone: ZoneInfo) -> tuple[datetime, datetime]:
    if r.exact is not None:
        start = _at(day, r.exact, zone)
        return start, start + timedelta(minutes=1)
    return _at(day, r.lower or 0, zone), _at(day, 24 * 60 if r.upper is None else r.upper, zone)


def _is_past(window: tuple[datetime, datetime], now: datetime, exact: bool) -> bool:
    return window[0] < now if exact else window[1] <= now


def _label(day: date, r: _Reading, this_year: int) -> str:
    text = f"{_WEEKDAY_NAMES[day.weekday()][:3]} {day.day} {_MONTH_NAMES[day.month - 1]}"
    if day.year != this_year:
        text += f" {day.year}"
    if r.exact is not None:
        return text + f" at {_hhmm(r.exact)}"
    if r.lower is not None and r.upper is not None:
        return text + f" {_hhmm(r.lower)}-{_hhmm(r.upper)}"
    if r.lower is not None:
        return text + f" after {_hhmm(r.lower)}"
    if r.upper is not None:
        return text + f" before {_hhmm(r.upper)}"
    return text


def _hhmm(minutes: int) -> str:
    return "midnight" if minutes >= 24 * 60 else f"{minutes // 60:02d}:{minutes % 60:02d}"


def _unclear() -> Proposal:
    return Proposal("unclear", message="I couldn't find a day or a time in that.")


def _past(r: _Reading) -> Proposal:
    what = "time" if r.time_given else "day"
    return Proposal("past", message=f"That {what} has already passed.")


def _decide(r: _Reading, zone: ZoneInfo, now: datetime, local_now: datetime) -> Proposal:
    exact = r.exact is not None
    today = local_now.date()
    if r.span is not None:
        start, end = _at(r.span[0], 0, zone), _at(r.span[1], 0, zone)
        if end <= now:
            return _past(r)
        return Proposal("window", max(start, now), end)
    if r.dates:
        windows = [(d, _window_on(d, r, zone)) for d in r.dates]
        if len(windows) > 1:
            if r.weekday_hint is not None:
                matching = [w for w in windows if w[0].weekday() == r.weekday_hint]
                windows = matching or windows
            ahead = [w for w in windows if not _is_past(w[1], now, exact)]
            if not ahead:
                return _past(r)
            if len(ahead) > 1:
                options = [_label(d, r, today.year) for d, _ in ahead]
                return Proposal(
                    "ambiguous",
                    options=options,
                    message="Which date do you mean: " + " or ".join(options) + "?",
                )
            windows = ahead
        _, (start, end) = windows[0]
        if _is_past((start, end), now, exact):
            return _past(r)
        return Proposal("window", start if exact else max(start, now), end, exact)
    if r.time_given:
        for day in (today, today + timedelta(days=1)):
            start, end = _window_on(day, r, zone)
            if not _is_past((start, end), now, exact):
                return Proposal("window", start if exact else max(start, now), end, exact)
    if r.anytime:
        return Proposal("window", now, now + timedelta(days=ANYTIME_DAYS))
    return _unclear()
