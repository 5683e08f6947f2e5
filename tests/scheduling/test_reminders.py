"""Interview reminders: planned as rows at booking time, each sent once through the outbox.

Why rows and a `now` callable instead of timers: a reminder has to survive restarts and
downtime, so the tests move a settable clock over the interesting moments (on time, after a
few hours of downtime, after the interview started) and assert the reminder rows and the
outbox rows they leave behind. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from scheduling.booking import BookingService, Slot
from scheduling.reminders import send_due
from storage.db import Database
from storage.models import BookingReminder, ChannelIdentity, OutboundMessage
from tests.scheduling.booking_support import Clock, add_interviewer, seed_application

# Wednesday 25 Nov 2026 09:00 in Berlin (08:00 UTC); NOW is Monday 08:00 UTC.
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
LENGTH = timedelta(minutes=45)


def _book(
    db: Database,
    service: BookingService,
    interviewer: int,
    start: datetime = START,
    sender: str | None = None,
) -> tuple[str, str, str]:
    """Book `start` with `interviewer` for a new application; returns (booking id, sender,
    candidate id)."""
    sender, candidate, app = seed_application(db, sender)
    booking = service.book(
        app, Slot(start, start + LENGTH, interviewer), sender_id=sender,
        candidate_tz="Europe/Berlin",
    )  # fmt: skip
    return booking.id, sender, candidate


def _reminders(db: Database, booking_id: str) -> list[tuple[int, int, str, datetime]]:
    """(sequence, offset, status, due) of the booking's reminders, largest offset first."""
    with db.transaction() as s:
        rows = s.execute(
            select(
                BookingReminder.sequence,
                BookingReminder.offset_minutes,
                BookingReminder.status,
                BookingReminder.due_at,
            )
            .where(BookingReminder.booking_id == booking_id)
            .order_by(BookingReminder.sequence, BookingReminder.offset_minutes.desc())
        ).all()
    return [(seq, off, status, _aware(due)) for seq, off, status, due in rows]


def _outbox(db: Database) -> list[tuple[str, str, str]]:
    """(candidate id, sender id, text) of every reminder in the outbox, oldest first."""
    with db.transaction() as s:
        rows = s.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.kind == "interview_reminder")
            .order_by(OutboundMessage.id)
        ).all()
        return [(r.candidate_id, r.sender_id, r.text) for r in rows]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def test_reminders_are_planned_at_booking_and_each_sent_once(db: Database) -> None:
    clock = Clock()
    interviewer = add_interviewer(db)
    service = BookingService(db, clock=clock)
    booking, sender, candidate = _book(db, service, interviewer)
    assert _reminders(db, booking) == [
        (0, 1440, "pending", START - timedelta(hours=24)),
        (0, 60, "pending", START - timedelta(hours=1)),
    ]

    assert send_due(db, now=clock).as_dict() == {"sent": 0, "skipped": 0, "cancelled": 0}
    clock.now = START - timedelta(hours=24)
    assert send_due(db, now=clock).sent == 1
    assert send_due(db, now=clock).sent == 0  # a second pass finds nothing to send
    clock.now = START - timedelta(minutes=59)
    assert send_due(db, now=clock).sent == 1
    clock.now = START + timedelta(hours=2)
    assert send_due(db, now=clock).as_dict() == {"sent": 0, "skipped": 0, "cancelled": 0}

    messages = _outbox(db)
    assert [(c, s) for c, s, _t in messages] == [(candidate, sender)] * 2
    first, second = (t for _c, _s, t in messages)
    assert first.startswith("Reminder: your interview for Test Role at Test Organization is "
                            "tomorrow: Wed 25 Nov, 09:00")  # fmt: skip
    assert "in 1 hour" in second and "/reschedule" in second and "/cancel_interview" in second
    with db.transaction() as s:
        rows = s.scalars(
            select(BookingReminder)
            .where(BookingReminder.booking_id == booking)
            .order_by(BookingReminder.offset_minutes.desc())
        ).all()
        assert [(r.status, _aware(r.sent_at)) for r in rows] == [
            ("sent", START - timedelta(hours=24)),
            ("sent", START - timedelta(minutes=59)),
        ]
        sent_ids = [r.message_id for r in rows]
        kinds = s.execute(
            select(OutboundMessage.id, OutboundMessage.kind).where(
                OutboundMessage.id.in_(sent_ids)
            )
        ).all()
    assert sorted(kinds) == sorted((i, "interview_reminder") for i in sent_ids)


def test_a_reminder_missed_during_downtime_is_sent_late_while_the_interview_is_ahead(
    db: Database,
) -> None:
    clock = Clock()
    service = BookingService(db, clock=clock)
    booking, _sender, _candidate = _book(db, service, add_interviewer(db))
    clock.now = START - timedelta(hours=10)  # the worker was down when the 24 h one was due
    assert send_due(db, now=clock).as_dict() == {"sent": 1, "skipped": 0, "cancelled": 0}
    [(_c, _s, text)] = _outbox(db)
    assert " is in 10 hours: " in text  # says what is true now, not "tomorrow"
    clock.now = START - timedelta(minutes=60)
    assert send_due(db, now=clock).sent == 1
    assert [status for _q, _o, status, _d in _reminders(db, booking)] == ["sent", "sent"]
    assert len(_outbox(db)) == 2


def test_a_nearer_due_reminder_supersedes_the_older_one(db: Database) -> None:
    clock = Clock()
    service = BookingService(db, clock=clock)
    booking, _sender, _candidate = _book(db, service, add_interviewer(db))
    clock.now = START - timedelta(minutes=30)  # down for a whole day: both are due
    assert send_due(db, now=clock).as_dict() == {"sent": 1, "skipped": 1, "cancelled": 0}
    assert [(off, status) for _q, off, status, _d in _reminders(db, booking)] == [
        (1440, "skipped"),
        (60, "sent"),
    ]
    [(_c, _s, text)] = _outbox(db)
    assert " is in 30 minutes: " in text


def test_no_reminder_once_the_interview_has_started(db: Database) -> None:
    clock = Clock()
    service = BookingService(db, clock=clock)
    booking, _sender, _candidate = _book(db, service, add_interviewer(db))
    clock.now = START + timedelta(minutes=5)
    assert send_due(db, now=clock).as_dict() == {"sent": 0, "skipped": 2, "cancelled": 0}
    assert [status for _q, _o, status, _d in _reminders(db, booking)] == ["skipped", "skipped"]
    assert _outbox(db) == []


def test_cancelled_and_rescheduled_bookings_get_no_stale_reminders(db: Database) -> None:
    clock = Clock()
    interviewer = add_interviewer(db)
    service = BookingService(db, clock=clock)
    cancelled, _cs, _cc = _book(db, service, interviewer)
    old_start = START + timedelta(hours=2)
    moved, moved_sender, moved_candidate = _book(db, service, interviewer, old_start)
    new_start = START + timedelta(days=2)  # Friday 09:00 Berlin

    assert service.cancel(cancelled, by="candidate") is not None
    booking = service.get(moved)
    assert booking is not None
    service.book(
        booking.application_id, Slot(new_start, new_start + LENGTH, interviewer),
        sender_id=moved_sender, candidate_tz="Europe/Berlin", reschedule=moved,
    )  # fmt: skip
    assert [s for _q, _o, s, _d in _reminders(db, cancelled)] == ["cancelled", "cancelled"]
    assert _reminders(db, moved) == [
        (0, 1440, "cancelled", old_start - timedelta(hours=24)),
        (0, 60, "cancelled", old_start - timedelta(hours=1)),
        (1, 1440, "pending", new_start - timedelta(hours=24)),
        (1, 60, "pending", new_start - timedelta(hours=1)),
    ]

    for hours_before in (24, 1):  # the old times pass: nothing is sent
        clock.now = old_start - timedelta(hours=hours_before)
        assert send_due(db, now=clock).sent == 0
    clock.now = new_start - timedelta(hours=24)
    assert send_due(db, now=clock).sent == 1
    clock.now = new_start - timedelta(hours=1)
    assert send_due(db, now=clock).sent == 1
    messages = _outbox(db)
    assert [(c, s) for c, s, _t in messages] == [(moved_candidate, moved_sender)] * 2
    assert all("Fri 27 Nov, 09:00" in text for _c, _s, text in messages)

    # A reminder left pending for a booking that moved on (an older sequence) is never sent.
    with db.transaction() as s:
        stale = s.scalars(
            select(BookingReminder).where(
                BookingReminder.booking_id == moved, BookingReminder.sequence == 0
            )
        ).all()
        for row in stale:
            row.status = "pending"
            row.due_at = clock.now - timedelta(minutes=1)
    assert send_due(db, now=clock).as_dict() == {"sent": 0, "skipped": 0, "cancelled": 2}
    assert len(_outbox(db)) == 2


def test_a_caller_is_reminded_on_their_newest_text_channel(db: Database) -> None:
    clock = Clock()
    interviewer = add_interviewer(db)
    service = BookingService(db, clock=clock)
    booking, _voice, candidate = _book(db, service, interviewer, sender="voice:+4930123456")
    with db.transaction() as s:  # linked later, in this order
        for sender in ("web:old-tab", "telegram:4711", "voice:+4930999"):
            channel = sender.split(":")[0]
            s.add(ChannelIdentity(candidate_id=candidate, sender_id=sender, channel=channel))
            s.flush()
    # Somebody who only ever called: nothing to write to, the reminder is skipped.
    only_voice, _v2, _c2 = _book(
        db, service, interviewer, START + timedelta(hours=1), sender="voice:+4930555000"
    )
    clock.now = START - timedelta(hours=1)
    # The caller's 24 h reminder is superseded by the due 1 h one; the other's 24 h one has
    # no text channel to go to.
    assert send_due(db, now=clock).as_dict() == {"sent": 1, "skipped": 2, "cancelled": 0}
    clock.now = START
    assert send_due(db, now=clock).as_dict() == {"sent": 0, "skipped": 1, "cancelled": 0}
    assert [(c, s) for c, s, _t in _outbox(db)] == [(candidate, "telegram:4711")]
    assert [st for _q, _o, st, _d in _reminders(db, booking)] == ["skipped", "sent"]
    assert [st for _q, _o, st, _d in _reminders(db, only_voice)] == ["skipped", "skipped"]


def test_concurrent_senders_send_each_reminder_once(db: Database) -> None:
    """Four senders in threads, small batches, twelve bookings all due: one message each."""
    clock = Clock()
    service = BookingService(db, clock=clock)
    bookings = [
        _book(db, service, add_interviewer(db, f"iv{n}", email=None))[0] for n in range(12)
    ]
    clock.now = START - timedelta(minutes=30)  # per booking: the 24 h one superseded
    barrier = threading.Barrier(4)
    runs: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def sender() -> None:
        barrier.wait()
        try:
            runs.append(send_due(db, now=clock, batch=2).as_dict())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(r["sent"] for r in runs) == 12
    assert sum(r["skipped"] for r in runs) == 12
    messages = _outbox(db)
    assert len(messages) == 12 and len({c for c, _s, _t in messages}) == 12
    for booking in bookings:
        assert [(o, st) for _q, o, st, _d in _reminders(db, booking)] == [
            (1440, "skipped"),
            (60, "sent"),
        ]
