"""The booking dialogue end to end on the service layer (real database, real time zones).

The clock is fixed at Monday 2026-11-23 08:00 UTC; the interviewer works 09:00-17:00 in
Europe/Berlin with 45-minute slots and 15-minute buffers, so the grid is 09:00, 10:00 …
16:00 Berlin, and the first offer is Tuesday 24 Nov 09:00 Berlin (08:00 UTC).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from scheduling.booking import BookingService
from scheduling.chat import Attachment, SchedulingChat
from scheduling.interviewers import Interviewers
from scheduling.notify import MailNotifier
from scheduling.upkeep import reopen_invitations
from screening.catalog import import_jobs
from screening.interview import Reply
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Booking, BookingInvitation, BookingReminder, OutboundMessage
from tests.scheduling.booking_support import Clock, add_interviewer, seed_application
from tests.support import FIXTURE_JOBS

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def sdb(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'sched.db'}"
    upgrade(url)
    database = Database(url)
    import_jobs(database, FIXTURE_JOBS)
    yield database
    database.dispose()


@pytest.fixture
def env(sdb: Database, tmp_path: Path) -> SimpleNamespace:
    clock = Clock()
    mail = SimpleNamespace(smtp_url="", mail_from="parley@test.example", var_dir=tmp_path)
    booking = BookingService(sdb, Interviewers(sdb), clock=clock)
    chat = SchedulingChat(sdb, booking, notifier=MailNotifier(mail), clock=clock)
    return SimpleNamespace(db=sdb, clock=clock, booking=booking, chat=chat, mail_dir=tmp_path)


def texts(out: list[Any]) -> str:
    return "\n".join(r.text for r in out if isinstance(r, Reply))


def buttons(out: list[Any]) -> list[tuple[str, str]]:
    return [b for r in out if isinstance(r, Reply) for b in r.buttons]


def slot_payloads(out: list[Any]) -> list[str]:
    return [p for _, p in buttons(out) if p.startswith("slot ")]


def attachment(out: list[Any]) -> Attachment:
    found = [r for r in out if isinstance(r, Attachment)]
    assert len(found) == 1, out
    return found[0]


def active_bookings(db: Database) -> list[Booking]:
    with db.transaction() as s:
        rows = list(s.scalars(select(Booking).where(Booking.status == "booked")))
        for row in rows:
            s.expunge(row)
        return rows


def start_confirmed(env: SimpleNamespace, tz: str = "Europe/London") -> tuple[str, list[Any]]:
    add_interviewer(env.db)
    sender, _, _ = seed_application(env.db)
    first = env.chat.after_interview(sender, tz)
    assert "looks like " + tz in texts(first)
    return sender, env.chat.pending_input(sender, "yes")


def test_invitation_guess_confirm_offer_book_with_ics(env: SimpleNamespace) -> None:
    sender, offer = start_confirmed(env)
    assert "show times in Europe/London" in texts(offer)
    payloads = slot_payloads(offer)
    assert 3 <= len(payloads) <= 5
    assert ("More times", "more times") in buttons(offer)
    # London is an hour behind Berlin: both local times are shown.
    assert "Tue 24 Nov, 08:00–08:45" in texts(offer)
    assert "09:00–09:45" in texts(offer) and "Europe/Berlin" in texts(offer)
    out = env.chat.pending_input(sender, payloads[0])
    assert texts(out).startswith("Booked: your interview is on Tue 24 Nov, 08:00–08:45")
    assert "remind you here 24 hours and 1 hour before" in texts(out)
    invite = attachment(out)
    assert invite.mime == "text/calendar" and invite.filename == "interview.ics"
    cal = icalendar.Calendar.from_ical(invite.data)
    assert str(cal["METHOD"]) == "REQUEST"
    event = next(iter(cal.walk("VEVENT")))
    assert event.decoded("DTSTART") == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert "Interview with the hiring team" in str(event["SUMMARY"])
    [booking] = active_bookings(env.db)
    assert booking.candidate_timezone == "Europe/London"
    assert booking.starts_at.replace(tzinfo=UTC) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert booking.calendar_state == "none"  # no calendar configured for this interviewer
    with env.db.transaction() as s:
        offsets = sorted(
            s.scalars(
                select(BookingReminder.offset_minutes).where(
                    BookingReminder.booking_id == booking.id
                )
            )
        )
    assert offsets == [60]  # booked exactly 24 h ahead: the 24 h reminder would be due now
    # Showing, pressing the same button again and /book are all idempotent.
    assert "Your interview is booked for Tue 24 Nov, 08:00" in texts(
        env.chat.command(sender, "show")
    )
    assert env.chat.pending_input(sender, payloads[0]) is None  # nothing waits any more
    assert "Your interview is booked for" in texts(env.chat.command(sender, "book"))
    assert len(active_bookings(env.db)) == 1


def test_reschedule_and_cancel(env: SimpleNamespace) -> None:
    sender, offer = start_confirmed(env, "Europe/Berlin")
    env.chat.pending_input(sender, slot_payloads(offer)[0])
    [first] = active_bookings(env.db)
    out = env.chat.command(sender, "reschedule")
    assert "new time" in texts(out)
    out = env.chat.pending_input(sender, "2")
    assert texts(out).startswith("Moved: your interview is on")
    [moved] = active_bookings(env.db)
    assert moved.id == first.id and moved.sequence == 1 and moved.starts_at != first.starts_at
    cal = icalendar.Calendar.from_ical(attachment(out).data)
    assert int(next(iter(cal.walk("VEVENT")))["SEQUENCE"]) == 1
    with env.db.transaction() as s:
        rows = s.scalars(select(BookingReminder).where(BookingReminder.booking_id == moved.id))
        statuses = {(r.sequence, r.status) for r in rows}
    assert statuses == {(0, "cancelled"), (1, "pending")}
    out = env.chat.command(sender, "cancel")
    assert "Cancel your interview on" in texts(out)
    assert env.chat.pending_input(sender, "no") is not None
    assert len(active_bookings(env.db)) == 1
    env.chat.command(sender, "cancel")
    out = env.chat.pending_input(sender, "yes")
    assert texts(out).startswith("Cancelled your interview on")
    cal = icalendar.Calendar.from_ical(attachment(out).data)
    assert str(cal["METHOD"]) == "CANCEL"
    assert active_bookings(env.db) == []
    # The freed candidate can book again.
    out = env.chat.command(sender, "book")
    assert slot_payloads(out)


def test_not_invited_below_threshold_knockout_opt_out_review_or_no_interviewer(
    env: SimpleNamespace,
) -> None:
    sender, _, _ = seed_application(env.db)
    assert env.chat.after_interview(sender, None) == []  # no interviewer yet
    add_interviewer(env.db)
    for kwargs in (
        {"score": 0.3},
        {"score": 0.9, "knocked_out": True},
        {"ai_opt_out": True},
        {"needs_review": ["motivation"]},
        {"status": "knocked_out"},
        {"score": None},
    ):
        other, _, _ = seed_application(env.db, **kwargs)  # type: ignore[arg-type]
        assert env.chat.after_interview(other, None) == [], kwargs
        assert "no interview for you to book" in texts(env.chat.command(other, "book"))
    passing, _, _ = seed_application(env.db, score=0.5)  # exactly the threshold
    assert env.chat.after_interview(passing, None)
    assert env.chat.after_interview(passing, None) == []  # invited once only


def test_typed_time_zone_and_ambiguous_abbreviation(env: SimpleNamespace) -> None:
    add_interviewer(env.db)
    sender, _, _ = seed_application(env.db, "telegram:4242")
    out = env.chat.after_interview(sender, None)  # Telegram tells us no zone
    assert "which time zone are you in" in texts(out).lower()
    out = env.chat.pending_input(sender, "IST")
    assert len(buttons(out)) >= 2  # India, Ireland, Israel…
    out = env.chat.pending_input(sender, "new york")
    assert "show times in America/New_York" in texts(out)
    assert "Tue 24 Nov, 03:00–03:45" not in texts(out)  # 3am New York is not offered
    assert slot_payloads(out)


def test_invalid_zone_hint_is_ignored(env: SimpleNamespace) -> None:
    add_interviewer(env.db)
    sender, _, _ = seed_application(env.db, "web:badhint0001")
    out = env.chat.after_interview(sender, "Not/AZone")
    assert "which time zone" in texts(out).lower()


def test_phone_interview_invitation_goes_to_the_linked_text_chat(env: SimpleNamespace) -> None:
    from storage.models import ChannelIdentity

    add_interviewer(env.db)
    voice, candidate_id, _ = seed_application(env.db, "voice:+4930123456")
    lonely, _, _ = seed_application(env.db, "voice:+4930999999")
    with env.db.transaction() as s:
        s.add(ChannelIdentity(candidate_id=candidate_id, channel="web", sender_id="web:linked01"))
    assert env.chat.after_interview(voice, None) == []  # the call is over
    assert env.chat.after_interview(lonely, None) == []  # no text chat: nobody to tell
    with env.db.transaction() as s:
        rows = list(s.scalars(select(OutboundMessage)))
        assert [(r.sender_id, r.kind) for r in rows] == [("web:linked01", "booking_invitation")]
        assert "Send /book" in rows[0].text
    out = env.chat.command("web:linked01", "book")
    assert "which time zone" in texts(out).lower()


def test_stale_button_more_times_and_numbers(env: SimpleNamespace) -> None:
    sender, offer = start_confirmed(env, "Europe/Berlin")
    first = slot_payloads(offer)
    more = env.chat.pending_input(sender, "more times")
    second = slot_payloads(more)
    assert second and not set(first) & set(second)
    out = env.chat.pending_input(sender, "slot abcdef")  # a button of no list shown
    assert "out of date" in texts(out)
    assert active_bookings(env.db) == []
    out = env.chat.pending_input(sender, "9")
    assert "pick a number from 1 to" in texts(out)
    out = env.chat.pending_input(sender, "Dec 1st at 10")  # a date, not "option 1"
    assert not texts(out).startswith("Booked")
    out = env.chat.pending_input(sender, "no")
    out = env.chat.pending_input(sender, first[0])  # a button of an earlier list still works
    assert texts(out).startswith("Booked"), texts(out)
    env.chat.command(sender, "reschedule")
    out = env.chat.pending_input(sender, "the second one")
    assert texts(out).startswith("Moved")


def test_proposals_exact_window_past_ambiguous_unclear(env: SimpleNamespace) -> None:
    sender, _ = start_confirmed(env, "Europe/Berlin")
    out = env.chat.pending_input(sender, "yesterday at 10")
    assert "passed" in texts(out) and slot_payloads(out)
    out = env.chat.pending_input(sender, "blorp wibble")
    assert "didn't catch a time" in texts(out)
    out = env.chat.pending_input(sender, "3/4 at 2pm")
    assert len(buttons(out)) >= 2  # 3 April or 4 March
    out = env.chat.pending_input(sender, "next Tuesday after 3pm")
    for line in texts(out).splitlines():
        if line[:2] in ("1.", "2.", "3.", "4.", "5."):
            assert line[3:6] == "Tue" and int(line.split(", ")[1][:2]) >= 15, line
    out = env.chat.pending_input(sender, "Wednesday at 11:00")
    assert "Wed 25 Nov, 11:00–11:45" in texts(out) and "Shall I book it?" in texts(out)
    out = env.chat.pending_input(sender, "yes")
    assert texts(out).startswith("Booked")
    [booking] = active_bookings(env.db)
    assert booking.starts_at.replace(tzinfo=UTC) == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_slot_taken_since_offered_gives_alternatives(env: SimpleNamespace) -> None:
    add_interviewer(env.db)
    a, _, _ = seed_application(env.db)
    b, _, _ = seed_application(env.db)
    for sender in (a, b):
        env.chat.after_interview(sender, "Europe/Berlin")
        env.chat.pending_input(sender, "yes")
    offers_a = env.chat.pending_input(a, "more times")
    offers_b = env.chat.pending_input(b, "more times")
    assert texts(offers_a).splitlines()[1] == texts(offers_b).splitlines()[1]
    assert texts(env.chat.pending_input(a, "1")).startswith("Booked")
    out = env.chat.pending_input(b, "1")
    assert texts(out).startswith("Sorry, that time was just taken.")
    taken = texts(offers_a).splitlines()[1][3:]
    assert taken not in texts(out) and slot_payloads(out)
    assert len(active_bookings(env.db)) == 1


def test_no_free_time_tells_candidate_and_employer_then_reopens(env: SimpleNamespace) -> None:
    add_interviewer(env.db, hours="sat 09:00-10:00", horizon=3)  # no Saturday within 3 days
    sender, _, _ = seed_application(env.db)
    env.chat.after_interview(sender, "Europe/Berlin")
    out = env.chat.pending_input(sender, "yes")
    assert "no free time in the next two weeks" in texts(out)
    mails = list((env.mail_dir / "mail").glob("*.eml"))
    assert len(mails) == 1
    body = mails[0].read_text()
    assert "people@test-org.example" in body and "Test Role" in body
    assert "Test Person" not in body  # the employer mail names no candidate
    env.chat.command(sender, "book")  # asking again does not mail again
    assert len(list((env.mail_dir / "mail").glob("*.eml"))) == 1
    assert reopen_invitations(env.booking) == 0
    add_interviewer(env.db, "bert", hours="mon-fri 09:00-17:00")
    assert reopen_invitations(env.booking) == 1
    with env.db.transaction() as s:
        told = s.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == "booking_reopened")
        ).one()
        assert told.sender_id == sender and "Send /book" in told.text
    out = env.chat.command(sender, "book")
    assert slot_payloads(out)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_calendar_down_books_nothing_and_says_so(env: SimpleNamespace) -> None:
    url = f"http://127.0.0.1:{free_port()}/anna/calendar/"
    add_interviewer(env.db, calendar_kind="caldav", calendar_url=url)
    sender, _, _ = seed_application(env.db)
    env.chat.after_interview(sender, "Europe/Berlin")
    out = env.chat.pending_input(sender, "yes")
    assert "can't reach the interview calendar" in texts(out)
    assert "Nothing has been booked" in texts(out)
    assert active_bookings(env.db) == []
    with env.db.transaction() as s:
        assert s.scalars(select(BookingInvitation.status)).one() == "calendar_down"
    assert reopen_invitations(env.booking) == 0  # still down: nobody is told


@pytest.mark.parametrize(
    "text",
    ["", " ", "x" * 10_000, "🙂🙂🙂", "'; DROP TABLE bookings; --", "slot zzzzzz", "\u202e1",
     "0", "-1", "99999999999999999999", "slot " + "a" * 500],
)
def test_hostile_input_never_breaks_the_dialogue(env: SimpleNamespace, text: str) -> None:
    sender, _ = start_confirmed(env, "Europe/Berlin")
    out = env.chat.pending_input(sender, text)
    assert out and texts(out)
    assert active_bookings(env.db) == []
    out = env.chat.pending_input(sender, "1")
    assert texts(out).startswith("Booked")


def test_duplicate_message_books_once(env: SimpleNamespace) -> None:
    import threading

    sender, offer = start_confirmed(env, "Europe/Berlin")
    payload = slot_payloads(offer)[0]
    results: list[Any] = []

    def press() -> None:
        results.append(env.chat.pending_input(sender, payload))

    threads = [threading.Thread(target=press) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(active_bookings(env.db)) == 1
    with env.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Booking)) == 1
