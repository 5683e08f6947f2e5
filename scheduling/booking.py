"""Booking interviews: free slots across a job's interviewers, and atomic booking.

Why booking is safe under races: the interviewer's row is locked for the transaction
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` serialises writers anyway),
the overlap check runs inside it, and two partial unique indexes (one active booking per
interviewer start, one per application) stop anything that slips past. A loser gets
`SlotTaken` with alternatives computed at once, never an error.

Why the calendar is written after the commit: the database is the system of record. The event
is written with a UID derived from the booking id, so a retry (the worker retries failed
writes) replaces the event instead of adding a second one. Busy times are re-read fresh for
the chosen slot just before booking, so a meeting the interviewer added since the offer is
respected; when the calendar cannot be read nothing is booked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scheduling.availability import free_slots
from scheduling.calendars import CalendarUnavailable, can_write
from scheduling.intervals import Interval, stored_utc
from scheduling.interviewers import Interviewers, rules_for
from scheduling.invites import event_ics
from storage.db import Database
from storage.models import (
    Application,
    Booking,
    BookingReminder,
    CalendarCleanup,
    Interviewer,
    Job,
)

log = logging.getLogger(__name__)

BOOKED = "booked"
CANCELLED = "cancelled"
# calendar_state values
SYNC_NONE = "none"  # the interviewer has no writable calendar
SYNC_PENDING = "pending"
SYNC_DONE = "synced"
SYNC_FAILED = "failed"
CANCEL_PENDING = "cancel_pending"
REMOVED = "removed"

DEFAULT_REMINDERS_MIN = (24 * 60, 60)
MAX_SYNC_ATTEMPTS = 20



@dataclass(frozen=True, order=True)
class Slot:
    """A free interview slot: when (UTC) and with whom."""

    start: datetime
    end: datetime
    interviewer_id: int = field(compare=False)


class SchedulingError(Exception):
    """Base of this module's errors; `str()` is safe to show a candidate."""


class SlotTaken(SchedulingError):
    """Somebody else got the slot (or the interviewer's calendar filled it)."""

    def __init__(self, alternatives: list[Slot]) -> None:
        super().__init__("That time was just taken.")
        self.alternatives = alternatives


class CalendarDown(SchedulingError):
    """The interviewer's calendar cannot be read right now: nothing was booked."""


class NotBookable(SchedulingError):
    """The application can no longer be booked (withdrawn, erased, not completed)."""


class AlreadyBooked(SchedulingError):
    """The application has an active booking already (a double click, another chat)."""

    def __init__(self, booking: Booking) -> None:
        super().__init__("This interview is already booked.")
        self.booking = booking


class _Clash(Exception):
    """Inside the booking transaction: an active booking overlaps the wanted slot."""


def event_uid(booking_id: str) -> str:
    return f"{booking_id}@parley"


class BookingService:
    def __init__(
        self,
        db: Database,
        interviewers: Interviewers | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        reminder_offsets_min: Iterable[int] = DEFAULT_REMINDERS_MIN,
    ) -> None:
        self.db = db
        self.interviewers = interviewers or Interviewers(db)
        self.clock = clock
        self.reminder_offsets_min = tuple(sorted(set(reminder_offsets_min), reverse=True))

    # ------------------------------------------------------------------ availability
    def free_slots(
        self,
        job_id: int,
        *,
        within: Interval | None = None,
        limit: int = 200,
        exclude_booking: str | None = None,
    ) -> list[Slot]:
        """Free slots of every interviewer of the job, earliest first; one slot per start
        (the interviewer with fewer upcoming bookings gets it). Raises `CalendarDown` only
        when no interviewer's calendar can be read."""
        now = self.clock()
        with self.db.transaction() as s:
            job = s.get(Job, job_id)
            if job is None:
                return []
            people = Interviewers.for_job(s, job)
            for person in people:
                s.expunge(person)
            booked = self._active_intervals(s, [p.id for p in people], now, exclude_booking)
        by_start: dict[datetime, Slot] = {}
        load = {p.id: len(booked.get(p.id, [])) for p in people}
        failures = 0
        for person in people:
            rules = rules_for(person)
            # A stable window (hour-aligned) so the busy-time cache is reused between turns.
            window_start = now.replace(minute=0, second=0, microsecond=0)
            window_end = window_start + timedelta(days=rules.horizon_days + 1)
            try:
                busy = self.interviewers.busy(person, window_start, window_end)
            except CalendarUnavailable as exc:
                failures += 1
                log.warning("calendar of interviewer %s unreadable: %s", person.id, exc)
                continue
            # Unpadded: free_slots() already keeps each slot's buffer free on both sides (the
            # same single buffer `_commit` checks), so padding here too would hide neighbours.
            ours = booked.get(person.id, [])
            starts = free_slots(
                rules,
                [*busy, *ours],
                now,
                start=within.start if within else None,
                end=within.end if within else None,
            )
            length = timedelta(minutes=rules.slot_minutes)
            for start in starts:
                current = by_start.get(start)
                if current is None or load[person.id] < load[current.interviewer_id]:
                    by_start[start] = Slot(start, start + length, person.id)
        if people and failures == len(people):
            raise CalendarDown(
                "I can't reach the interview calendar right now, so I can't offer times. "
                "Nothing has been booked. Please try again in a few minutes."
            )
        return sorted(by_start.values())[:limit]

    @staticmethod
    def _active_intervals(
        s: object, interviewer_ids: list[int], now: datetime, exclude: str | None
    ) -> dict[int, list[Interval]]:
        if not interviewer_ids:
            return {}
        rows = s.scalars(  # type: ignore[attr-defined]
            select(Booking).where(
                Booking.interviewer_id.in_(interviewer_ids),
                Booking.status == BOOKED,
                Booking.ends_at > now - timedelta(days=1),
            )
        ).all()
        out: dict[int, list[Interval]] = {}
        for row in rows:
            if row.id == exclude:
                continue
            out.setdefault(row.interviewer_id, []).append(
                Interval(stored_utc(row.starts_at), stored_utc(row.ends_at))
            )
        return out

    # ------------------------------------------------------------------ booking
    def book(
        self,
        application_id: str,
        slot: Slot,
        *,
        sender_id: str,
        candidate_tz: str,
        reschedule: str | None = None,
    ) -> Booking:
        """Book `slot` for the application (or move booking `reschedule` there).

        Raises `SlotTaken` (with alternatives), `CalendarDown`, `AlreadyBooked` or
        `NotBookable`. Returns the booking, detached, with `calendar_state` after the write.
        """
        with self.db.transaction() as s:
            person = s.get(Interviewer, slot.interviewer_id)
            app = s.get(Application, application_id)
            if person is None or app is None:
                raise NotBookable("That interview can't be booked any more.")
            job_id = app.job_id
            s.expunge(person)
        rules = rules_for(person)
        pad = timedelta(minutes=rules.buffer_minutes)
        if slot.start < self.clock() + timedelta(minutes=rules.min_notice_minutes):
            raise SlotTaken(self._alternatives(job_id, reschedule))
        try:
            busy = self.interviewers.busy(person, slot.start - pad, slot.end + pad, fresh=True)
        except CalendarUnavailable as exc:
            log.warning("calendar of interviewer %s unreadable at booking: %s", person.id, exc)
            raise CalendarDown(
                "I can't reach the interview calendar right now, so nothing has been booked. "
                "Please try again in a few minutes."
            ) from None
        wanted = Interval(slot.start - pad, slot.end + pad)
        own = self._own_event(reschedule)
        if any(iv.overlaps(wanted) for iv in busy if iv != own):
            self.interviewers.forget_cache()
            raise SlotTaken(self._alternatives(job_id, reschedule))
        try:
            booking_id = self._commit(
                application_id, slot, person, sender_id, candidate_tz, reschedule
            )
        except (IntegrityError, _Clash):
            existing = self.active_booking(application_id)
            if existing is not None and reschedule is None:
                raise AlreadyBooked(existing) from None
            raise SlotTaken(self._alternatives(job_id, reschedule)) from None
        self.sync_calendar(booking_id)
        booking = self.get(booking_id)
        assert booking is not None
        return booking

    def _own_event(self, booking_id: str | None) -> Interval | None:
        """The interval of the booking being moved: its own calendar event is not a clash."""
        if booking_id is None:
            return None
        old = self.get(booking_id)
        if old is None:
            return None
        return Interval(stored_utc(old.starts_at), stored_utc(old.ends_at))

    def _alternatives(self, job_id: int, exclude: str | None) -> list[Slot]:
        try:
            return self.free_slots(job_id, exclude_booking=exclude)
        except CalendarDown:
            return []

    def _commit(
        self,
        application_id: str,
        slot: Slot,
        person: Interviewer,
        sender_id: str,
        candidate_tz: str,
        reschedule: str | None,
    ) -> str:
        now = self.clock()
        with self.db.transaction() as s:
            # Serialise bookings per interviewer (PostgreSQL); SQLite holds the write lock.
            s.execute(select(Interviewer.id).where(Interviewer.id == person.id).with_for_update())
            app = s.get(Application, application_id)
            if app is None or app.status != "completed" or app.mode != "application":
                raise NotBookable("That application can't be booked any more.")
            candidate = app.candidate
            if candidate.erased_at is not None or candidate.consent_withdrawn_at is not None:
                raise NotBookable("That application can't be booked any more.")
            pad = timedelta(minutes=person.buffer_minutes)
            wanted = Interval(slot.start - pad, slot.end + pad)
            clash = s.scalars(
                select(Booking).where(
                    Booking.interviewer_id == person.id,
                    Booking.status == BOOKED,
                    Booking.starts_at < wanted.end,
                    Booking.ends_at > wanted.start,
                    Booking.id != (reschedule or ""),
                )
            ).first()
            if clash is not None:
                raise _Clash
            if reschedule is not None:
                booking = s.get(Booking, reschedule)
                if booking is None or booking.status != BOOKED:
                    raise NotBookable("That booking no longer exists.")
                old_interviewer = booking.interviewer_id
                if old_interviewer != person.id and booking.calendar_state != SYNC_NONE:
                    # The event moves to another calendar: remove it from the old one.
                    s.add(CalendarCleanup(interviewer_id=old_interviewer,
                                          event_uid=event_uid(booking.id)))
                booking.interviewer_id = person.id
                booking.starts_at = slot.start
                booking.ends_at = slot.end
                booking.sequence += 1
                booking.candidate_timezone = candidate_tz
                booking.sender_id = sender_id
                for old in s.scalars(
                    select(BookingReminder).where(
                        BookingReminder.booking_id == booking.id,
                        BookingReminder.status == "pending",
                    )
                ):
                    old.status = "cancelled"
            else:
                booking = Booking(
                    candidate_id=app.candidate_id,
                    application_id=app.id,
                    interviewer_id=person.id,
                    starts_at=slot.start,
                    ends_at=slot.end,
                    status=BOOKED,
                    candidate_timezone=candidate_tz,
                    sender_id=sender_id,
                    sequence=0,
                )
                s.add(booking)
            booking.calendar_state = SYNC_PENDING if person.calendar_kind == "caldav" else SYNC_NONE
            booking.calendar_attempts = 0
            booking.calendar_error = None
            booking.calendar_next_try = now
            s.flush()
            for offset in self.reminder_offsets_min:
                due = slot.start - timedelta(minutes=offset)
                if due > now:
                    s.add(
                        BookingReminder(
                            booking_id=booking.id,
                            candidate_id=booking.candidate_id,
                            sequence=booking.sequence,
                            offset_minutes=offset,
                            due_at=due,
                            status="pending",
                        )
                    )
            s.flush()
            return booking.id

    def cancel(self, booking_id: str, *, by: str) -> Booking | None:
        """Cancel an active booking (None if it is not active); frees the slot at once and
        removes the calendar event (retried by the worker when the calendar is down)."""
        with self.db.transaction() as s:
            booking = s.get(Booking, booking_id)
            if booking is None or booking.status != BOOKED:
                return None
            booking.status = CANCELLED
            booking.cancelled_at = self.clock()
            booking.cancelled_by = by
            booking.sequence += 1
            if booking.calendar_state != SYNC_NONE:
                booking.calendar_state = CANCEL_PENDING
                booking.calendar_attempts = 0
                booking.calendar_next_try = self.clock()
            for reminder in s.scalars(
                select(BookingReminder).where(
                    BookingReminder.booking_id == booking.id, BookingReminder.status == "pending"
                )
            ):
                reminder.status = "cancelled"
        self.sync_calendar(booking_id)
        return self.get(booking_id)

    # ------------------------------------------------------------------ reading
    def get(self, booking_id: str) -> Booking | None:
        with self.db.transaction() as s:
            booking = s.get(Booking, booking_id)
            if booking is not None:
                s.expunge(booking)
            return booking

    def active_booking(self, application_id: str) -> Booking | None:
        with self.db.transaction() as s:
            booking = s.scalars(
                select(Booking).where(
                    Booking.application_id == application_id, Booking.status == BOOKED
                )
            ).first()
            if booking is not None:
                s.expunge(booking)
            return booking

    # ------------------------------------------------------------------ calendar write-back
    def sync_calendar(self, booking_id: str) -> str:
        """Write (or remove) the booking's event in the interviewer's CalDAV calendar.
        Idempotent: the event's UID is the booking's. Returns the new calendar state."""
        with self.db.transaction() as s:
            booking = s.get(Booking, booking_id)
            if booking is None:
                return REMOVED
            state = booking.calendar_state
            if state not in (SYNC_PENDING, SYNC_FAILED, CANCEL_PENDING):
                return state
            person = booking.interviewer
            app = s.get(Application, booking.application_id)
            title = app.job.title if app else "Interview"
            org = person.organization.name
            ics = event_ics(
                uid=event_uid(booking.id),
                sequence=booking.sequence,
                start=stored_utc(booking.starts_at),
                end=stored_utc(booking.ends_at),
                summary=f"Interview: {title} (Parley booking {booking.id[:8]})",
                description=(
                    f"Interview for {title} at {org}, booked by the candidate through Parley. "
                    f"Booking reference {booking.id[:8]}; the candidate's details are in Parley."
                ),
                organizer_name=person.name,
                organizer_email=person.email,
                method=None,
            )
            s.expunge(person)
        try:
            source = self.interviewers.calendar(person)
            if source is None or not can_write(source):
                new_state = SYNC_NONE if state != CANCEL_PENDING else REMOVED
            elif state == CANCEL_PENDING:
                source.delete_event(event_uid(booking_id))  # type: ignore[attr-defined]
                new_state = REMOVED
            else:
                source.put_event(event_uid(booking_id), ics)  # type: ignore[attr-defined]
                new_state = SYNC_DONE
            error = None
        except CalendarUnavailable as exc:
            new_state = CANCEL_PENDING if state == CANCEL_PENDING else SYNC_FAILED
            error = str(exc)[:200]
        with self.db.transaction() as s:
            booking = s.get(Booking, booking_id)
            if booking is None or booking.calendar_state != state:
                return booking.calendar_state if booking else REMOVED  # changed meanwhile
            booking.calendar_state = new_state
            booking.calendar_error = error
            if error is not None:
                booking.calendar_attempts += 1
                backoff = min(3600, 30 * 2 ** min(booking.calendar_attempts, 7))
                booking.calendar_next_try = self.clock() + timedelta(seconds=backoff)
                log.warning("calendar write for booking failed (attempt %d): %s",
                            booking.calendar_attempts, error)
            return new_state

    def retry_calendar_writes(self, limit: int = 50) -> dict[str, int]:
        """The worker's pass: retry due calendar writes and erasure clean-ups."""
        now = self.clock()
        with self.db.transaction() as s:
            ids = list(
                s.scalars(
                    select(Booking.id)
                    .where(
                        Booking.calendar_state.in_([SYNC_PENDING, SYNC_FAILED, CANCEL_PENDING]),
                        Booking.calendar_attempts < MAX_SYNC_ATTEMPTS,
                        Booking.calendar_next_try <= now,
                    )
                    .limit(limit)
                )
            )
            cleanups = list(
                s.scalars(
                    select(CalendarCleanup)
                    .where(
                        CalendarCleanup.done_at.is_(None),
                        CalendarCleanup.attempts < MAX_SYNC_ATTEMPTS,
                    )
                    .limit(limit)
                )
            )
            for row in cleanups:
                s.expunge(row)
        counts = {"written": 0, "failed": 0, "cleaned": 0}
        for booking_id in ids:
            state = self.sync_calendar(booking_id)
            counts["written" if state in (SYNC_DONE, REMOVED, SYNC_NONE) else "failed"] += 1
        for row in cleanups:
            counts["cleaned" if self._cleanup(row) else "failed"] += 1
        return counts

    def _cleanup(self, row: CalendarCleanup) -> bool:
        with self.db.transaction() as s:
            person = s.get(Interviewer, row.interviewer_id)
            if person is not None:
                s.expunge(person)
        ok = True
        try:
            source = self.interviewers.calendar(person) if person is not None else None
            if source is not None and can_write(source):
                source.delete_event(row.event_uid)  # type: ignore[attr-defined]
        except CalendarUnavailable:
            ok = False
        with self.db.transaction() as s:
            live = s.get(CalendarCleanup, row.id)
            if live is not None:
                if ok:
                    live.done_at = self.clock()
                else:
                    live.attempts += 1
        return ok
