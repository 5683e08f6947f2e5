"""The worker's scheduling pass: reminders, calendar write retries, and re-opened times.

Why in the worker: each of these must happen whether or not the candidate is chatting —
a reminder at its time, a calendar that comes back after an outage, an interviewer who adds
working hours after a candidate was told there was no free time. Proactive messages go to
the outbox, which the candidate's channel gateway delivers (never through Rasa).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from privacy.outbox import enqueue
from scheduling import reminders
from scheduling.booking import BookingService, CalendarDown
from scheduling.chat import CALENDAR_DOWN, INVITED, NO_TIME
from storage.models import Application, BookingInvitation

log = logging.getLogger(__name__)

REOPEN_BATCH = 20


def reopen_invitations(service: BookingService) -> int:
    """Invitations that found no free time (or no calendar): when times exist again, tell
    the candidate through their channel. Returns how many were told."""
    db = service.db
    with db.transaction() as s:
        rows = s.execute(
            select(BookingInvitation.id, Application.job_id)
            .join(Application, Application.id == BookingInvitation.application_id)
            .where(
                BookingInvitation.status.in_([NO_TIME, CALENDAR_DOWN]),
                Application.status == "completed",
            )
            .order_by(BookingInvitation.updated_at)
            .limit(REOPEN_BATCH)
        ).all()
    told = 0
    for inv_id, job_id in rows:
        try:
            if not service.free_slots(job_id, limit=1):
                continue
        except CalendarDown:
            continue
        with db.transaction() as s:
            invitation = s.get(BookingInvitation, inv_id)
            if invitation is None or invitation.status not in (NO_TIME, CALENDAR_DOWN):
                continue
            app = s.get(Application, invitation.application_id)
            assert app is not None
            what = (
                "The interview calendar is reachable again"
                if invitation.status == CALENDAR_DOWN
                else "New interview times have opened up"
            )
            invitation.status = INVITED
            enqueue(
                s, invitation.candidate_id, invitation.sender_id, "booking_reopened",
                f"{what} for {app.job.title} at {app.job.organization.name}. Send /book to "
                "choose a time.",
            )
            told += 1
    return told


def scheduling_pass(service: BookingService) -> dict[str, Any]:
    """One pass; returns counts for the worker's log line (never names or texts)."""
    sent = reminders.send_due(service.db, now=service.clock)
    calendars = service.retry_calendar_writes()
    reopened = reopen_invitations(service)
    return {
        **{f"reminders_{k}": v for k, v in sent.as_dict().items()},
        **{f"calendar_{k}": v for k, v in calendars.items()},
        "reopened": reopened,
    }
