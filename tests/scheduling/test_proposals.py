"""Times candidates propose in words, read in their own zone, with fixed clocks.

NOW is Monday 23 Nov 2026 08:00 UTC = 09:00 in Berlin (CET, UTC+1). Expected instants are
worked out in the comments; Berlin is UTC+2 (CEST) from 29 Mar to 25 Oct 2026, New York is
UTC-5 (EST) / UTC-4 (EDT, 8 Mar - 1 Nov 2026).
"""

from __future__ import annotations

import random
import time as timer
from datetime import UTC, datetime, timedelta

import pytest

from scheduling.proposals import Proposal, parse_proposal


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


NOW = utc(2026, 11, 23, 8, 0)  # Mon 09:00 Berlin
BERLIN = "Europe/Berlin"


def window(text: str, tz: str = BERLIN, now: datetime = NOW) -> tuple[datetime, datetime, bool]:
    p = parse_proposal(text, tz, now)
    assert p.kind == "window", (text, p)
    assert p.start is not None and p.end is not None and p.start < p.end
    return p.start, p.end, p.exact


# ------------------------------------------------------------------ windows
@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        # Tue 24 Nov 15:00 CET = 14:00 UTC, to the end of that day (Wed 00:00 CET = 23:00 UTC).
        ("next Tuesday after 3pm", utc(2026, 11, 24, 14), utc(2026, 11, 24, 23)),
        ("Tuesday after 15:00", utc(2026, 11, 24, 14), utc(2026, 11, 24, 23)),
        # Tomorrow 08:00-12:00 CET = 07:00-11:00 UTC.
        ("tomorrow morning", utc(2026, 11, 24, 7), utc(2026, 11, 24, 11)),
        # A part of the day alone is today while it lasts: 12:00-18:00 CET = 11:00-17:00 UTC.
        ("afternoon", utc(2026, 11, 23, 11), utc(2026, 11, 23, 17)),
        ("this afternoon", utc(2026, 11, 23, 11), utc(2026, 11, 23, 17)),
        # Evening 17:00-21:00 CET = 16:00-20:00 UTC.
        ("evening", utc(2026, 11, 23, 16), utc(2026, 11, 23, 20)),
        ("tonight", utc(2026, 11, 23, 16), utc(2026, 11, 23, 20)),
        # Before noon, today: from now (09:00 CET, 08:00 UTC) to 12:00 CET = 11:00 UTC.
        ("before noon", utc(2026, 11, 23, 8), utc(2026, 11, 23, 11)),
        # "between 2 and 4pm": the pm covers both: 14:00-16:00 CET = 13:00-15:00 UTC.
        ("between 2 and 4pm", utc(2026, 11, 23, 13), utc(2026, 11, 23, 15)),
        ("wed between 2 and 4pm", utc(2026, 11, 25, 13), utc(2026, 11, 25, 15)),
        ("Thursday 14:00-16:30", utc(2026, 11, 26, 13), utc(2026, 11, 26, 15, 30)),
        ("tomorrow from 10 to 12", utc(2026, 11, 24, 9), utc(2026, 11, 24, 11)),
        # "10-2pm": ten in the morning to two in the afternoon.
        ("10-2pm tomorrow", utc(2026, 11, 24, 9), utc(2026, 11, 24, 13)),
        ("tomorrow before 5", utc(2026, 11, 23, 23), utc(2026, 11, 24, 16)),
        ("after lunch tomorrow", utc(2026, 11, 24, 12), utc(2026, 11, 24, 23)),
        ("late afternoon on friday", utc(2026, 11, 27, 14), utc(2026, 11, 27, 17)),
        # Next week: Mon 30 Nov 00:00 CET (29 Nov 23:00 UTC) to Mon 7 Dec 00:00 CET.
        ("next week", utc(2026, 11, 29, 23), utc(2026, 12, 6, 23)),
        ("anytime next week", utc(2026, 11, 29, 23), utc(2026, 12, 6, 23)),
        # This week: from now to Mon 30 Nov 00:00 CET.
        ("this week", utc(2026, 11, 23, 8), utc(2026, 11, 29, 23)),
        ("the week after next", utc(2026, 12, 6, 23), utc(2026, 12, 13, 23)),
        ("in two weeks", utc(2026, 12, 6, 23), utc(2026, 12, 13, 23)),
        # The weekend: Sat 28 00:00 CET to Mon 30 00:00 CET.
        ("the weekend", utc(2026, 11, 27, 23), utc(2026, 11, 29, 23)),
        # A day: Thu 26 Nov 00:00-24:00 CET.
        ("how about thursday?", utc(2026, 11, 25, 23), utc(2026, 11, 26, 23)),
        ("in 3 days", utc(2026, 11, 25, 23), utc(2026, 11, 26, 23)),
        ("a week from today", utc(2026, 11, 29, 23), utc(2026, 11, 30, 23)),
        ("tuesday next week", utc(2026, 11, 30, 23), utc(2026, 12, 1, 23)),
        ("24 Nov", utc(2026, 11, 23, 23), utc(2026, 11, 24, 23)),
        ("24.11.", utc(2026, 11, 23, 23), utc(2026, 11, 24, 23)),
        ("on the 1st", utc(2026, 11, 30, 23), utc(2026, 12, 1, 23)),
        ("December 1st", utc(2026, 11, 30, 23), utc(2026, 12, 1, 23)),
        # Two weekdays: one window over both (Mon 30 Nov and the Tuesday after it).
        ("monday or tuesday", utc(2026, 11, 29, 23), utc(2026, 12, 1, 23)),
        # Today, from now.
        ("today", utc(2026, 11, 23, 8), utc(2026, 11, 23, 23)),
        # Whole months (read by dateparser): December 2026.
        ("december", utc(2026, 11, 30, 23), utc(2026, 12, 31, 23)),
        ("next month", utc(2026, 11, 30, 23), utc(2026, 12, 31, 23)),
        ("asap", utc(2026, 11, 23, 8), utc(2026, 12, 7, 8)),
    ],
)
def test_windows(text: str, start: datetime, end: datetime) -> None:
    assert window(text) == (start, end, False)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        # Fri 27 Nov 10:00 CET = 09:00 UTC.
        ("Friday at 10", utc(2026, 11, 27, 9)),
        ("friday 10am", utc(2026, 11, 27, 9)),
        ("Friday 10", utc(2026, 11, 27, 9)),
        ("fri @ 10:00", utc(2026, 11, 27, 9)),
        ("next friday at 10 o'clock", utc(2026, 11, 27, 9)),
        ("Wednesday at 11:00", utc(2026, 11, 25, 10)),
        # A bare "3" is office hours: 15:00 CET = 14:00 UTC.
        ("friday at 3", utc(2026, 11, 27, 14)),
        ("friday at 3 in the afternoon", utc(2026, 11, 27, 14)),
        ("thursday at 8 in the evening", utc(2026, 11, 26, 19)),
        ("thursday morning at 10", utc(2026, 11, 26, 9)),
        ("half past 2 on thursday", utc(2026, 11, 26, 13, 30)),
        ("wed 10.30", utc(2026, 11, 25, 9, 30)),
        ("tomorrow at 2:30pm", utc(2026, 11, 24, 13, 30)),
        ("tomorrow at noon", utc(2026, 11, 24, 11)),
        ("24 Nov 14:00", utc(2026, 11, 24, 13)),
        ("Nov 25th 3pm", utc(2026, 11, 25, 14)),
        ("thursday 26th november 9.30am", utc(2026, 11, 26, 8, 30)),
        ("2026-11-24 14:00", utc(2026, 11, 24, 13)),
        ("2026-11-24T14:00", utc(2026, 11, 24, 13)),
        ("on 25/11 at 10", utc(2026, 11, 25, 9)),
        ("11/25 at 10", utc(2026, 11, 25, 9)),
        ("next week tuesday at 2pm", utc(2026, 12, 1, 13)),
        ("two weeks from now at 3pm", utc(2026, 12, 7, 14)),
        # A time alone: today while it is ahead (15:00 today), else tomorrow (08:30 tomorrow).
        ("3pm", utc(2026, 11, 23, 14)),
        ("at 8:30", utc(2026, 11, 24, 7, 30)),
        # What the chat's own ambiguity buttons send back (see test_ambiguous_dates).
        ("Sat 3 April 2027 at 14:00", utc(2027, 4, 3, 12)),  # CEST by then: 14:00 = 12:00 UTC
    ],
)
def test_exact_times(text: str, start: datetime) -> None:
    got_start, got_end, exact = window(text)
    assert exact and got_start == start and got_end == start + timedelta(minutes=1)


# ------------------------------------------------------------------ ambiguous dates
def test_ambiguous_dates() -> None:
    # 3/4 said on 23 Nov 2026: 3 April 2027 (Sat) or 4 March 2027 (Thu), both ahead.
    p = parse_proposal("3/4 at 2pm", BERLIN, NOW)
    assert p.kind == "ambiguous" and p.start is None
    assert p.options == ["Sat 3 April 2027 at 14:00", "Thu 4 March 2027 at 14:00"]
    assert p.message and "3 April" in p.message and "4 March" in p.message
    # Each option, sent back, is one exact time: 14:00 CEST = 12:00 UTC on 3 Apr; 14:00 CET =
    # 13:00 UTC on 4 Mar.
    assert window(p.options[0])[0] == utc(2027, 4, 3, 12)
    assert window(p.options[1])[0] == utc(2027, 3, 4, 13)
    # Without a time, the options are days.
    assert parse_proposal("3/4", BERLIN, NOW).options == ["Sat 3 April 2027", "Thu 4 March 2027"]
    # A weekday that fits one reading settles it: 3 April 2027 is a Saturday.
    assert window("sat 3/4")[0] == utc(2027, 4, 2, 22)  # 00:00 CEST = 22:00 UTC the day before
    assert parse_proposal("3/4/2027", BERLIN, NOW).kind == "ambiguous"


@pytest.mark.parametrize(
    ("text", "start"),
    [
        # 11/12: 11 Dec (ahead) or 12 Nov (11 days ago): the one ahead is meant.
        ("11/12", utc(2026, 12, 10, 23)),
        ("12/11", utc(2026, 12, 10, 23)),
        # Same day and month: nothing to swap.
        ("4/4 at 10", utc(2027, 4, 4, 8)),  # 10:00 CEST
        # A number over 12 can only be the day.
        ("25/11", utc(2026, 11, 24, 23)),
        ("11/25", utc(2026, 11, 24, 23)),
    ],
)
def test_numeric_dates_that_are_not_ambiguous(text: str, start: datetime) -> None:
    assert window(text)[0] == start


# ------------------------------------------------------------------ past and unclear
@pytest.mark.parametrize(
    "text",
    ["yesterday", "yesterday at 10", "the day before yesterday", "last Monday", "last week",
     "today at 8", "today at 8am", "this morning at 7", "12 Nov", "1/1/2020 10:00",
     "2025-06-01", "1st of November 2026"],
)  # fmt: skip
def test_past(text: str) -> None:
    p = parse_proposal(text, BERLIN, NOW)
    assert p.kind == "past" and p.message and "passed" in p.message


@pytest.mark.parametrize(
    "text",
    ["", "   ", "blorp wibble", "ok", "yes please", "the second one", "1", "10", "1 2 3 4",
     "x" * 10_000, "🙂" * 50, "'; DROP TABLE bookings; --",
     "SELECT * FROM users WHERE 1=1", "<script>alert(1)</script>", "99/99", "2026-02-30",
     "13pm", "\x00\x00", "morning after 3pm", "%s%s%s%n", "{{7*7}}", "../../../etc/passwd"],
)  # fmt: skip
def test_unclear(text: str) -> None:
    p = parse_proposal(text, BERLIN, NOW)
    assert p.kind == "unclear" and p.start is None and p.message


def test_hostile_input_never_raises_and_stays_fast() -> None:
    parse_proposal("warm up dateparser", BERLIN, NOW)
    rng = random.Random(7)
    pool = [
        *"abcdefghijklmnopqrstuvwxyz0123456789 :/.-,'@!?",
        "monday", "next", "at", "pm", "between", "and", "after", "before", "🙂", "—", "\u0000",
        "tomorrow", "week", "3/4", "noon", "morning", "2026-", "SELECT", ";--", "\n", "é",
    ]
    durations = []
    for _ in range(400):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 60)))
        began = timer.perf_counter()
        p = parse_proposal(text, BERLIN, NOW)
        durations.append(timer.perf_counter() - began)
        assert isinstance(p, Proposal) and p.kind in ("window", "ambiguous", "past", "unclear")
        if p.kind == "window":
            assert p.start is not None and p.end is not None and p.start < p.end
            assert p.end > NOW
    long = "next tuesday after 3pm " * 500
    began = timer.perf_counter()
    parse_proposal(long, BERLIN, NOW)
    durations.append(timer.perf_counter() - began)
    assert sum(durations) / len(durations) < 0.02
    assert max(durations) < 0.5


def test_a_bad_zone_is_read_as_utc() -> None:
    # Friday 27 Nov 10:00 in UTC.
    assert window("Friday at 10", tz="Not/AZone")[0] == utc(2026, 11, 27, 10)


# ------------------------------------------------------------------ zones and DST
def test_read_in_the_candidates_zone() -> None:
    # Friday 10:00 in New York (EST, UTC-5) = 15:00 UTC.
    assert window("Friday at 10", tz="America/New_York")[0] == utc(2026, 11, 27, 15)
    # 08:00 UTC is 03:00 in New York, so "today" there is still Mon 23 Nov, and "this
    # morning" is 08:00-12:00 EST = 13:00-17:00 UTC.
    assert window("this morning", tz="America/New_York")[:2] == (
        utc(2026, 11, 23, 13), utc(2026, 11, 23, 17)
    )
    # In Tokyo (UTC+9) it is already 17:00 on Monday: what is left of this afternoon is
    # 17:00 JST (now, 08:00 UTC) to 18:00 JST (09:00 UTC).
    assert window("afternoon", tz="Asia/Tokyo")[:2] == (utc(2026, 11, 23, 8), utc(2026, 11, 23, 9))
    # Half-hour zone: tomorrow 10:00 IST (UTC+5:30) = 04:30 UTC.
    assert window("tomorrow at 10", tz="Asia/Kolkata")[0] == utc(2026, 11, 24, 4, 30)


def test_days_over_the_eu_spring_switch() -> None:
    now = utc(2026, 3, 27, 10, 0)  # Fri 27 Mar, 11:00 CET
    # Sunday 29 Mar is 23 hours long: 00:00 CET (Sat 23:00 UTC) to 00:00 CEST Monday
    # (Sun 22:00 UTC).
    start, end, _ = window("sunday", now=now)
    assert (start, end) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    # Sunday morning: 08:00-12:00 CEST = 06:00-10:00 UTC.
    assert window("sunday morning", now=now)[:2] == (utc(2026, 3, 29, 6), utc(2026, 3, 29, 10))
    # Next week (Mon 30 Mar - Sun 5 Apr, all CEST): 29 Mar 22:00 UTC to 5 Apr 22:00 UTC.
    assert window("next week", now=now)[:2] == (utc(2026, 3, 29, 22), utc(2026, 4, 5, 22))
    # Monday at 9: 09:00 CEST = 07:00 UTC (Friday at 9 was 08:00 UTC).
    assert window("monday at 9", now=now)[0] == utc(2026, 3, 30, 7)


def test_days_over_the_us_switches() -> None:
    ny = "America/New_York"
    # Sat 7 Mar 2026 12:00 EST. "tomorrow at 9": Sun 8 Mar 09:00 EDT = 13:00 UTC.
    now = utc(2026, 3, 7, 17, 0)
    assert window("tomorrow at 9", tz=ny, now=now)[0] == utc(2026, 3, 8, 13)
    # "tomorrow at 2:30am" is in the skipped hour; zoneinfo reads it with the old offset
    # (EST): 07:30 UTC, which is 03:30 EDT: still a time on that day, not an error.
    assert window("tomorrow at 2:30am", tz=ny, now=now)[0] == utc(2026, 3, 8, 7, 30)
    # Sat 31 Oct 12:00 EDT. "tomorrow at 9": Sun 1 Nov 09:00 EST = 14:00 UTC; the day is 25 h
    # long: 00:00 EDT (04:00 UTC) to 00:00 EST Monday (05:00 UTC).
    now = utc(2026, 10, 31, 16, 0)
    assert window("tomorrow at 9", tz=ny, now=now)[0] == utc(2026, 11, 1, 14)
    assert window("tomorrow", tz=ny, now=now)[:2] == (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))
    # 1:30am on that Sunday happens twice; the first (EDT) is meant: 05:30 UTC.
    assert window("tomorrow at 1:30am", tz=ny, now=now)[0] == utc(2026, 11, 1, 5, 30)
