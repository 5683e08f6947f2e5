"""Working hours, free slots across daylight-saving changes, time zones and proposed times.

Expected instants are worked out by hand in the comments (UTC offsets: Europe/Berlin +1 in
winter, +2 in summer; America/New_York -5 / -4; Europe/London 0 / +1).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from scheduling.availability import SlotRules, WorkingHours, free_slots, is_grid_slot
from scheduling.intervals import Interval
from scheduling.proposals import parse_proposal
from scheduling.timezones import describe_slot, guess_timezone, parse_timezone


def rules(tz: str, hours: str = "mon-fri 09:00-17:00", **kw: int) -> SlotRules:
    defaults = {"slot_minutes": 45, "buffer_minutes": 15, "min_notice_minutes": 0,
                "horizon_days": 14}  # fmt: skip
    return SlotRules(tz, WorkingHours.parse(hours), **{**defaults, **kw})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ------------------------------------------------------------------ working hours
def test_working_hours_parse_and_round_trip() -> None:
    hours = WorkingHours.parse("mon-thu 9-17; fri 09:00-13:00 14:00-15:30")
    assert hours.days[0] == ((time(9), time(17)),)
    assert hours.days[4] == ((time(9), time(13)), (time(14), time(15, 30)))
    assert 5 not in hours.days
    assert WorkingHours.from_json(hours.to_json()) == hours
    assert str(hours).startswith("mon 09:00-17:00; tue")


@pytest.mark.parametrize(
    "text",
    ["", "mon", "funday 9-17", "mon 17-9", "mon 09:00-12:00 11:00-13:00", "mon 25:00-26:00",
     "x" * 600, "mon 9-17; ; tue"[:5] + "zz"],
)
def test_working_hours_bad_input_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError) as info:
        WorkingHours.parse(text)
    assert str(info.value)


# ------------------------------------------------------------------ slots and DST
def test_grid_buffers_and_busy_times() -> None:
    # Mon 23 Nov 2026, Berlin (+1): 09:00 … 16:00 local = 08:00 … 15:00 UTC, 8 slots.
    r = rules("Europe/Berlin", horizon_days=1)
    now = utc(2026, 11, 23, 0, 0)
    slots = free_slots(r, [], now)
    assert slots == [utc(2026, 11, 23, h, 0) for h in range(8, 16)]
    # A meeting 10:50-11:10 UTC blocks 10:00 UTC (its buffer ends 11:00) and 11:00 UTC.
    busy = [Interval(utc(2026, 11, 23, 10, 50), utc(2026, 11, 23, 11, 10))]
    slots = free_slots(r, busy, now)
    assert utc(2026, 11, 23, 10, 0) not in slots and utc(2026, 11, 23, 11, 0) not in slots
    assert utc(2026, 11, 23, 9, 0) in slots and utc(2026, 11, 23, 12, 0) in slots
    assert is_grid_slot(r, utc(2026, 11, 23, 9, 0)) and not is_grid_slot(
        r, utc(2026, 11, 23, 9, 30)
    )


def test_minimum_notice_and_horizon() -> None:
    r = rules("Europe/Berlin", min_notice_minutes=720, horizon_days=2)
    now = utc(2026, 11, 23, 8, 0)  # Monday 09:00 Berlin
    slots = free_slots(r, [], now)
    assert slots[0] == utc(2026, 11, 24, 8, 0)  # 12 h notice: Tuesday 09:00 Berlin
    assert slots[-1] < now + timedelta(days=2)


@pytest.mark.parametrize(
    ("tz", "before", "after"),
    [
        # EU spring forward Sun 29 Mar 2026: Fri 27 09:00 CET = 08:00 UTC, Mon 30 09:00 CEST
        # = 07:00 UTC.
        ("Europe/Berlin", utc(2026, 3, 27, 8, 0), utc(2026, 3, 30, 7, 0)),
        # EU fall back Sun 25 Oct 2026: Fri 23 09:00 CEST = 07:00 UTC, Mon 26 09:00 CET = 08:00.
        ("Europe/Berlin", utc(2026, 10, 23, 7, 0), utc(2026, 10, 26, 8, 0)),
        # US spring forward Sun 8 Mar 2026: Fri 6 09:00 EST = 14:00 UTC, Mon 9 09:00 EDT = 13:00.
        ("America/New_York", utc(2026, 3, 6, 14, 0), utc(2026, 3, 9, 13, 0)),
        # US fall back Sun 1 Nov 2026: Fri 30 Oct 09:00 EDT = 13:00 UTC, Mon 2 Nov 09:00 EST
        # = 14:00 UTC.
        ("America/New_York", utc(2026, 10, 30, 13, 0), utc(2026, 11, 2, 14, 0)),
    ],
)
def test_local_working_hours_hold_across_dst(tz: str, before: datetime, after: datetime) -> None:
    r = rules(tz, horizon_days=5)
    slots = free_slots(r, [], before - timedelta(hours=1))
    firsts: dict[object, datetime] = {}
    for s in slots:
        firsts.setdefault(s.date(), s)
    assert before in slots and after in slots
    assert firsts[before.date()] == before and firsts[after.date()] == after


def test_weekend_night_hours_skip_the_missing_hour_and_take_the_repeated_once() -> None:
    # 02:00-04:00 Berlin on the switch Sundays, 30-minute slots without buffer.
    r = rules("Europe/Berlin", "sun 02:00-04:00", slot_minutes=30, buffer_minutes=0,
              horizon_days=2)  # fmt: skip
    spring = free_slots(r, [], utc(2026, 3, 28, 12, 0))
    # 02:00 and 02:30 do not exist on 29 Mar; 03:00 and 03:30 CEST = 01:00 and 01:30 UTC.
    assert spring == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)]
    autumn = free_slots(r, [], utc(2026, 10, 24, 12, 0))
    # 02:00 and 02:30 happen twice on 25 Oct: the first (CEST, 00:00/00:30 UTC) is used;
    # 03:00, 03:30 CET = 02:00, 02:30 UTC.
    assert autumn == [utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30),
                      utc(2026, 10, 25, 2, 0), utc(2026, 10, 25, 2, 30)]  # fmt: skip


def test_candidate_and_interviewer_in_different_zones_between_the_switches() -> None:
    # 10 Mar 2026: New York already on EDT (-4), Berlin still on CET (+1): 5 hours apart,
    # not the usual 6. 15:00 UTC = 11:00 New York = 16:00 Berlin.
    text = describe_slot(utc(2026, 3, 10, 15, 0), "America/New_York", "Europe/Berlin", 45)
    assert text == (
        "Tue 10 Mar, 11:00–11:45 your time (America/New_York) · 16:00–16:45 for the "
        "interviewer (Europe/Berlin)"
    )
    # After 29 Mar both are on summer time: 6 hours apart again.
    text = describe_slot(utc(2026, 3, 31, 15, 0), "America/New_York", "Europe/Berlin", 45)
    assert "11:00–11:45 your time" in text and "17:00–17:45 for the interviewer" in text
    # Same zone: one time only.
    assert describe_slot(utc(2026, 3, 31, 15, 0), "Europe/Berlin", "Europe/Berlin", 45) == (
        "Tue 31 Mar, 17:00–17:45 (Europe/Berlin)"
    )


def test_interviewer_date_shown_when_it_differs() -> None:
    # 01:00 UTC Wed = 20:00 Tue in New York (EST) and 02:00 Wed in Berlin.
    text = describe_slot(utc(2026, 11, 25, 1, 0), "America/New_York", "Europe/Berlin", 45)
    assert text.startswith("Tue 24 Nov, 20:00–20:45 your time")
    assert "Wed 25 Nov, 02:00–02:45 for the interviewer" in text


# ------------------------------------------------------------------ time zones
@pytest.mark.parametrize(
    ("text", "zone"),
    [("Europe/Berlin", "Europe/Berlin"), ("europe/berlin", "Europe/Berlin"),
     ("Berlin", "Europe/Berlin"), ("new york", "America/New_York"), ("UTC", "UTC"),
     ("London", "Europe/London")],
)  # fmt: skip
def test_parse_timezone(text: str, zone: str) -> None:
    assert parse_timezone(text).zone == zone


def test_parse_timezone_ambiguous_and_nonsense() -> None:
    ist = parse_timezone("IST")
    assert ist.zone is None and len(ist.choices) >= 2 and "Asia/Kolkata" in ist.choices
    for junk in ("", "blah", "x" * 5000, "'; DROP TABLE x; --", "🙂"):
        match = parse_timezone(junk)
        assert match.zone is None and match.message


def test_guess_timezone() -> None:
    assert guess_timezone("web:abc", "Europe/Paris") == "Europe/Paris"
    assert guess_timezone("web:abc", "Nope/Zone") is None
    assert guess_timezone("voice:+4930123456") == "Europe/Berlin"
    assert guess_timezone("telegram:42") is None


# ------------------------------------------------------------------ proposals
NOW = utc(2026, 11, 23, 8, 0)  # Monday 09:00 in Berlin


def test_next_tuesday_after_3pm() -> None:
    p = parse_proposal("next Tuesday after 3pm", "Europe/Berlin", NOW)
    assert p.kind == "window" and not p.exact
    assert p.start == utc(2026, 11, 24, 14, 0)  # Tue 24 Nov 15:00 Berlin
    assert p.end is not None and p.end.date() == datetime(2026, 11, 24).date()


@pytest.mark.parametrize(
    ("text", "start", "exact"),
    [
        ("tomorrow morning", utc(2026, 11, 24, 7, 0), False),
        ("Friday at 10", utc(2026, 11, 27, 9, 0), True),
        ("friday 10am", utc(2026, 11, 27, 9, 0), True),
        ("wed between 2 and 4pm", utc(2026, 11, 25, 13, 0), False),
        ("24 Nov 14:00", utc(2026, 11, 24, 13, 0), True),
        ("2026-11-26 14:00", utc(2026, 11, 26, 13, 0), True),
    ],
)
def test_proposals_in_words(text: str, start: datetime, exact: bool) -> None:
    p = parse_proposal(text, "Europe/Berlin", NOW)
    assert (p.kind, p.start, p.exact) == ("window", start, exact)


def test_next_week_is_monday_to_sunday() -> None:
    p = parse_proposal("next week", "Europe/Berlin", NOW)
    assert p.kind == "window" and p.start == utc(2026, 11, 29, 23, 0)  # Mon 30 Nov 00:00
    assert p.end is not None and p.end.astimezone(UTC).date().isoformat() == "2026-12-06"


@pytest.mark.parametrize("text", ["yesterday", "last Monday", "today at 8am", "1/1/2020 10:00"])
def test_past_times(text: str) -> None:
    assert parse_proposal(text, "Europe/Berlin", NOW).kind == "past"


def test_ambiguous_numeric_date() -> None:
    p = parse_proposal("3/4 at 2pm", "Europe/Berlin", NOW)
    assert p.kind == "ambiguous" and len(p.options) == 2
    assert any("April" in o for o in p.options) and any("March" in o for o in p.options)


@pytest.mark.parametrize(
    "text", ["", "blorp", "x" * 10_000, "🙂" * 50, "'; DROP TABLE bookings; --", "99/99"]
)
def test_unclear_input_never_raises(text: str) -> None:
    assert parse_proposal(text, "Europe/Berlin", NOW).kind == "unclear"
