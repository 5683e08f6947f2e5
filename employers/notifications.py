"""Notifications to an organization's Slack channel: an interview was completed (with the
score summary), a candidate asked for a person or for a human review, an interview was
booked, moved or cancelled, or a candidate found no free interview time.

Why collected from the tables rather than sent where things happen: the interview, the
privacy dialogue and the booking code know nothing of Slack (and must not), events happen in
processes that have no Slack client, and a notification must survive a restart and a Slack
outage. So `collect` looks at what happened recently and writes one `employer_notifications`
row per event — `event_key` is unique, so an event notifies once however often (and however
many workers) collect — and the Slack app delivers `pending` rows and marks them.

What a notification says: the job, a short application reference and the score summary.
Never the candidate's name, their answers or their statements: the channel is shared by the
whole team, and who may read a candidate's data is decided by the shortlist, not by a channel.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from privacy.audit import log_employer_read
from privacy.reviews import CORRECTION, DECISION_REVIEW
from scheduling.intervals import stored_utc
from screening.interview import definition_of
from screening.job_schema import is_scored
from storage.db import Database
from storage.models import (
    AnswerScore,
    Application,
    ApplicationScore,
    Booking,
    BookingInvitation,
    Candidate,
    EmployerNotification,
    HandoffRequest,
    HumanReview,
    Interviewer,
    Job,
    OrgWorkspace,
)

log = logging.getLogger(__name__)

# employer_notifications.kind
COMPLETED = "completed"
HANDOFF = "handoff"
REVIEW = "review"
BOOKING = "booking"
NO_TIME = "no_time"

MAX_ATTEMPTS = 5
LOOKBACK = timedelta(days=7)
# A finished interview is scored right after it ends; until then its notification waits (so
# it carries the score), at most this long.
SCORING_GRACE = timedelta(minutes=15)
_MAX_TEXT = 2900  # below Slack's limit for one message's text, with room to spare


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _ref(application_id: str) -> str:
    return f"`{application_id[:8]}`"


def _when(value: datetime) -> str:
    return stored_utc(value).astimezone(UTC).strftime("%a %d %b %Y %H:%M UTC")


# --------------------------------------------------------------------------- collecting
def collect(
    db: Database, *, now: datetime | None = None, lookback: timedelta = LOOKBACK
) -> int:
    """Write a notification row for every event of the last `lookback` at organizations
    with a notification channel; returns how many rows are new. Safe to run concurrently
    and repeatedly (one row per event key)."""
    moment = _now(now)
    since = moment - lookback
    with db.transaction() as s:
        orgs = set(
            s.scalars(
                select(OrgWorkspace.organization_id).where(OrgWorkspace.notify_channel.is_not(None))
            )
        )
        if not orgs:
            return 0
        events: list[dict[str, Any]] = []
        events.extend(_completed(s, orgs, since, moment))
        events.extend(_handoffs(s, orgs, since))
        events.extend(_reviews(s, orgs, since))
        events.extend(_bookings(s, orgs, since))
        events.extend(_no_time(s, orgs, since))
        return _insert_new(s, events, moment)


def _insert_new(s: Session, events: list[dict[str, Any]], moment: datetime) -> int:
    """Insert the events whose key is not stored yet. ON CONFLICT DO NOTHING on the unique
    key: a concurrent collector that inserted the same event first wins, quietly."""
    if not events:
        return 0
    keys = [e["event_key"] for e in events]
    known: set[str] = set()
    for start in range(0, len(keys), 500):
        known.update(
            s.scalars(
                select(EmployerNotification.event_key).where(
                    EmployerNotification.event_key.in_(keys[start : start + 500])
                )
            )
        )
    fresh = [e for e in events if e["event_key"] not in known]
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    added = 0
    for event in fresh:
        # RETURNING tells whether this statement inserted (rowcount is not reliable for
        # ON CONFLICT across drivers).
        inserted = s.execute(
            insert(EmployerNotification)
            .values(**event, created_at=moment, attempts=0)
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(EmployerNotification.id)
        ).first()
        added += inserted is not None
    if added:
        log.info("employer notifications collected: %d", added)
    return added


def _event(
    organization_id: int, application_id: str | None, kind: str, key: str, text: str
) -> dict[str, Any]:
    return {
        "organization_id": organization_id,
        "application_id": application_id,
        "kind": kind,
        "event_key": key[:160],
        "text": text[:_MAX_TEXT],
    }


# The candidate's state as plain columns (not the entity: its name is sealed, and loading it
# would decrypt a name nobody reads here).
_PERSON = (Candidate.erased_at, Candidate.consent_withdrawn_at, Candidate.ai_opt_out)


@dataclass(frozen=True)
class _Person:
    erased_at: datetime | None
    consent_withdrawn_at: datetime | None
    ai_opt_out: bool


def _visible(app: Application, person: _Person | None) -> bool:
    """A real application of a candidate still in the process (not erased, consent not
    withdrawn): what an employer may hear about at all."""
    return (
        app.mode == "application"
        and person is not None
        and person.erased_at is None
        and person.consent_withdrawn_at is None
    )


def _completed(
    s: Session, orgs: set[int], since: datetime, moment: datetime
) -> Iterable[dict[str, Any]]:
    rows = s.execute(
        select(Application, Job, *_PERSON)
        .join(Job, Job.id == Application.job_id)
        .join(Candidate, Candidate.id == Application.candidate_id)
        .where(
            Job.organization_id.in_(orgs),
            Application.mode == "application",
            Application.status.in_(["completed", "knocked_out"]),
            Application.finished_at.is_not(None),
            Application.finished_at >= since,
        )
        .order_by(Application.finished_at, Application.id)
    ).all()
    for app, job, *state in rows:
        candidate = _Person(*state)
        if not _visible(app, candidate):
            continue
        text = _completed_text(s, app, job, candidate, moment)
        if text is None:
            continue  # not scored yet: notify once the score is there (or the grace is over)
        yield _event(job.organization_id, app.id, COMPLETED, f"completed:{app.id}", text)


def _completed_text(
    s: Session, app: Application, job: Job, candidate: _Person, moment: datetime
) -> str | None:
    head = f"Interview completed: {job.title} · application {_ref(app.id)}"
    if app.status == "knocked_out":
        return f"{head} · knocked out by {app.knocked_out_by or 'a knockout answer'}"
    if candidate.ai_opt_out:
        return f"{head} · AI scoring off (the candidate opted out): a person scores it"
    overall = s.scalars(
        select(ApplicationScore.overall)
        .where(ApplicationScore.application_id == app.id)
        .order_by(ApplicationScore.id.desc())
        .limit(1)
    ).all()
    if not overall and stored_utc(app.finished_at or moment) > moment - SCORING_GRACE:
        return None
    score = overall[0] if overall else None
    if score is None:
        return f"{head} · not scored yet"
    parts = [head, f"score {round(score * 100)}/100"]
    scored, total, flagged = _answer_counts(s, app, job)
    if total:
        parts.append(f"{scored} of {total} answers scored")
    if flagged:
        parts.append(f"{flagged} flagged for review")
    return " · ".join(parts)


def _answer_counts(s: Session, app: Application, job: Job) -> tuple[int, int, int]:
    """(answers scored, questions the job scores, answers flagged for review) from the
    newest score of each question — plain columns only: the sealed explanations are not
    loaded."""
    try:
        wanted = [q.id for q in definition_of(job).questions if is_scored(q)]
    except ValueError:  # an unreadable old definition: count what was scored
        wanted = []
    latest: dict[str, tuple[str, bool]] = {}
    for question_id, status, needs_review in s.execute(
        select(AnswerScore.question_id, AnswerScore.status, AnswerScore.needs_review)
        .where(AnswerScore.application_id == app.id)
        .order_by(AnswerScore.id)
    ):
        latest[question_id] = (status, bool(needs_review))
    counted = [latest[q] for q in wanted if q in latest] if wanted else list(latest.values())
    scored = sum(1 for status, _ in counted if status == "scored")
    flagged = sum(1 for _, review in counted if review)
    return scored, len(wanted) or len(latest), flagged


def _handoffs(s: Session, orgs: set[int], since: datetime) -> Iterable[dict[str, Any]]:
    rows = s.execute(
        select(HandoffRequest, Application, Job, *_PERSON)
        .join(Application, Application.id == HandoffRequest.application_id)
        .join(Job, Job.id == Application.job_id)
        .join(Candidate, Candidate.id == Application.candidate_id)
        .where(Job.organization_id.in_(orgs), HandoffRequest.created_at >= since)
        .order_by(HandoffRequest.id)
    ).all()
    for handoff, app, job, *state in rows:
        candidate = _Person(*state)
        if not _visible(app, candidate):
            continue
        text = f"A candidate asked to talk to a person: {job.title} · application {_ref(app.id)}"
        if handoff.question_id:
            text += f" · at question {handoff.question_id}"
        yield _event(job.organization_id, app.id, HANDOFF, f"handoff:{handoff.id}", text)


def _reviews(s: Session, orgs: set[int], since: datetime) -> Iterable[dict[str, Any]]:
    rows = s.execute(
        select(HumanReview.id, HumanReview.reason, Application, Job, *_PERSON)
        .join(Application, Application.id == HumanReview.application_id)
        .join(Job, Job.id == Application.job_id)
        .join(Candidate, Candidate.id == Application.candidate_id)
        .where(
            Job.organization_id.in_(orgs),
            HumanReview.reason.in_([DECISION_REVIEW, CORRECTION]),
            HumanReview.created_at >= since,
        )
        .order_by(HumanReview.id)
    ).all()
    for review_id, reason, app, job, *state in rows:
        candidate = _Person(*state)
        if not _visible(app, candidate):
            continue
        what = (
            "a human review of the decision" if reason == DECISION_REVIEW
            else "a human review of an AI assessment they dispute"
        )
        text = (
            f"A candidate asked for {what}: {job.title} · application {_ref(app.id)}. "
            "Nothing is rejected automatically until someone resolves it."
        )
        yield _event(job.organization_id, app.id, REVIEW, f"review:{review_id}", text)


def _bookings(s: Session, orgs: set[int], since: datetime) -> Iterable[dict[str, Any]]:
    rows = s.execute(
        select(Booking, Application, Job, Interviewer.name, *_PERSON)
        .join(Application, Application.id == Booking.application_id)
        .join(Job, Job.id == Application.job_id)
        .join(Interviewer, Interviewer.id == Booking.interviewer_id)
        .join(Candidate, Candidate.id == Application.candidate_id)
        .where(Job.organization_id.in_(orgs), Booking.updated_at >= since)
        .order_by(Booking.updated_at, Booking.id)
    ).all()
    for booking, app, job, interviewer, *state in rows:
        candidate = _Person(*state)
        if app.mode != "application":
            continue
        # A cancellation is news even when the candidate has left (the erasure cancels the
        # booking); anything else about a candidate who left is not.
        if booking.status != "cancelled" and not _visible(app, candidate):
            continue
        if booking.status == "cancelled":
            what = "Interview cancelled"
            by = {
                "candidate": " (by the candidate)",
                "employer": " (by your team)",
                "erasure": " (the candidate's data was deleted)",
            }.get(booking.cancelled_by or "", "")
        elif booking.status == "booked":
            what = "Interview booked" if booking.sequence == 0 else "Interview rescheduled"
            by = ""
        else:
            continue
        text = (
            f"{what}: {job.title} · application {_ref(app.id)} · "
            f"{_when(booking.starts_at)} with {interviewer}{by}"
        )
        key = f"booking:{booking.id}:{booking.sequence}:{booking.status}"
        yield _event(job.organization_id, app.id, BOOKING, key, text)


def _no_time(s: Session, orgs: set[int], since: datetime) -> Iterable[dict[str, Any]]:
    rows = s.execute(
        select(BookingInvitation.id, Application, Job, *_PERSON)
        .join(Application, Application.id == BookingInvitation.application_id)
        .join(Job, Job.id == Application.job_id)
        .join(Candidate, Candidate.id == Application.candidate_id)
        .where(
            Job.organization_id.in_(orgs),
            BookingInvitation.status == "no_time",
            BookingInvitation.updated_at >= since,
        )
        .order_by(BookingInvitation.id)
    ).all()
    for invitation_id, app, job, *state in rows:
        candidate = _Person(*state)
        if not _visible(app, candidate):
            continue
        text = (
            f"No free interview time: the candidate of application {_ref(app.id)} "
            f"({job.title}) could not find a slot in the next two weeks. Add interviewer "
            "availability (`parley calendars`); they are told when times open up."
        )
        yield _event(job.organization_id, app.id, NO_TIME, f"no_time:{invitation_id}", text)


# --------------------------------------------------------------------------- delivering
# pg_try_advisory_lock key for "a gateway is posting notifications" (any fixed 64-bit number
# unique to this use).
DELIVERY_LOCK_KEY = 0x7061726C65790009


@contextlib.contextmanager
def delivery_round(db: Database) -> Iterator[bool]:
    """Whether this process may post notifications now: with several Slack gateway replicas
    on one PostgreSQL database only one posts at a time (a session-level advisory lock, held
    on its own connection for the round), so a pending row is never posted by two replicas
    at once. The others skip the round. SQLite is one process's database: always True."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    with db.engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": DELIVERY_LOCK_KEY})
                   .scalar())  # fmt: skip
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": DELIVERY_LOCK_KEY})
                conn.commit()


def pending(db: Database, limit: int = 50) -> list[tuple[int, str, str]]:
    """Undelivered notifications, oldest first, as (id, channel id, text), for
    organizations that (still) have a channel. An organization linked to several
    workspaces is notified in the channel of the first one that set a channel. Rows that
    failed `MAX_ATTEMPTS` times are given up."""
    with db.transaction() as s:
        channels: dict[int, str] = {}
        for org_id, channel in s.execute(
            select(OrgWorkspace.organization_id, OrgWorkspace.notify_channel)
            .where(OrgWorkspace.notify_channel.is_not(None))
            .order_by(OrgWorkspace.id)
        ):
            channels.setdefault(org_id, channel)
        if not channels:
            return []
        rows = s.execute(
            select(EmployerNotification.id, EmployerNotification.organization_id,
                   EmployerNotification.text)
            .where(
                EmployerNotification.sent_at.is_(None),
                EmployerNotification.attempts < MAX_ATTEMPTS,
                EmployerNotification.organization_id.in_(list(channels)),
            )
            .order_by(EmployerNotification.id)
            .limit(max(1, min(int(limit), 500)))
        ).all()
        return [(row_id, channels[org_id], text) for row_id, org_id, text in rows]


def mark_sent(
    db: Database,
    notification_id: int,
    *,
    channel: str | None = None,
    now: datetime | None = None,
) -> None:
    """Delivered: never sent again. A notification about an application told the employer
    something about the candidate (that they finished, their score, a booking), so it is
    written to the candidate's access log like any other employer read, in the same
    transaction; the actor is the channel it was posted to."""
    with db.transaction() as s:
        row = s.get(EmployerNotification, notification_id)
        if row is None or row.sent_at is not None:
            return
        row.sent_at = _now(now)
        row.attempts += 1
        row.last_error = None
        app = s.get(Application, row.application_id) if row.application_id else None
        if app is not None:
            log_employer_read(
                s,
                app,
                actor=f"slack-channel:{channel or 'unknown'}",
                purpose=f"notification: {row.kind}",
                action="was notified about your application",
            )


def mark_failed(db: Database, notification_id: int, error_code: str) -> None:
    """A delivery failed (`error_code`: Slack's error such as `channel_not_found`, or an
    exception's type name — never a message text). After `MAX_ATTEMPTS` failures the row is
    given up: it stays unsent and `pending` no longer returns it."""
    with db.transaction() as s:
        row = s.get(EmployerNotification, notification_id)
        if row is None or row.sent_at is not None:
            return
        row.attempts += 1
        row.last_error = " ".join(str(error_code).split())[:100] or "error"
        if row.attempts >= MAX_ATTEMPTS:
            log.warning("employer notification %s given up after %d attempts (%s)",
                        row.id, row.attempts, row.last_error)
