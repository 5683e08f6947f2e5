"""Busy times from real calendars: a real Radicale CalDAV server and real ICS files / feeds.

The window is the two weeks from Monday 2026-11-23 00:00 UTC; the interviewer is in
Europe/Berlin (UTC+1 in November), so 09:00 Berlin = 08:00 UTC. Every expected interval is
written out in UTC by hand, so a mistake in the time-zone arithmetic cannot cancel itself out.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scheduling import calendars
from scheduling.calendars import (
    CalDavCalendar,
    CalendarUnavailable,
    IcsFeed,
    busy_from_ical,
    can_write,
    open_calendar,
)
from scheduling.intervals import Interval
from scheduling.invites import event_ics
from tests.scheduling.radicale_support import (
    RadicaleServer,
    add_raw_event,
    event_texts,
    event_uids,
    make_calendar,
    running_radicale,
)

BERLIN = "Europe/Berlin"
START = datetime(2026, 11, 23, tzinfo=UTC)
END = START + timedelta(days=14)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def iv(a: datetime, b: datetime) -> Interval:
    return Interval(a, b)


def assert_not_chained(exc: BaseException) -> None:
    """The original error (which may name a full URL) is not attached for tracebacks."""
    assert exc.__cause__ is None
    assert exc.__context__ is None or exc.__suppress_context__


def vcal(*events: str) -> str:
    body = "".join(events)
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Parley tests//EN\r\n"
    return f"{head}{body}END:VCALENDAR\r\n"


def vevent(uid: str, *lines: str) -> str:
    inner = "".join(f"{line}\r\n" for line in lines)
    return f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\n{inner}END:VEVENT\r\n"


BERLIN_TZ = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
    "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"
    "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n"
    "DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
)

# One object per CalDAV resource (a recurring series and its overrides share one).
EVENTS: dict[str, str] = {
    "timed": vcal(
        vevent("timed", "DTSTART:20261124T100000Z", "DTEND:20261124T110000Z", "SUMMARY:Team sync")
    ),
    "allday": vcal(
        vevent(
            "allday", "DTSTART;VALUE=DATE:20261125", "DTEND;VALUE=DATE:20261126", "SUMMARY:Offsite"
        )
    ),
    # Mon+Thu 09:00 Berlin, 6 times from Mon 23 Nov: 23, 26 (EXDATE), 30 (cancelled
    # instance), 3 Dec (moved to 14:00-15:00), 7 Dec (outside the window), 10 Dec.
    "series": (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Parley tests//EN\r\n"
        + BERLIN_TZ
        + vevent(
            "series",
            "DTSTART;TZID=Europe/Berlin:20261123T090000",
            "DTEND;TZID=Europe/Berlin:20261123T100000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,TH;COUNT=6",
            "EXDATE;TZID=Europe/Berlin:20261126T090000",
            "SUMMARY:1:1",
        )
        + vevent(
            "series",
            "RECURRENCE-ID;TZID=Europe/Berlin:20261130T090000",
            "DTSTART;TZID=Europe/Berlin:20261130T090000",
            "DTEND;TZID=Europe/Berlin:20261130T100000",
            "STATUS:CANCELLED",
            "SUMMARY:1:1",
        )
        + vevent(
            "series",
            "RECURRENCE-ID;TZID=Europe/Berlin:20261203T090000",
            "DTSTART;TZID=Europe/Berlin:20261203T140000",
            "DTEND;TZID=Europe/Berlin:20261203T150000",
            "SUMMARY:1:1 (moved)",
        )
        + "END:VCALENDAR\r\n"
    ),
    "transparent": vcal(
        vevent(
            "transparent",
            "DTSTART:20261124T130000Z",
            "DTEND:20261124T140000Z",
            "TRANSP:TRANSPARENT",
            "SUMMARY:Focus time (free)",
        )
    ),
    "cancelled": vcal(
        vevent(
            "cancelled",
            "DTSTART:20261124T150000Z",
            "DTEND:20261124T160000Z",
            "STATUS:CANCELLED",
            "SUMMARY:Called off",
        )
    ),
    "newyork": vcal(
        vevent(
            "newyork",
            "DTSTART;TZID=America/New_York:20261127T090000",
            "DTEND;TZID=America/New_York:20261127T103000",
            "SUMMARY:Call with the NY office",
        )
    ),
    "floating": vcal(
        vevent("floating", "DTSTART:20261126T160000", "DTEND:20261126T170000", "SUMMARY:Dentist")
    ),
    "duration": vcal(
        vevent("duration", "DTSTART:20261201T120000Z", "DURATION:PT90M", "SUMMARY:Lunch talk")
    ),
    "straddles": vcal(
        vevent(
            "straddles",
            "DTSTART:20261122T230000Z",
            "DTEND:20261123T010000Z",
            "SUMMARY:Night deploy",
        )
    ),
    "later": vcal(
        vevent(
            "later",
            "DTSTART:20261220T100000Z",
            "DTEND:20261220T110000Z",
            "SUMMARY:After the window",
        )
    ),
}

EXPECTED = [
    iv(utc(2026, 11, 22, 23), utc(2026, 11, 23, 1)),  # straddles the window start
    iv(utc(2026, 11, 23, 8), utc(2026, 11, 23, 9)),  # series, Mon 23
    iv(utc(2026, 11, 24, 10), utc(2026, 11, 24, 11)),  # timed
    iv(utc(2026, 11, 24, 23), utc(2026, 11, 25, 23)),  # all-day Wed 25 in Berlin
    iv(utc(2026, 11, 26, 15), utc(2026, 11, 26, 16)),  # floating 16:00 Berlin
    iv(utc(2026, 11, 27, 14), utc(2026, 11, 27, 15, 30)),  # 09:00-10:30 New York (EST)
    iv(utc(2026, 12, 1, 12), utc(2026, 12, 1, 13, 30)),  # DURATION
    iv(utc(2026, 12, 3, 13), utc(2026, 12, 3, 14)),  # moved instance, 14:00 Berlin
]


# ----------------------------------------------------------------------------- CalDAV


@pytest.fixture
def work_calendar(radicale_url: str) -> str:
    url = make_calendar(radicale_url, name="Work", cal_id="work")
    for ics in EVENTS.values():
        add_raw_event(url, ics)
    return url


def test_caldav_busy_expands_and_filters_exactly(work_calendar: str) -> None:
    cal = CalDavCalendar(work_calendar, username="alice", password="x")
    assert cal.busy(START, END, BERLIN) == EXPECTED


def test_caldav_all_day_is_the_interviewers_local_day(work_calendar: str) -> None:
    cal = CalDavCalendar(work_calendar, username="alice", password="x")
    tokyo = cal.busy(utc(2026, 11, 25), utc(2026, 11, 25, 12), "Asia/Tokyo")
    # Wed 25 Nov in Tokyo (UTC+9) is 24 Nov 15:00 UTC .. 25 Nov 15:00 UTC; floating 16:00
    # on the 26th is 07:00 UTC there and falls outside this window.
    assert tokyo == [iv(utc(2026, 11, 24, 15), utc(2026, 11, 25, 15))]


def test_caldav_narrow_window_and_empty_window(work_calendar: str) -> None:
    cal = CalDavCalendar(work_calendar, username="alice", password="x")
    assert cal.busy(utc(2026, 11, 24, 10, 30), utc(2026, 11, 24, 10, 45), BERLIN) == [
        iv(utc(2026, 11, 24, 10), utc(2026, 11, 24, 11))
    ]
    # Touching is not overlapping: [11:00, 12:00) is free.
    assert cal.busy(utc(2026, 11, 24, 11), utc(2026, 11, 24, 12), BERLIN) == []
    assert cal.busy(END, START, BERLIN) == []
    with pytest.raises(ValueError):
        cal.busy(START.replace(tzinfo=None), END, BERLIN)
    with pytest.raises(ValueError):
        cal.busy(START, END, "Mars/Olympus_Mons")


def test_caldav_finds_the_calendar_from_the_server_or_principal_url(
    radicale_url: str,
) -> None:
    make_calendar(radicale_url, name="Private", cal_id="private")
    work = make_calendar(radicale_url, name="Work", cal_id="work")
    add_raw_event(work, EVENTS["timed"])
    window = (utc(2026, 11, 24), utc(2026, 11, 25))
    timed = [iv(utc(2026, 11, 24, 10), utc(2026, 11, 24, 11))]

    by_name = CalDavCalendar(radicale_url, username="alice", password="x", calendar_name="work")
    assert by_name.busy(*window, BERLIN) == timed
    principal = CalDavCalendar(
        radicale_url + "alice/", username="alice", password="x", calendar_name="Work"
    )
    assert principal.busy(*window, BERLIN) == timed
    by_segment = CalDavCalendar(
        radicale_url, username="alice", password="x", calendar_name="private"
    )
    assert by_segment.busy(*window, BERLIN) == []
    first = CalDavCalendar(radicale_url, username="alice", password="x")
    assert len(first.busy(*window, BERLIN)) in (0, 1)  # the first calendar, either one

    missing = CalDavCalendar(radicale_url, username="alice", password="x", calendar_name="Gym")
    with pytest.raises(CalendarUnavailable, match="no calendar named 'Gym'"):
        missing.busy(*window, BERLIN)
    nobody = CalDavCalendar(radicale_url, username="bob", password="x")
    with pytest.raises(CalendarUnavailable, match="no calendars"):
        nobody.busy(*window, BERLIN)


def _booking_ics(sequence: int, summary: str, hour: int, method: str | None = None) -> bytes:
    return event_ics(
        uid="booking-1234@parley",
        sequence=sequence,
        start=utc(2026, 11, 30, hour),
        end=utc(2026, 11, 30, hour) + timedelta(minutes=45),
        summary=summary,
        description="Interview booked through Parley.",
        organizer_name="Ada Interviewer",
        organizer_email="ada@example.org",
        method=method,
    )


def test_put_event_is_idempotent_and_replaces_by_uid(radicale_url: str) -> None:
    url = make_calendar(radicale_url, name="Work", cal_id="work")
    cal = CalDavCalendar(url, username="alice", password="x")
    assert can_write(cal)

    cal.put_event("booking-1234@parley", _booking_ics(0, "Interview", 10))
    cal.put_event("booking-1234@parley", _booking_ics(0, "Interview", 10))
    assert event_uids(url) == ["booking-1234@parley"]
    assert cal.busy(utc(2026, 11, 30), utc(2026, 12, 1), BERLIN) == [
        iv(utc(2026, 11, 30, 10), utc(2026, 11, 30, 10, 45))
    ]

    # Rescheduled: same UID, higher SEQUENCE, new time; a stray METHOD is dropped.
    cal.put_event("booking-1234@parley", _booking_ics(1, "Interview (moved)", 14, "REQUEST"))
    assert event_uids(url) == ["booking-1234@parley"]
    (stored,) = event_texts(url)
    assert "SEQUENCE:1" in stored  # stored as given, not bumped by the client library
    assert "METHOD" not in stored
    assert "Interview (moved)" in stored
    assert cal.busy(utc(2026, 11, 30), utc(2026, 12, 1), BERLIN) == [
        iv(utc(2026, 11, 30, 14), utc(2026, 11, 30, 14, 45))
    ]

    cal.delete_event("booking-1234@parley")
    assert event_uids(url) == []
    cal.delete_event("booking-1234@parley")  # already gone: fine
    assert cal.busy(utc(2026, 11, 30), utc(2026, 12, 1), BERLIN) == []


def test_put_event_replaces_an_event_stored_under_another_name(radicale_url: str) -> None:
    url = make_calendar(radicale_url, name="Work", cal_id="work")
    # Another client stored our UID under its own resource name.
    import caldav

    with caldav.DAVClient(url=url, username="alice", password="x", enable_rfc6764=False) as c:
        c.put(
            url + "renamed-by-someone.ics",
            _booking_ics(0, "Interview", 10).decode(),
            {"Content-Type": "text/calendar; charset=utf-8"},
        )
    cal = CalDavCalendar(url, username="alice", password="x")
    cal.put_event("booking-1234@parley", _booking_ics(1, "Interview (moved)", 14))
    assert event_uids(url) == ["booking-1234@parley"]
    assert cal.busy(utc(2026, 11, 30), utc(2026, 12, 1), BERLIN) == [
        iv(utc(2026, 11, 30, 14), utc(2026, 11, 30, 14, 45))
    ]
    cal.delete_event("booking-1234@parley")
    assert event_uids(url) == []


def test_put_event_refuses_mismatched_or_broken_data(radicale_url: str) -> None:
    cal = CalDavCalendar(radicale_url, username="alice", password="x")
    with pytest.raises(ValueError, match="UID"):
        cal.put_event("another-uid", _booking_ics(0, "Interview", 10))
    with pytest.raises(ValueError):
        cal.put_event("booking-1234@parley", b"this is not a calendar")
    with pytest.raises(ValueError):
        cal.put_event("bad\r\nuid", _booking_ics(0, "Interview", 10))


def test_stopped_server_is_unavailable_quickly(tmp_path: Path) -> None:
    with running_radicale(tmp_path / "r") as server:
        url = make_calendar(server.url, name="Work", cal_id="work")
        cal = CalDavCalendar(url, username="alice", password="x", timeout=3)
        assert cal.busy(START, END, BERLIN) == []  # resolved and cached while up
        server.stop()
        for call in (
            lambda: cal.busy(START, END, BERLIN),
            lambda: cal.put_event("booking-1234@parley", _booking_ics(0, "Interview", 10)),
            lambda: cal.delete_event("booking-1234@parley"),
            lambda: CalDavCalendar(url, timeout=3).busy(START, END, BERLIN),
        ):
            began = time.monotonic()
            with pytest.raises(CalendarUnavailable, match=r"cannot connect to 127\.0\.0\.1") as err:
                call()
            assert time.monotonic() - began < 3
            assert_not_chained(err.value)


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_server_that_never_answers_times_out() -> None:
    with silent_server() as port:
        cal = CalDavCalendar(f"http://127.0.0.1:{port}/cal/", username="a", timeout=0.5)
        began = time.monotonic()
        with pytest.raises(CalendarUnavailable, match=r"did not answer within 0\.5 s"):
            cal.busy(START, END, BERLIN)
        assert time.monotonic() - began < 3
        feed = IcsFeed(f"http://127.0.0.1:{port}/feed.ics", timeout=0.5)
        began = time.monotonic()
        with pytest.raises(CalendarUnavailable, match=r"did not answer within 0\.5 s"):
            feed.busy(START, END, BERLIN)
        assert time.monotonic() - began < 3


def test_wrong_password_is_401_and_never_leaks(tmp_path: Path) -> None:
    secret, wrong = "c0rrect-h0rse", "hunter2-wrong"
    with running_radicale(tmp_path / "r", users={"alice": secret}) as server:
        url = make_calendar(server.url, user="alice", password=secret, cal_id="work")
        add_raw_event(url, EVENTS["timed"], password=secret)
        ok = CalDavCalendar(url, username="alice", password=secret)
        assert ok.busy(utc(2026, 11, 24), utc(2026, 11, 25), BERLIN) == [
            iv(utc(2026, 11, 24, 10), utc(2026, 11, 24, 11))
        ]

        attempts = [
            CalDavCalendar(url, username="alice", password=wrong),
            CalDavCalendar(server.url, username="alice", password=wrong),
            CalDavCalendar(url.replace("http://", f"http://alice:{wrong}@"), timeout=5),
            CalDavCalendar(url),  # no credentials at all
        ]
        for cal in attempts:
            with pytest.raises(CalendarUnavailable) as err:
                cal.busy(START, END, BERLIN)
            reason = str(err.value)
            assert "401" in reason or "403" in reason
            assert wrong not in reason and secret not in reason
            assert wrong not in repr(cal)
            assert_not_chained(err.value)
        with pytest.raises(CalendarUnavailable, match=r"401|403"):
            attempts[0].put_event("booking-1234@parley", _booking_ics(0, "Interview", 10))


def test_missing_calendar_is_404(radicale_url: str) -> None:
    cal = CalDavCalendar(radicale_url + "alice/nope/", username="alice", password="x")
    with pytest.raises(CalendarUnavailable, match="404"):
        cal.busy(START, END, BERLIN)


def test_a_server_that_is_not_caldav(tmp_path: Path) -> None:
    with serve({"/": (200, b"<html>hello</html>", "text/html")}) as base:
        cal = CalDavCalendar(base, username="alice", password="x", timeout=3)
        with pytest.raises(CalendarUnavailable) as err:
            cal.busy(START, END, BERLIN)
        assert "127.0.0.1" in str(err.value)


def test_open_calendar_kinds(radicale: RadicaleServer, tmp_path: Path) -> None:
    caldav_source = open_calendar(
        "caldav", radicale.url, username="alice", password="x", calendar_name="Work", timeout=2
    )
    assert isinstance(caldav_source, CalDavCalendar) and can_write(caldav_source)
    assert caldav_source.timeout == 2
    ics_source = open_calendar("ics", str(tmp_path / "x.ics"))
    assert isinstance(ics_source, IcsFeed) and not can_write(ics_source)
    with pytest.raises(ValueError, match="unknown calendar kind"):
        open_calendar("exchange", "https://example.org/")
    with pytest.raises(ValueError):
        open_calendar("caldav", "ftp://example.org/")
    with pytest.raises(ValueError):
        open_calendar("ics", "gopher://example.org/feed")
    # Construction does no I/O: a dead host is only noticed when used.
    dead = open_calendar("caldav", "http://127.0.0.1:9/dav/", username="a", password="pw")
    with pytest.raises(CalendarUnavailable):
        dead.busy(START, END, BERLIN)


# ----------------------------------------------------------------------------- ICS


def test_ics_file_path_and_file_url(tmp_path: Path) -> None:
    path = tmp_path / "work calendar.ics"
    path.write_text("".join(EVENTS.values()))  # several VCALENDARs in one file
    assert IcsFeed(str(path)).busy(START, END, BERLIN) == EXPECTED
    assert IcsFeed(path.as_uri()).busy(START, END, BERLIN) == EXPECTED


def test_ics_over_http_including_redirects_and_errors(tmp_path: Path) -> None:
    body = "".join(EVENTS.values()).encode()
    routes = {
        "/private-s3cr3t/basic.ics": (200, body, "text/calendar"),
        "/old.ics": (301, b"", "/private-s3cr3t/basic.ics"),
        "/broken.ics": (200, b"<html>Sign in</html>", "text/html"),
        "/truncated.ics": (200, body[: len(body) // 2], "text/calendar"),
        "/boom.ics": (500, b"oops", "text/plain"),
    }
    with serve(routes) as base:
        assert IcsFeed(base + "private-s3cr3t/basic.ics").busy(START, END, BERLIN) == EXPECTED
        assert IcsFeed(base + "old.ics").busy(START, END, BERLIN) == EXPECTED
        for path, expected in [
            ("missing.ics", "HTTP 404"),
            ("boom.ics", "HTTP 500"),
            ("broken.ics", "could not be read"),
            ("truncated.ics", "could not be read"),
        ]:
            with pytest.raises(CalendarUnavailable, match=expected) as err:
                IcsFeed(
                    base + "private-s3cr3t/" + path if path == "missing.ics" else base + path
                ).busy(START, END, BERLIN)
            assert "s3cr3t" not in str(err.value)
    with pytest.raises(CalendarUnavailable, match="cannot connect"):
        IcsFeed(base + "private-s3cr3t/basic.ics", timeout=2).busy(START, END, BERLIN)


def test_ics_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calendars, "MAX_FEED_BYTES", 1000)
    big = vcal(
        *(
            vevent(f"e{i}", f"DTSTART:202611{10 + i:02d}T100000Z", "DURATION:PT1H")
            for i in range(15)
        )
    )
    assert len(big) > 1000
    path = tmp_path / "big.ics"
    path.write_text(big)
    with pytest.raises(CalendarUnavailable, match="larger than"):
        IcsFeed(str(path)).busy(START, END, BERLIN)
    with serve({"/big.ics": (200, big.encode(), "text/calendar")}) as base:
        with pytest.raises(CalendarUnavailable, match="larger than"):
            IcsFeed(base + "big.ics").busy(START, END, BERLIN)
        with pytest.raises(CalendarUnavailable, match="larger than"):
            IcsFeed(base + "big.ics?chunked=1").busy(START, END, BERLIN)


def test_ics_file_problems(tmp_path: Path) -> None:
    with pytest.raises(CalendarUnavailable, match="does not exist"):
        IcsFeed(str(tmp_path / "nope.ics")).busy(START, END, BERLIN)
    with pytest.raises(CalendarUnavailable, match="directory"):
        IcsFeed(str(tmp_path)).busy(START, END, BERLIN)
    for name, text in [
        ("empty.ics", ""),
        ("html.ics", "<html><body>Not a calendar</body></html>"),
        ("baddate.ics", vcal(vevent("x", "DTSTART:tomorrow-ish", "DTEND:20261124T110000Z"))),
        (
            "badrule.ics",
            vcal(vevent("x", "DTSTART:20261124T100000Z", "DURATION:PT1H", "RRULE:FREQ=SOMETIMES")),
        ),
    ]:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(CalendarUnavailable, match="could not be read"):
            IcsFeed(str(path)).busy(START, END, BERLIN)


def test_ics_freebusy_periods_count() -> None:
    text = vcal(
        "BEGIN:VFREEBUSY\r\nUID:fb\r\nDTSTAMP:20261101T000000Z\r\n"
        "FREEBUSY:20261124T100000Z/20261124T110000Z,20261124T130000Z/PT30M\r\n"
        "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20261125T080000Z/20261125T090000Z\r\n"
        "FREEBUSY;FBTYPE=FREE:20261124T150000Z/20261124T160000Z\r\n"
        "END:VFREEBUSY\r\n"
    )
    assert busy_from_ical(text, START, END, BERLIN) == [
        iv(utc(2026, 11, 24, 10), utc(2026, 11, 24, 11)),
        iv(utc(2026, 11, 24, 13), utc(2026, 11, 24, 13, 30)),
        iv(utc(2026, 11, 25, 8), utc(2026, 11, 25, 9)),
    ]


def test_dst_switch_in_the_interviewers_zone() -> None:
    # Europe/Berlin leaves summer time on Sun 25 Oct 2026: that day has 25 hours.
    text = vcal(
        vevent("day", "DTSTART;VALUE=DATE:20261025", "DTEND;VALUE=DATE:20261026"),
        vevent(
            "daily",
            "DTSTART;TZID=Europe/Berlin:20261023T090000",
            "DTEND;TZID=Europe/Berlin:20261023T093000",
            "RRULE:FREQ=DAILY;COUNT=4",
        ),
        vevent("merged", "DTSTART:20261027T120000Z", "DTEND:20261027T130000Z"),
        vevent("touching", "DTSTART:20261027T130000Z", "DTEND:20261027T140000Z"),
        vevent("moment", "DTSTART:20261027T150000Z"),  # no end: a moment, blocks nothing
    )
    got = busy_from_ical(text, utc(2026, 10, 23), utc(2026, 10, 28), BERLIN)
    assert got == [
        iv(utc(2026, 10, 23, 7), utc(2026, 10, 23, 7, 30)),  # 09:00 CEST
        iv(utc(2026, 10, 24, 7), utc(2026, 10, 24, 7, 30)),
        iv(utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)),  # the 25-hour Sunday (09:00 inside)
        iv(utc(2026, 10, 26, 8), utc(2026, 10, 26, 8, 30)),  # 09:00 CET
        iv(utc(2026, 10, 27, 12), utc(2026, 10, 27, 14)),  # touching events merged
    ]


def test_a_whole_day_without_end_and_a_long_running_series() -> None:
    text = vcal(
        vevent("one-day", "DTSTART;VALUE=DATE:20261124"),
        # Weekly since 2015: expansion must stay cheap and exact.
        vevent(
            "weekly",
            "DTSTART;TZID=America/New_York:20150105T110000",
            "DTEND;TZID=America/New_York:20150105T113000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO",
        ),
    )
    began = time.monotonic()
    got = busy_from_ical(text, START, END, "America/New_York")
    assert time.monotonic() - began < 2
    assert got == [
        iv(utc(2026, 11, 23, 16), utc(2026, 11, 23, 16, 30)),
        iv(utc(2026, 11, 24, 5), utc(2026, 11, 25, 5)),  # local day in New York (EST)
        iv(utc(2026, 11, 30, 16), utc(2026, 11, 30, 16, 30)),
    ]


def test_ics_feed_reprs_hide_the_secret_path() -> None:
    feed = IcsFeed("https://calendar.example.org/private-abc123/basic.ics")
    assert "abc123" not in repr(feed)
    assert IcsFeed("webcal://calendar.example.org/x.ics")._url == (
        "https://calendar.example.org/x.ics"
    )


# ----------------------------------------------------------------------------- helpers


Route = tuple[int, bytes, str]


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[str]:
    """A tiny local HTTP server: path -> (status, body, content type or redirect target).
    `?chunked=1` sends the body without Content-Length."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, with_body: bool) -> None:
            path, _, query = self.path.partition("?")
            status, body, kind = routes.get(path, (404, b"not found", "text/plain"))
            if status in (301, 302):
                self.send_response(status)
                self.send_header("Location", kind)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Content-Type", kind)
            if "chunked=1" in query:
                self.send_header("Connection", "close")
                self.end_headers()
                if with_body:
                    self.wfile.write(body)
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer(True)

        def do_PROPFIND(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self._answer(True)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
