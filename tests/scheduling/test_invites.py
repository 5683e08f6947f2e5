"""Invitation files: what a calendar program receives must parse back to the same event.

Parsed with `icalendar` (the reader most calendar tooling in Python uses) and fed back through
Parley's own busy-time reader, so an invite and a calendar copy agree on when the interview is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest

from scheduling.calendars import busy_from_ical
from scheduling.intervals import Interval
from scheduling.invites import PRODID, event_ics

START = datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # 08:00 UTC
END = START + timedelta(minutes=45)
STAMP = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def invite(**overrides: object) -> bytes:
    args: dict[str, object] = {
        "uid": "b7f3c2a1-booking@parley",
        "sequence": 0,
        "start": START,
        "end": END,
        "summary": "Interview with Acme",
        "description": "Backend Engineer interview at Acme.\nSend /reschedule to change it.",
        "organizer_name": "Ada Lovelace",
        "organizer_email": "ada@acme.example",
        "attendee_email": "cand@example.org",
        "location": "Video call (link follows)",
        "stamp": STAMP,
    }
    args.update(overrides)
    return event_ics(**args)  # type: ignore[arg-type]


def parse(data: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(data)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return cal, events[0]


def test_request_invite_parses_back() -> None:
    data = invite()
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    cal, event = parse(data)
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(cal["PRODID"]) == PRODID == "-//Parley//Scheduling//EN"
    assert str(cal["VERSION"]) == "2.0"
    assert str(event["UID"]) == "b7f3c2a1-booking@parley"
    assert int(event["SEQUENCE"]) == 0
    assert event["DTSTART"].dt == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert event["DTEND"].dt == datetime(2026, 11, 24, 8, 45, tzinfo=UTC)
    assert event["DTSTAMP"].dt == STAMP
    # Written in UTC, no VTIMEZONE needed.
    assert b"DTSTART:20261124T080000Z\r\n" in data
    assert b"DTEND:20261124T084500Z\r\n" in data
    assert not cal.walk("VTIMEZONE")
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Interview with Acme"
    assert str(event["DESCRIPTION"]).startswith("Backend Engineer interview at Acme.\n")
    assert str(event["LOCATION"]) == "Video call (link follows)"
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:ada@acme.example"
    assert organizer.params["CN"] == "Ada Lovelace"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:cand@example.org"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    assert busy_from_ical(data, START - timedelta(days=1), END + timedelta(days=1), "UTC") == [
        Interval(START, END)
    ]


def test_reschedule_keeps_uid_and_raises_sequence() -> None:
    first = parse(invite())[1]
    day = timedelta(days=1)
    moved = parse(invite(sequence=1, start=START + day, end=END + day))[1]
    assert moved["UID"] == first["UID"]
    assert int(moved["SEQUENCE"]) == 1
    assert moved["DTSTART"].dt == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_cancellation() -> None:
    data = invite(method="CANCEL", status="CANCELLED", sequence=2)
    cal, event = parse(data)
    assert str(cal["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 2
    assert str(event["UID"]) == "b7f3c2a1-booking@parley"
    # A CANCEL is always a cancelled event, even if the caller forgot the status.
    assert str(parse(invite(method="cancel"))[1]["STATUS"]) == "CANCELLED"
    # And it blocks nobody's time.
    assert busy_from_ical(data, START - timedelta(days=1), END + timedelta(days=1), "UTC") == []


def test_calendar_copy_has_no_method() -> None:
    data = invite(method=None, attendee_email=None, location=None)
    cal, event = parse(data)
    assert "METHOD" not in cal
    assert "ATTENDEE" not in event
    assert "LOCATION" not in event
    assert str(event["ORGANIZER"]) == "mailto:ada@acme.example"


def test_any_aware_time_is_converted_to_utc() -> None:
    new_york = START.astimezone(ZoneInfo("America/New_York"))
    fixed = START.astimezone(timezone(timedelta(hours=5, minutes=30)))
    for start in (new_york, fixed):
        data = invite(start=start, end=start + timedelta(minutes=45))
        assert b"DTSTART:20261124T080000Z\r\n" in data
    default_stamp = parse(invite(stamp=None))[1]["DTSTAMP"].dt
    assert abs(default_stamp - datetime.now(UTC)) < timedelta(minutes=1)


def test_missing_or_odd_addresses_are_left_out() -> None:
    for organizer, attendee in [
        (None, None),
        ("", ""),
        ("not an address", "two@@example.org"),
        ("evil@example.org\r\nATTENDEE:mailto:x@y.z", "a@b.c;RSVP=TRUE"),
    ]:
        _cal, event = parse(invite(organizer_email=organizer, attendee_email=attendee))
        assert "ORGANIZER" not in event
        assert "ATTENDEE" not in event


def test_hostile_text_cannot_inject_properties() -> None:
    data = invite(
        summary="Interview\r\nATTENDEE:mailto:spy@evil.example\r\nX-HACK:1",
        description="Line one\r\nEND:VEVENT\r\nBEGIN:VEVENT\nUID:other\x00\x07",
        organizer_name='Ada "The Countess"; ROLE=CHAIR:\r\nX-HACK:2',
        location="Room 1\nMETHOD:PUBLISH",
    )
    cal, event = parse(data)
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(event["ATTENDEE"]) == "mailto:cand@example.org"  # one, not a list
    assert "X-HACK" not in event
    assert str(event["SUMMARY"]) == "Interview ATTENDEE:mailto:spy@evil.example X-HACK:1"
    assert "\x00" not in str(event["DESCRIPTION"]) and "\x07" not in str(event["DESCRIPTION"])
    assert str(event["DESCRIPTION"]).startswith("Line one\nEND:VEVENT\n")
    assert event["ORGANIZER"].params["CN"] == "Ada 'The Countess'; ROLE=CHAIR: X-HACK:2"
    assert "ROLE" not in event["ORGANIZER"].params
    lines = data.split(b"\r\n")
    assert not any(line.startswith((b"X-HACK", b"UID:other", b"METHOD:PUBLISH")) for line in lines)
    assert lines.count(b"BEGIN:VEVENT") == 1


def test_bad_arguments_are_refused() -> None:
    naive = datetime(2026, 11, 24, 9, 0)
    for overrides in [
        {"start": naive, "end": naive + timedelta(minutes=45)},
        {"end": START},
        {"end": START - timedelta(minutes=1)},
        {"uid": ""},
        {"uid": "\r\n"},
        {"sequence": -1},
        {"method": "REPLY"},
        {"status": "MAYBE"},
    ]:
        with pytest.raises(ValueError):
            invite(**overrides)
