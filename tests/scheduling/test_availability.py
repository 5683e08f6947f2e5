"""Working hours and the free-slot grid, including both daylight-saving switches in the EU
(Europe/Berlin, Europe/London) and the US (America/New_York) in 2026.

Offsets used in the hand calculations below:
  Europe/Berlin     CET  = UTC+1 (winter), CEST = UTC+2 (summer, 29 Mar - 25 Oct 2026)
  Europe/London     GMT  = UTC+0,          BST  = UTC+1 (same dates as Berlin)
  America/New_York  EST  = UTC-5,          EDT  = UTC-4 (8 Mar - 1 Nov 2026)
EU clocks change at 01:00 UTC; US clocks at 02:00 local.
"""

from __future__ import annotations

import time as timer
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling.availability import (
    END_OF_DAY,
    SlotRules,
    WorkingHours,
    free_slots,
    grid_starts,
    is_grid_slot,
    slot_interval,
)
from scheduling.intervals import Interval


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def rules(tz: str, hours: str = "mon-fri 09:00-17:00", **kw: int) -> SlotRules:
    settings = {"slot_minutes": 45, "buffer_minutes": 15, "min_notice_minutes": 0,
                "horizon_days": 14, **kw}  # fmt: skip
    return SlotRules(tz, WorkingHours.parse(hours), **settings)


NINE_TO_FIVE = ((time(9), time(17)),)


# ------------------------------------------------------------------ working hours
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon-fri 09:00-17:00", {d: NINE_TO_FIVE for d in range(5)}),
        ("Monday-Friday 9-17", {d: NINE_TO_FIVE for d in range(5)}),
        ("weekdays 9-17", {d: NINE_TO_FIVE for d in range(5)}),
        ("mon \u2013 fri  9 - 17", {d: NINE_TO_FIVE for d in range(5)}),
        (
            "mon-thu 9-17; fri 9:00-13:00",
            {**{d: NINE_TO_FIVE for d in range(4)}, 4: ((time(9), time(13)),)},
        ),
        (
            "mon,wed 10:00-12:00 14:00-18:00",
            {d: ((time(10), time(12)), (time(14), time(18))) for d in (0, 2)},
        ),
        # Windows given out of order, and a day named twice, are sorted into one day.
        ("tue 14-16\ntue 9-12", {1: ((time(9), time(12)), (time(14), time(16)))}),
        # A range may wrap over the weekend.
        ("fri-mon 10-12", {d: ((time(10), time(12)),) for d in (4, 5, 6, 0)}),
        ("sat 18:00-24:00", {5: ((time(18), END_OF_DAY),)}),
        ("daily 08:30-09:15", {d: ((time(8, 30), time(9, 15)),) for d in range(7)}),
    ],
)
def test_parse_working_hours(text: str, expected: dict[int, object]) -> None:
    hours = WorkingHours.parse(text)
    assert hours.days == expected
    assert WorkingHours.parse(str(hours)) == hours
    assert WorkingHours.parse(hours.compact()) == hours
    assert WorkingHours.from_json(hours.to_json()) == hours


def test_text_and_json_forms() -> None:
    hours = WorkingHours.parse("mon-thu 9-17; fri 09:00-13:00 14:00-15:30; sun 20-24")
    assert str(hours) == (
        "mon 09:00-17:00; tue 09:00-17:00; wed 09:00-17:00; thu 09:00-17:00; "
        "fri 09:00-13:00 14:00-15:30; sun 20:00-24:00"
    )
    assert hours.compact() == "mon-thu 09:00-17:00; fri 09:00-13:00 14:00-15:30; sun 20:00-24:00"
    assert hours.to_json() == {
        "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
        "thu": [["09:00", "17:00"]], "fri": [["09:00", "13:00"], ["14:00", "15:30"]],
        "sun": [["20:00", "24:00"]],
    }  # fmt: skip
    assert hours.windows(5) == () and hours.windows(6) == ((time(20), END_OF_DAY),)
    assert len({hours, WorkingHours.parse(hours.compact())}) == 1  # hashable, equal


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no working hours"),
        ("   \n ; ", "no working hours"),
        ("mon", "times are missing"),
        ("funday 9-17", "unknown day 'funday'"),
        ("mon-xyz 9-17", "unknown day 'xyz'"),
        ("mon 17-9", "the end must be after the start"),
        ("mon 9-9", "the end must be after the start"),
        ("mon 09:00-12:00 11:00-13:00", "overlap on mon"),
        ("mon-fri 9-17; wed 16-18", "overlap on wed"),
        ("mon 25:00-26:00", "not a time of day"),
        ("mon 9:60-10", "not a time of day"),
        ("mon 24:00-24:30", "not a time of day"),
        ("mon 9to5", "not a time range"),
        ("mon 9-17 and more", "not a time range"),
        ("9-17", "can't read"),
        ("x" * 3000, "too long"),
        ("'; DROP TABLE interviewers; --", "can't read"),
    ],
)
def test_bad_working_hours_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingHours.parse(text)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"funday": [["09:00", "17:00"]]},
        {"mon": "09:00-17:00"},
        {"mon": [["09:00"]]},
        {"mon": [["17:00", "09:00"]]},
        {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
        {"mon": [["9am", "5pm"]]},
        ["mon", "09:00", "17:00"],
    ],
)
def test_bad_json_is_refused(data: object) -> None:
    with pytest.raises(ValueError):
        WorkingHours.from_json(data)  # type: ignore[arg-type]


def test_constructor_checks_too() -> None:
    with pytest.raises(ValueError, match="weekday"):
        WorkingHours({7: ((time(9), time(17)),)})
    with pytest.raises(ValueError, match="end must be after"):
        WorkingHours({0: ((time(17), time(9)),)})
    assert WorkingHours({2: ((time(14), time(16)), (time(9), time(12)))}).days == {
        2: ((time(9), time(12)), (time(14), time(16)))
    }


def test_slot_rules_are_checked() -> None:
    hours = WorkingHours.parse("mon 9-17")
    with pytest.raises(ValueError, match="time zone"):
        SlotRules("Mars/Olympus_Mons", hours)
    with pytest.raises(ValueError, match="slot length"):
        SlotRules("UTC", hours, slot_minutes=0)
    with pytest.raises(ValueError, match="negative"):
        SlotRules("UTC", hours, buffer_minutes=-5)


# ------------------------------------------------------------------ the grid
def test_grid_of_a_winter_day_in_berlin() -> None:
    # Mon 23 Nov 2026, CET (+1): 09:00, 10:00 … 16:00 local (16:00 + 45 min <= 17:00, and the
    # next start 17:00 would end after 17:00) = 08:00 … 15:00 UTC.
    r = rules("Europe/Berlin", horizon_days=1)
    assert free_slots(r, [], utc(2026, 11, 23, 0, 0)) == [
        utc(2026, 11, 23, h, 0) for h in range(8, 16)
    ]


def test_grid_step_is_slot_plus_buffer_and_restarts_per_window() -> None:
    # 30-minute slots + 10-minute buffer: a start every 40 minutes from 09:00; the last start
    # must end by 17:00, i.e. start <= 16:30: 09:00 + 40 min * k <= 16:30 -> k <= 11, so 12
    # starts, the last 16:20 local = 15:20 UTC.
    r = rules("Europe/Berlin", "mon 09:00-17:00", slot_minutes=30, buffer_minutes=10,
              horizon_days=1)  # fmt: skip
    slots = free_slots(r, [], utc(2026, 11, 23, 0, 0))
    assert len(slots) == 12
    assert slots[0] == utc(2026, 11, 23, 8, 0) and slots[-1] == utc(2026, 11, 23, 15, 20)
    # Two windows: 09:00, 10:00, 11:00 (ends 11:45 <= 12:00) then 13:00, 14:00 (ends 14:45).
    r = rules("Europe/Berlin", "mon 09:00-12:00 13:00-15:00", horizon_days=1)
    local = [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")
             for s in free_slots(r, [], utc(2026, 11, 23, 0, 0))]  # fmt: skip
    assert local == ["09:00", "10:00", "11:00", "13:00", "14:00"]


def test_busy_times_and_buffers() -> None:
    r = rules("Europe/Berlin", horizon_days=1)
    now = utc(2026, 11, 23, 0, 0)
    # A meeting 10:50-11:10 UTC blocks the 10:00 UTC slot (with its buffer it runs to 11:00)
    # and the 11:00 UTC slot (its buffer starts 10:45).
    busy = [Interval(utc(2026, 11, 23, 10, 50), utc(2026, 11, 23, 11, 10))]
    slots = free_slots(r, busy, now)
    assert utc(2026, 11, 23, 10, 0) not in slots and utc(2026, 11, 23, 11, 0) not in slots
    assert utc(2026, 11, 23, 9, 0) in slots and utc(2026, 11, 23, 12, 0) in slots
    # Touching the buffer is fine: busy until 08:45 UTC leaves the 09:00 UTC slot (buffer
    # from 08:45) free; one minute more blocks it.
    touching = [Interval(utc(2026, 11, 23, 8, 0), utc(2026, 11, 23, 8, 45))]
    assert utc(2026, 11, 23, 9, 0) in free_slots(r, touching, now)
    one_more = [Interval(utc(2026, 11, 23, 8, 0), utc(2026, 11, 23, 8, 46))]
    assert utc(2026, 11, 23, 9, 0) not in free_slots(r, one_more, now)
    # Busy after the slot: the slot 09:00-09:45 UTC needs 09:45-10:00 UTC free as well.
    after = [Interval(utc(2026, 11, 23, 9, 59), utc(2026, 11, 23, 10, 0))]
    assert utc(2026, 11, 23, 9, 0) not in free_slots(r, after, now)
    # Overlapping, unsorted busy times (in other zones) are merged.
    ny = ZoneInfo("America/New_York")
    messy = [
        Interval(datetime(2026, 11, 23, 8, 0, tzinfo=ny), datetime(2026, 11, 23, 9, 0, tzinfo=ny)),
        Interval(utc(2026, 11, 23, 8, 0), utc(2026, 11, 23, 9, 30)),
        Interval(utc(2026, 11, 23, 9, 0), utc(2026, 11, 23, 9, 10)),
    ]
    # Merged: 08:00-09:30 UTC and 08:00-09:00 New York (EST) = 13:00-14:00 UTC.
    # 08:00, 09:00 UTC blocked; 10:00 (buffer from 09:45) free; 12:00 (buffered end 13:00,
    # touching) free; 13:00 blocked; 14:00 (buffer from 13:45) blocked; 15:00 free.
    slots = free_slots(r, messy, now)
    assert slots == [utc(2026, 11, 23, h, 0) for h in (10, 11, 12, 15)]


def test_notice_horizon_filter_and_limit() -> None:
    r = rules("Europe/Berlin", min_notice_minutes=720, horizon_days=3)
    now = utc(2026, 11, 23, 8, 0)  # Mon 09:00 Berlin
    slots = free_slots(r, [], now)
    # 12 h notice -> from 20:00 UTC Monday: the first slot is Tue 09:00 Berlin = 08:00 UTC.
    assert slots[0] == utc(2026, 11, 24, 8, 0)
    # Horizon: before Thu 26 Nov 08:00 UTC, so Wed's 8 slots + Tue's 8 = 16.
    assert len(slots) == 16 and slots[-1] == utc(2026, 11, 25, 15, 0)
    assert slots == sorted(set(slots))
    within = free_slots(r, [], now, start=utc(2026, 11, 25, 10, 0), end=utc(2026, 11, 25, 12, 0))
    assert within == [utc(2026, 11, 25, 10, 0), utc(2026, 11, 25, 11, 0)]
    assert free_slots(r, [], now, limit=3) == slots[:3]
    assert free_slots(r, [], now, limit=0) == []
    assert free_slots(r, [], now, start=utc(2026, 12, 1, 0, 0)) == []  # beyond the horizon
    with pytest.raises(ValueError, match="naive"):
        free_slots(r, [], datetime(2026, 11, 23, 8, 0))


def test_many_busy_intervals_stay_fast() -> None:
    r = rules("Europe/Berlin", "daily 07:00-22:00", slot_minutes=20, buffer_minutes=5,
              horizon_days=30)  # fmt: skip
    now = utc(2026, 11, 1, 0, 0)
    busy = [
        Interval(now + timedelta(minutes=37 * i), now + timedelta(minutes=37 * i + 7))
        for i in range(1200)
    ]
    began = timer.perf_counter()
    for _ in range(5):
        slots = free_slots(r, busy, now)
    assert (timer.perf_counter() - began) / 5 < 0.1
    assert slots and all(not is_grid_slot(r, s + timedelta(minutes=1)) for s in slots[:20])


def test_slot_interval_and_grid_membership() -> None:
    r = rules("Europe/Berlin", horizon_days=1)
    iv = slot_interval(r, utc(2026, 11, 23, 9, 0))
    assert (iv.start, iv.end) == (utc(2026, 11, 23, 9, 0), utc(2026, 11, 23, 9, 45))
    assert is_grid_slot(r, utc(2026, 11, 23, 8, 0))  # 09:00 Berlin
    assert not is_grid_slot(r, utc(2026, 11, 23, 8, 30))  # 09:30: between grid points
    assert not is_grid_slot(r, utc(2026, 11, 23, 16, 0))  # 17:00: would end after hours
    assert not is_grid_slot(r, utc(2026, 11, 28, 8, 0))  # Saturday
    assert not is_grid_slot(r, utc(2026, 11, 23, 8, 0, 1))  # a second off
    assert grid_starts(r, datetime(2026, 11, 23).date())[0] == utc(2026, 11, 23, 8, 0)


# ------------------------------------------------------------------ daylight saving
@pytest.mark.parametrize(
    ("tz", "days"),
    [
        # US spring forward, Sun 8 Mar 2026 02:00 EST -> 03:00 EDT.
        # Sat 7 Mar 09:00/10:00 EST = 14:00/15:00 UTC; Sun 8 and Mon 9 09:00/10:00 EDT =
        # 13:00/14:00 UTC.
        ("America/New_York", [utc(2026, 3, 7, 14), utc(2026, 3, 7, 15), utc(2026, 3, 8, 13),
                              utc(2026, 3, 8, 14), utc(2026, 3, 9, 13), utc(2026, 3, 9, 14)]),
        # US fall back, Sun 1 Nov 2026 02:00 EDT -> 01:00 EST.
        # Sat 31 Oct 09:00/10:00 EDT = 13:00/14:00 UTC; Sun 1 and Mon 2 Nov EST = 14:00/15:00.
        ("America/New_York", [utc(2026, 10, 31, 13), utc(2026, 10, 31, 14), utc(2026, 11, 1, 14),
                              utc(2026, 11, 1, 15), utc(2026, 11, 2, 14), utc(2026, 11, 2, 15)]),
        # EU spring forward, Sun 29 Mar 2026 (01:00 UTC).
        # Berlin: Sat 28 09:00/10:00 CET = 08:00/09:00 UTC; Sun 29, Mon 30 CEST = 07:00/08:00.
        ("Europe/Berlin", [utc(2026, 3, 28, 8), utc(2026, 3, 28, 9), utc(2026, 3, 29, 7),
                           utc(2026, 3, 29, 8), utc(2026, 3, 30, 7), utc(2026, 3, 30, 8)]),
        # London: Sat 28 09:00/10:00 GMT = 09:00/10:00 UTC; Sun 29, Mon 30 BST = 08:00/09:00.
        ("Europe/London", [utc(2026, 3, 28, 9), utc(2026, 3, 28, 10), utc(2026, 3, 29, 8),
                           utc(2026, 3, 29, 9), utc(2026, 3, 30, 8), utc(2026, 3, 30, 9)]),
        # EU fall back, Sun 25 Oct 2026 (01:00 UTC).
        # Berlin: Sat 24 09:00/10:00 CEST = 07:00/08:00 UTC; Sun 25, Mon 26 CET = 08:00/09:00.
        ("Europe/Berlin", [utc(2026, 10, 24, 7), utc(2026, 10, 24, 8), utc(2026, 10, 25, 8),
                           utc(2026, 10, 25, 9), utc(2026, 10, 26, 8), utc(2026, 10, 26, 9)]),
        # London: Sat 24 09:00/10:00 BST = 08:00/09:00 UTC; Sun 25, Mon 26 GMT = 09:00/10:00.
        ("Europe/London", [utc(2026, 10, 24, 8), utc(2026, 10, 24, 9), utc(2026, 10, 25, 9),
                           utc(2026, 10, 25, 10), utc(2026, 10, 26, 9), utc(2026, 10, 26, 10)]),
    ],
)  # fmt: skip
def test_wall_clock_slots_across_the_switch(tz: str, days: list[datetime]) -> None:
    # Daily 09:00-11:00, 45 + 15 minutes: 09:00 and 10:00 local every day, whatever the offset.
    r = rules(tz, "daily 09:00-11:00", horizon_days=3)
    slots = free_slots(r, [], days[0] - timedelta(hours=1))
    assert slots == days
    zone = ZoneInfo(tz)
    assert {s.astimezone(zone).strftime("%H:%M") for s in slots} == {"09:00", "10:00"}
    assert all(is_grid_slot(r, s) for s in slots)


def test_a_fortnight_of_office_hours_over_the_eu_switch() -> None:
    # Mon 23 Mar - Fri 3 Apr 2026 in Berlin: ten working days of 8 slots; the first slot is
    # 09:00 CET = 08:00 UTC until Fri 27 Mar, then 09:00 CEST = 07:00 UTC from Mon 30 Mar.
    r = rules("Europe/Berlin", horizon_days=14)
    slots = free_slots(r, [], utc(2026, 3, 23, 0, 0))
    assert len(slots) == 80
    berlin = ZoneInfo("Europe/Berlin")
    assert {s.astimezone(berlin).strftime("%H:%M") for s in slots} == {
        f"{h:02d}:00" for h in range(9, 17)
    }
    firsts: dict[object, datetime] = {}
    for s in slots:
        firsts.setdefault(s.astimezone(berlin).date(), s)
    assert [f.hour for f in firsts.values()] == [8] * 5 + [7] * 5


@pytest.mark.parametrize(
    ("tz", "day_hours", "now", "expected"),
    [
        # New York, Sun 8 Mar: 02:00-02:59 does not exist. Grid 01:00 … 03:30 (30 min, no
        # buffer): 01:00, 01:30 EST = 06:00, 06:30 UTC; 02:00, 02:30 skipped; 03:00, 03:30
        # EDT = 07:00, 07:30 UTC.
        ("America/New_York", "sun 01:00-04:00", utc(2026, 3, 7, 12),
         [utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 0),
          utc(2026, 3, 8, 7, 30)]),
        # New York, Sun 1 Nov: 01:00-01:59 happens twice; the first (EDT) is used.
        # 00:00, 00:30 EDT = 04:00, 04:30 UTC; 01:00, 01:30 EDT = 05:00, 05:30 UTC (not the EST
        # repeats at 06:00, 06:30 UTC); 02:00, 02:30 EST = 07:00, 07:30 UTC.
        ("America/New_York", "sun 00:00-03:00", utc(2026, 10, 31, 12),
         [utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 5, 0),
          utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7, 0), utc(2026, 11, 1, 7, 30)]),
        # Berlin, Sun 29 Mar: 02:00-02:59 does not exist. 03:00, 03:30 CEST = 01:00, 01:30 UTC.
        ("Europe/Berlin", "sun 02:00-04:00", utc(2026, 3, 28, 12),
         [utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)]),
        # Berlin, Sun 25 Oct: 02:00-02:59 twice; first (CEST) = 00:00, 00:30 UTC; then 03:00,
        # 03:30 CET = 02:00, 02:30 UTC.
        ("Europe/Berlin", "sun 02:00-04:00", utc(2026, 10, 24, 12),
         [utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 0),
          utc(2026, 10, 25, 2, 30)]),
        # London, Sun 29 Mar: 01:00-01:59 does not exist. 00:00, 00:30 GMT = 00:00, 00:30 UTC;
        # 02:00, 02:30 BST = 01:00, 01:30 UTC.
        ("Europe/London", "sun 00:00-03:00", utc(2026, 3, 28, 12),
         [utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 0),
          utc(2026, 3, 29, 1, 30)]),
        # London, Sun 25 Oct: 01:00-01:59 twice. 00:00, 00:30 BST = 23:00, 23:30 UTC Sat;
        # 01:00, 01:30 BST (first) = 00:00, 00:30 UTC; 02:00, 02:30 GMT = 02:00, 02:30 UTC.
        ("Europe/London", "sun 00:00-03:00", utc(2026, 10, 24, 12),
         [utc(2026, 10, 24, 23, 0), utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0, 0),
          utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 0), utc(2026, 10, 25, 2, 30)]),
    ],
)  # fmt: skip
def test_missing_hour_skipped_repeated_hour_once(
    tz: str, day_hours: str, now: datetime, expected: list[datetime]
) -> None:
    r = rules(tz, day_hours, slot_minutes=30, buffer_minutes=0, horizon_days=2)
    assert free_slots(r, [], now) == expected
    for slot in expected:
        assert is_grid_slot(r, slot)


def test_repeated_hour_second_occurrence_is_not_on_the_grid() -> None:
    r = rules("America/New_York", "sun 00:00-03:00", slot_minutes=30, buffer_minutes=0)
    # 06:00 UTC on 1 Nov 2026 is 01:00 EST, the second 01:00: not offered, not bookable.
    assert not is_grid_slot(r, utc(2026, 11, 1, 6, 0))
    assert is_grid_slot(r, utc(2026, 11, 1, 5, 0))  # 01:00 EDT, the first
    # A slot over the switch lasts its real length: 01:30 EDT + 45 min = 01:15 EST.
    iv = slot_interval(rules("America/New_York"), utc(2026, 11, 1, 5, 30))
    assert iv.end - iv.start == timedelta(minutes=45)


def test_busy_time_given_in_local_summer_time_blocks_the_right_slot() -> None:
    # A busy event at 10:00-11:00 CEST on Mon 30 Mar (the first weekday after the switch) is
    # 08:00-09:00 UTC. The 09:00 CEST slot (07:00 UTC, buffered end 08:00) only touches it
    # and stays free; 10:00 CEST (08:00 UTC) is blocked; 11:00 CEST (09:00 UTC, buffer from
    # 08:45) is blocked through its buffer; 12:00 CEST onwards is free.
    berlin = ZoneInfo("Europe/Berlin")
    r = rules("Europe/Berlin", horizon_days=1)
    busy = [Interval(datetime(2026, 3, 30, 10, tzinfo=berlin),
                     datetime(2026, 3, 30, 11, tzinfo=berlin))]  # fmt: skip
    slots = free_slots(r, busy, utc(2026, 3, 29, 23, 0))
    local = [s.astimezone(berlin).strftime("%H:%M") for s in slots]
    assert local == ["09:00", "12:00", "13:00", "14:00", "15:00", "16:00"]
