"""Time zones people type, guesses from hints and phone numbers, and slot descriptions in two
zones around the daylight-saving switches.

Offsets used below: Europe/Berlin CET +1 / CEST +2 (29 Mar - 25 Oct 2026); Europe/London
GMT 0 / BST +1 (same dates); America/New_York EST -5 / EDT -4 (8 Mar - 1 Nov 2026).
Between 8 and 29 March, and between 25 October and 1 November, only one side has switched,
so New York and Berlin are 5 hours apart instead of 6 (New York and London 4 instead of 5).
"""

from __future__ import annotations

import locale
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling.timezones import (
    ZoneMatch,
    canonical_zone,
    describe_slot,
    guess_timezone,
    parse_timezone,
    zone_name_ok,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ------------------------------------------------------------------ parse_timezone
@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("  EUROPE/BERLIN ", "Europe/Berlin"),
        ("america/new_york", "America/New_York"),
        ("America/New York", "America/New_York"),
        ("America / Los_Angeles", "America/Los_Angeles"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("New York City", "America/New_York"),
        ("São Paulo", "America/Sao_Paulo"),
        ("Sao Paulo", "America/Sao_Paulo"),
        ("port-au-prince", "America/Port-au-Prince"),
        ("Ho Chi Minh", "Asia/Ho_Chi_Minh"),
        ("Munich", "Europe/Berlin"),
        ("San Francisco", "America/Los_Angeles"),
        ("Mumbai", "Asia/Kolkata"),
        ("I'm in London", "Europe/London"),
        ("i am based in Paris", "Europe/Paris"),
        ("Berlin time", "Europe/Berlin"),
        ("Berlin, Germany", "Europe/Berlin"),
        ("Lisbon (Portugal)", "Europe/Lisbon"),
        ("London UK", "Europe/London"),
        ("Germany", "Europe/Berlin"),
        ("Japan", "Asia/Tokyo"),
        ("the Netherlands", "Europe/Amsterdam"),
        ("UK", "Europe/London"),
        ("Iceland", "Atlantic/Reykjavik"),
        # Old aliases become the current name.
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("US/Eastern", "America/New_York"),
        ("Kiev", "Europe/Kyiv"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("GMT", "UTC"),
        ("Z", "UTC"),
        ("UTC+0", "UTC"),
        ("+00:00", "UTC"),
        # Abbreviations win over the fixed-offset IANA zones of the same name (EST, MST).
        ("EST", "America/New_York"),
        ("EDT", "America/New_York"),
        ("eastern time", "America/New_York"),
        ("PST", "America/Los_Angeles"),
        ("Pacific", "America/Los_Angeles"),
        ("CET", "Europe/Berlin"),
        ("CEST", "Europe/Berlin"),
        ("Central European Time", "Europe/Berlin"),
        ("JST", "Asia/Tokyo"),
        ("AEDT", "Australia/Sydney"),
    ],
)
def test_clear_answers_give_one_zone(text: str, zone: str) -> None:
    match = parse_timezone(text)
    assert match == ZoneMatch(zone, [], None)
    assert zone_name_ok(match.zone)


@pytest.mark.parametrize(
    ("text", "zone", "hours"),
    [
        # The Etc/GMT zones carry POSIX signs: UTC+2 is "Etc/GMT-2", two hours AHEAD of UTC.
        ("UTC+2", "Etc/GMT-2", 2),
        ("utc +2", "Etc/GMT-2", 2),
        ("GMT-5", "Etc/GMT+5", -5),
        ("UTC\u22125", "Etc/GMT+5", -5),  # a real minus sign
        ("+03:00", "Etc/GMT-3", 3),
        ("-0800", "Etc/GMT+8", -8),
        ("UTC+14", "Etc/GMT-14", 14),
        ("UTC-12", "Etc/GMT+12", -12),
    ],
)
def test_whole_hour_offsets(text: str, zone: str, hours: int) -> None:
    match = parse_timezone(text)
    assert match.zone == zone
    assert utc(2026, 7, 1).astimezone(ZoneInfo(zone)).utcoffset() == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("text", "choices"),
    [
        ("+05:30", ["Asia/Kolkata", "Asia/Colombo"]),
        ("UTC+0530", ["Asia/Kolkata", "Asia/Colombo"]),
        ("UTC+5:45", ["Asia/Kathmandu"]),
        ("GMT-3:30", ["America/St_Johns"]),
        ("UTC+9:30", ["Australia/Adelaide", "Australia/Darwin"]),
    ],
)
def test_part_hour_offsets_offer_the_places_that_use_them(text: str, choices: list[str]) -> None:
    match = parse_timezone(text)
    assert match.zone is None and match.choices == choices
    assert match.message and "no fixed" in match.message
    # Every choice really has that offset at least part of the year.
    sign = -1 if "-" in text else 1
    digits = text.split("+")[-1].split("-")[-1].replace(":", "")
    wanted = sign * timedelta(hours=int(digits[:-2]), minutes=int(digits[-2:]))
    for zone in choices:
        offsets = {utc(2026, m, 15).astimezone(ZoneInfo(zone)).utcoffset() for m in (1, 7)}
        assert wanted in offsets, zone


@pytest.mark.parametrize(
    ("text", "choices"),
    [
        ("IST", ["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"]),
        ("ist", ["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"]),
        ("CST", ["America/Chicago", "Asia/Shanghai", "America/Havana"]),
        ("MST", ["America/Denver", "America/Phoenix"]),
        ("BST", ["Europe/London", "Asia/Dhaka"]),
        ("USA", ["America/New_York", "America/Chicago", "America/Denver",
                 "America/Los_Angeles", "America/Phoenix", "America/Anchorage",
                 "Pacific/Honolulu"]),
    ],
)  # fmt: skip
def test_ambiguous_answers_give_choices(text: str, choices: list[str]) -> None:
    match = parse_timezone(text)
    assert match.zone is None and match.choices == choices and match.message
    assert all(zone_name_ok(c) for c in choices)


def test_a_country_with_one_clock_but_several_zone_names_is_clear() -> None:
    # Germany has Europe/Berlin and Europe/Busingen in zone.tab; both keep the same time.
    assert parse_timezone("Germany").zone == "Europe/Berlin"
    # Spain has the Canaries an hour behind: a real choice.
    spain = parse_timezone("Spain")
    assert spain.zone is None and spain.choices[0] == "Europe/Madrid"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "blorp", "Atlantis", "x" * 10_000, "🙂🙂🙂", "'; DROP TABLE zones; --",
     "../../etc/passwd", "UTC+25", "UTC+07:30", "+5:61", "\x00\x01", "Etc/GMT-99", "null"],
)  # fmt: skip
def test_nonsense_gives_a_helpful_message(text: str) -> None:
    match = parse_timezone(text)
    assert match.zone is None and match.choices == []
    assert match.message and ("Europe/Berlin" in match.message or "UTC" in match.message)


def test_non_text_never_raises() -> None:
    for value in (None, 42, b"Berlin", ["Berlin"]):
        assert parse_timezone(value).zone is None  # type: ignore[arg-type]


def test_parse_timezone_is_fast() -> None:
    parse_timezone("Berlin")  # builds the indexes once
    began = datetime.now(UTC)
    for text in ("Berlin", "IST", "UTC+5:30", "Germany", "blorp blorp", "x" * 5000) * 50:
        parse_timezone(text)
    assert datetime.now(UTC) - began < timedelta(seconds=1)


# ------------------------------------------------------------------ zone names
@pytest.mark.parametrize(
    ("name", "ok"),
    [("Europe/Berlin", True), ("UTC", True), ("Etc/GMT-2", True), ("America/Argentina/Salta", True),
     ("europe/berlin", False), ("Europe/Nowhere", False), ("", False), ("../etc/passwd", False),
     ("/Europe/Berlin", False), ("Factory", False), ("localtime", False), (None, False),
     (42, False), ("Europe/" + "x" * 80, False)],
)  # fmt: skip
def test_zone_name_ok(name: object, ok: bool) -> None:
    assert zone_name_ok(name) is ok


def test_canonical_zone_keeps_places_and_resolves_aliases() -> None:
    assert canonical_zone("Asia/Calcutta") == "Asia/Kolkata"
    assert canonical_zone("Etc/UTC") == "UTC"
    # tzdata links Amsterdam to Brussels, but a person in Amsterdam should read Amsterdam.
    assert canonical_zone("Europe/Amsterdam") == "Europe/Amsterdam"


# ------------------------------------------------------------------ guesses
@pytest.mark.parametrize(
    ("sender", "hint", "guess"),
    [
        ("web:abc", "Europe/Paris", "Europe/Paris"),
        ("slack:U1", "America/Chicago", "America/Chicago"),
        ("web:abc", "Asia/Calcutta", "Asia/Kolkata"),  # an old browser's name
        ("voice:+4930123456", None, "Europe/Berlin"),  # Germany: one zone
        ("voice:+442071234567", None, "Europe/London"),
        ("voice:+12125551234", None, "America/New_York"),  # +1 212: Manhattan
        ("voice:+919812345678", None, "Asia/Kolkata"),  # phonenumbers says Asia/Calcutta
        ("voice:+4930123456", "America/Chicago", "America/Chicago"),  # the hint wins
        ("voice:+4930123456", "Nope/Zone", "Europe/Berlin"),  # a bad hint is ignored
        ("voice:+18005551234", None, None),  # toll-free: every North American zone
        ("voice:+79121234567", None, None),  # Russian mobile: many zones
        ("voice:+15555555555", None, None),  # unknown to phonenumbers
        ("voice:not-a-number", None, None),
        ("voice:", None, None),
        ("telegram:42", None, None),
        ("web:abc", None, None),
        ("web:abc", "", None),
        ("web:abc", "../../etc/passwd", None),
        ("", None, None),
    ],
)
def test_guess_timezone(sender: str, hint: str | None, guess: str | None) -> None:
    assert guess_timezone(sender, hint) == guess


# ------------------------------------------------------------------ describe_slot
def test_same_zone_shows_one_time() -> None:
    # 08:00 UTC on Tue 24 Nov 2026 = 09:00 CET.
    assert describe_slot(utc(2026, 11, 24, 8, 0), "Europe/Berlin", "Europe/Berlin", 45) == (
        "Tue 24 Nov, 09:00–09:45 (Europe/Berlin)"
    )
    # Paris and Berlin keep the same clock: one time, the candidate's zone named.
    assert describe_slot(utc(2026, 11, 24, 8, 0), "Europe/Paris", "Europe/Berlin", 45) == (
        "Tue 24 Nov, 09:00–09:45 (Europe/Paris)"
    )


@pytest.mark.parametrize(
    ("start", "candidate", "interviewer"),
    [
        # Fri 6 Mar 2026, before the US switch: 14:00 UTC = 09:00 EST = 15:00 CET (6 h apart).
        (utc(2026, 3, 6, 14, 0), "09:00–09:45", "15:00–15:45"),
        # Wed 11 Mar, New York on EDT, Berlin still on CET: 14:00 UTC = 10:00 EDT = 15:00 CET
        # (5 h apart).
        (utc(2026, 3, 11, 14, 0), "10:00–10:45", "15:00–15:45"),
        # Fri 27 Mar, the last weekday before the EU switch: still 5 h apart.
        (utc(2026, 3, 27, 14, 0), "10:00–10:45", "15:00–15:45"),
        # Tue 31 Mar, both on summer time: 14:00 UTC = 10:00 EDT = 16:00 CEST (6 h again).
        (utc(2026, 3, 31, 14, 0), "10:00–10:45", "16:00–16:45"),
        # Tue 27 Oct, Berlin back on CET, New York still on EDT: 10:00 EDT = 15:00 CET (5 h).
        (utc(2026, 10, 27, 14, 0), "10:00–10:45", "15:00–15:45"),
        # Tue 3 Nov, both on winter time: 14:00 UTC = 09:00 EST = 15:00 CET (6 h).
        (utc(2026, 11, 3, 14, 0), "09:00–09:45", "15:00–15:45"),
    ],
)
def test_new_york_candidate_berlin_interviewer_around_the_switches(
    start: datetime, candidate: str, interviewer: str
) -> None:
    text = describe_slot(start, "America/New_York", "Europe/Berlin", 45)
    assert text.endswith(
        f"{candidate} your time (America/New_York) · {interviewer} for the interviewer "
        "(Europe/Berlin)"
    )
    weekday = start.strftime("%a")
    assert text.startswith(f"{weekday} {start.day} {start.strftime('%b')}, ")


def test_full_text_between_the_switches() -> None:
    # Wed 11 Mar 2026 14:00 UTC: 10:00 EDT in New York, 15:00 CET in Berlin.
    assert describe_slot(utc(2026, 3, 11, 14, 0), "America/New_York", "Europe/Berlin", 45) == (
        "Wed 11 Mar, 10:00–10:45 your time (America/New_York) · 15:00–15:45 for the "
        "interviewer (Europe/Berlin)"
    )
    # London and New York: 4 h apart in that week (GMT vs EDT), 5 h the week before.
    assert "10:00–10:45 your time (America/New_York) · 14:00–14:45 for the interviewer" in (
        describe_slot(utc(2026, 3, 11, 14, 0), "America/New_York", "Europe/London", 45)
    )
    assert "09:00–09:45 your time (America/New_York) · 14:00–14:45 for the interviewer" in (
        describe_slot(utc(2026, 3, 6, 14, 0), "America/New_York", "Europe/London", 45)
    )


def test_interviewer_date_shown_when_it_differs() -> None:
    # 01:00 UTC Wed 25 Nov = 20:00 Tue in New York (EST) and 02:00 Wed in Berlin (CET).
    text = describe_slot(utc(2026, 11, 25, 1, 0), "America/New_York", "Europe/Berlin", 45)
    assert text == (
        "Tue 24 Nov, 20:00–20:45 your time (America/New_York) · Wed 25 Nov, 02:00–02:45 for "
        "the interviewer (Europe/Berlin)"
    )


def test_half_hour_zone_and_midnight_crossing() -> None:
    # 04:00 UTC = 09:30 IST (+05:30) = 05:00 CET.
    assert describe_slot(utc(2026, 11, 24, 4, 0), "Asia/Kolkata", "Europe/Berlin", 45) == (
        "Tue 24 Nov, 09:30–10:15 your time (Asia/Kolkata) · 05:00–05:45 for the interviewer "
        "(Europe/Berlin)"
    )
    # A slot over local midnight: 22:30 UTC + 60 min = 23:30-00:30 CET.
    assert describe_slot(utc(2026, 11, 24, 22, 30), "Europe/Berlin", "Europe/Berlin", 60) == (
        "Tue 24 Nov, 23:30–00:30 (Europe/Berlin)"
    )


def test_describe_slot_is_english_whatever_the_locale() -> None:
    before = locale.setlocale(locale.LC_TIME)
    try:
        for name in ("de_DE.UTF-8", "fr_FR.UTF-8", "C.UTF-8", "C"):
            try:
                locale.setlocale(locale.LC_TIME, name)
            except locale.Error:
                continue
            text = describe_slot(utc(2026, 12, 1, 8, 0), "Europe/Berlin", "Europe/Berlin", 45)
            assert text == "Tue 1 Dec, 09:00–09:45 (Europe/Berlin)"
    finally:
        locale.setlocale(locale.LC_TIME, before)


def test_describe_slot_with_a_bad_zone_falls_back_to_utc() -> None:
    assert describe_slot(utc(2026, 11, 24, 8, 0), "Nope/Zone", "UTC", 30) == (
        "Tue 24 Nov, 08:00–08:30 (UTC)"
    )
    with pytest.raises(ValueError, match="naive"):
        describe_slot(datetime(2026, 11, 24, 8, 0), "UTC", "UTC", 30)
