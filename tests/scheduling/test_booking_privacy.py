"""Bookings are the candidate's data: shown by /mydata, exported, cancelled at "delete
everything" (the interviewer's calendar event removed by the worker) and purged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from privacy.erasure import erase_candidate
from privacy.export import candidate_rows
from privacy.purge import run_purge
from privacy.summary import summarize
from scheduling.booking import BookingService
from scheduling.interviewers import Interviewers
from storage.db import Database
from storage.files import FileStore
from storage.models import (
    Booking,
    BookingInvitation,
    BookingReminder,
    CalendarCleanup,
    Candidate,
)
from tests.erasure_support import make_settings
from tests.scheduling.booking_support import Clock, add_interviewer, seed_application
from tests.scheduling.radicale_support import RadicaleServer, event_uids, make_calendar


def test_booking_is_shown_exported_cancelled_at_erasure_and_purged(
    db: Database, tmp_path: Path, radicale: RadicaleServer
) -> None:
    url = make_calendar(radicale.url, user="anna", name="interviews")
    add_interviewer(db, calendar_kind="caldav", calendar_url=url)
    sender, candidate_id, app_id = seed_application(db)
    with db.transaction() as s:
        s.add(BookingInvitation(candidate_id=candidate_id, application_id=app_id,
                                sender_id=sender, reason="threshold", status="booked",
                                timezone="Europe/London"))  # fmt: skip
    service = BookingService(db, Interviewers(db), clock=Clock())
    job_slots = service.free_slots(_job(db))
    booking = service.book(app_id, job_slots[3], sender_id=sender, candidate_tz="Europe/London")
    assert event_uids(url, user="anna") == [f"{booking.id}@parley"]

    text = "\n".join(summarize(db, sender))
    assert "INTERVIEWS WITH A PERSON" in text and "Anna Interviewer: booked" in text
    assert "reminder(s) planned" in text
    with db.transaction() as s:
        rows = candidate_rows(s, candidate_id)
    assert [r["id"] for r in rows["bookings"]] == [booking.id]
    assert len(rows["booking_reminders"]) == 2 and len(rows["booking_invitations"]) == 1

    settings = make_settings(tmp_path, db, purge_after_days=0)
    erase_candidate(db, settings, candidate_id)
    with db.transaction() as s:
        row = s.get(Booking, booking.id)
        assert row is not None and row.status == "cancelled" and row.cancelled_by == "erasure"
        assert {r.status for r in s.scalars(select(BookingReminder))} == {"cancelled"}
        assert s.scalars(select(BookingInvitation.status)).one() == "closed"
        cleanup = s.scalars(select(CalendarCleanup)).one()
        assert cleanup.event_uid == f"{booking.id}@parley"
    # The slot is free again for others at once.
    assert any(x.start == job_slots[3].start for x in service.free_slots(_job(db)))
    assert service.retry_calendar_writes()["cleaned"] == 1
    assert event_uids(url, user="anna") == []

    run_purge(db, settings, FileStore(settings.files_dir, db),
              now=datetime.now(UTC) + timedelta(days=1))  # fmt: skip
    with db.transaction() as s:
        assert s.get(Candidate, candidate_id) is None
        for model in (Booking, BookingReminder, BookingInvitation):
            assert s.scalar(select(func.count()).select_from(model)) == 0
        # What outlives the candidate names no one: an interviewer id and an event id.
        assert s.scalars(select(CalendarCleanup.done_at)).one() is not None


def _job(db: Database) -> int:
    from storage.models import Job

    with db.transaction() as s:
        return s.scalars(select(Job.id).where(Job.slug == "test-role", Job.is_current)).one()
