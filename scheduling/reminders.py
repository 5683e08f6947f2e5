"""Interview reminders: planned in the database at booking time, sent by the worker.

Why not Rasa's reminders: they live in the Rasa server's memory and are lost on restart
(rasa#2716). Here a reminder is a row; sending it means, in ONE transaction, putting the text
in the candidate's outbox (their channel gateway delivers it) and marking the row sent. A
worker killed at any point either committed both or neither, so after a restart every due
reminder is sent exactly once.

Several workers may run: on PostgreSQL each claims rows with `FOR UPDATE SKIP LOCKED`, so two
replicas never take the same reminder and never wait on each other; SQLite serialises writers
(`BEGIN IMMEDIATE`), which gives the same guarantee on one machine.

Late reminders: a reminder missed during downtime is still sent if the interview has not
started; when a nearer reminder is also due (the worker was down for a day), only the nearest
is sent and the older one is marked superseded, so nobody gets "tomorrow" and "in an hour"
at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from privacy.outbox import enqueue
from scheduling.intervals import stored_utc
from scheduling.timezones import describe_slot
from storage.db import Database
from storage.models import Application, Booking, BookingReminder, ChannelIdentity

log = logging.getLogger(__name__)

PENDING = "pending"
SENT = "sent"
SKIPPED = "skipped"  # too late (the interview started) or superseded by a nearer one
CANCELLED = "cancelled"



@dataclass
class ReminderRun:
    sent: int = 0
    skipped: int = 0
    cancelled: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "skipped": self.skipped, "cancelled": self.cancelled}


def _lead(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "tomorrow" if days == 1 else f"in {days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    return f"in {minutes} minutes"


def reminder_text(booking: Booking, job_title: str, org: str, minutes_left: int) -> str:
    length = int((booking.ends_at - booking.starts_at).total_seconds() // 60)
    when = describe_slot(
        stored_utc(booking.starts_at),
        booking.candidate_timezone,
        booking.interviewer.timezone,
        length,
    )
    return (
        f"Reminder: your interview for {job_title} at {org} is {_lead(minutes_left)}: {when}, "
        f"with {booking.interviewer.name}. To move it send /reschedule; to cancel, "
        "/cancel_interview."
    )


def _channel(s: object, booking: Booking) -> str | None:
    """The chat the candidate booked on, or their newest text chat when that was a call."""
    if not booking.sender_id.startswith("voice:"):
        return booking.sender_id
    rows = s.scalars(  # type: ignore[attr-defined]
        select(ChannelIdentity.sender_id)
        .where(ChannelIdentity.candidate_id == booking.candidate_id)
        .order_by(ChannelIdentity.id.desc())
    ).all()
    return next((r for r in rows if not r.startswith("voice:")), None)


def send_due(
    db: Database,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    batch: int = 50,
) -> ReminderRun:
    """Send every reminder due by now (in batches; each batch one transaction)."""
    run = ReminderRun()
    while True:
        done = _send_batch(db, now(), batch, run)
        if done < batch:
            return run


def _send_batch(db: Database, now: datetime, batch: int, run: ReminderRun) -> int:
    with db.transaction() as s:
        query = (
            select(BookingReminder)
            .where(BookingReminder.status == PENDING, BookingReminder.due_at <= now)
            .order_by(BookingReminder.due_at, BookingReminder.id)
            .limit(batch)
        )
        if s.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(s.scalars(query))
        for row in rows:
            booking = s.get(Booking, row.booking_id)
            if booking is None or booking.status != "booked" or booking.sequence != row.sequence:
                row.status = CANCELLED
                run.cancelled += 1
                continue
            starts = stored_utc(booking.starts_at)
            if now >= starts:
                row.status = SKIPPED
                run.skipped += 1
                continue
            nearer = s.scalars(
                select(BookingReminder.id).where(
                    BookingReminder.booking_id == row.booking_id,
                    BookingReminder.sequence == row.sequence,
                    BookingReminder.offset_minutes < row.offset_minutes,
                    BookingReminder.due_at <= now,
                    BookingReminder.status.in_([PENDING, SENT]),
                )
            ).first()
            if nearer is not None:
                row.status = SKIPPED
                run.skipped += 1
                continue
            channel = _channel(s, booking)
            if channel is None:
                row.status = SKIPPED
                run.skipped += 1
                continue
            app = s.get(Application, booking.application_id)
            if app is None:
                row.status = CANCELLED
                run.cancelled += 1
                continue
            minutes_left = max(1, round((starts - now).total_seconds() / 60))
            # Say what is true now: a late reminder says "in 20 minutes", not "in 1 hour".
            lead = row.offset_minutes if minutes_left >= row.offset_minutes - 5 else minutes_left
            message = enqueue(
                s,
                booking.candidate_id,
                channel,
                "interview_reminder",
                reminder_text(booking, app.job.title, app.job.organization.name, lead),
            )
            row.status = SENT
            row.sent_at = now
            row.message_id = message.id
            run.sent += 1
        return len(rows)
