"""What a person at the employer decides about an application: advance, reject, invite to
book an interview, ask a colleague for a review, resolve reviews (optionally overriding the
AI score).

Why one service for every front end: the Slack buttons and any later terminal command must
apply the same rules in the same order, and each rule here protects someone:

* the application must belong to the employer's organization and be a real application
  (never a practice run) — anything else is denied and written to `employer_audit`;
* the person's role must allow acting (viewers look, they do not act);
* a stale button (the candidate withdrew, withdrew consent, asked for deletion, or the rows
  are gone) changes nothing and says so;
* a rejection waits while a human review of the application is open: a person asked to look
  again, and the candidate must not be rejected meanwhile;
* every decision is a row in `employer_decisions` (who, when, why — the reason is sealed like
  any data about the candidate), and every call, allowed or not, a row in `employer_audit`.

Double clicks and two people pressing at once: every decision first takes the application's
`application_reviews` row (inserted if missing, then locked FOR UPDATE on PostgreSQL; SQLite
serialises writers with BEGIN IMMEDIATE), so the second click sees the first one's result and
changes nothing ("Already advanced").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from employers import audit
from employers.orgs import Employer
from employers.roles import Permission, can
from oversight.decision_log import record_employer
from privacy.outbox import enqueue
from privacy.reviews import (
    CORRECTION,
    DECISION_REVIEW,
    EMPLOYER_REVIEW,
    OPEN,
    ensure_review,
    resolve,
)
from storage.db import Database
from storage.models import (
    Application,
    ApplicationReview,
    ApplicationScore,
    Booking,
    BookingInvitation,
    Candidate,
    ChannelIdentity,
    EmployerDecision,
    HumanReview,
)

log = logging.getLogger(__name__)

# application_reviews.stage
NEW = "new"
ADVANCED = "advanced"
REJECTED = "rejected"

# employer_decisions.kind
KIND_ADVANCED = "advanced"
KIND_REJECTED = "rejected"
KIND_REVIEW_REQUESTED = "review_requested"
KIND_REVIEW_RESOLVED = "review_resolved"
KIND_SCORE_OVERRIDE = "score_override"
KIND_INVITED = "invited"

# employer_audit.action
ACTION_ADVANCE = "advance"
ACTION_REJECT = "reject"
ACTION_SCHEDULE = "schedule"
ACTION_REQUEST_REVIEW = "request_review"
ACTION_RESOLVE_REVIEW = "resolve_review"

# outbound_messages.kind
REJECTION_MESSAGE = "employer_rejection"
REVIEW_OUTCOME_MESSAGE = "review_outcome"

MAX_REASON_CHARS = 1000
FINISHED = ("completed", "knocked_out")
CLOSED_INVITATION = "closed"  # scheduling.chat.CLOSED (not imported: it loads the booking code)
# Application ids are uuid4 hex; anything else in a button value is not one of ours.
_APPLICATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Control characters other than newline and tab: a reason is shown in Slack and to the
# candidate, where they have no business.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

STALE = "This candidate is no longer in the process (withdrawn or deleted); nothing was changed."
# Reviews whose outcome the candidate asked to hear (GDPR art. 22 review, a disputed score).
_CANDIDATE_ASKED = (DECISION_REVIEW, CORRECTION)


@dataclass(frozen=True)
class Outcome:
    """What a decision did, for the person who pressed the button.

    `ok`: the request was carried out or already was (a repeated click); `changed`: this call
    changed something; `denied`: refused for who the person is (another organization, a
    viewer) rather than for the application's state.
    """

    ok: bool
    message: str
    changed: bool = False
    denied: bool = False


def clean_text(value: object, limit: int = MAX_REASON_CHARS) -> str | None:
    """A free-text reason as typed, without control characters and surrounding blanks; None
    when empty, not text, or longer than `limit` (a huge value is never processed further)."""
    if not isinstance(value, str) or len(value) > limit * 4:
        return None
    clean = _CONTROL.sub("", value).strip()
    if not clean or len(clean) > limit:
        return None
    return clean


def parse_override(value: object) -> tuple[int | None, str | None]:
    """An override score as people give it (0–100, a whole number; text from a form is
    accepted). Returns (score, problem)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        return None, "The score must be a whole number from 0 to 100."
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"\d{1,3}", text):
            return None, "The score must be a whole number from 0 to 100."
        value = int(text)
    if not isinstance(value, int) or not 0 <= value <= 100:
        return None, "The score must be a whole number from 0 to 100."
    return value, None


def text_channel(s: Session, candidate_id: str) -> str | None:
    """Where a message reaches the candidate: their newest linked chat that is not the
    phone (a call cannot be rung back with a text). Same rule as the scheduling invitation."""
    rows = s.scalars(
        select(ChannelIdentity.sender_id)
        .where(ChannelIdentity.candidate_id == candidate_id)
        .order_by(ChannelIdentity.id.desc())
    )
    return next((sender for sender in rows if not sender.startswith("voice:")), None)


def rejection_text(job_title: str, org_name: str, *, booked: bool = False) -> str:
    """The courteous message a rejected candidate gets: the job and the organization, thanks,
    how to ask a person to review the decision, and their data rights. Never a score or the
    employer's reason (that is the employer's note; the candidate can see it in /mydata)."""
    cancelled = " The interview that was booked for you is cancelled." if booked else ""
    return (
        f"Thank you for applying for {job_title} at {org_name}, and for the time you gave to "
        f"the interview. After careful consideration, {org_name} has decided not to move "
        "forward with your application this time. This decision was made by a person, not "
        f"by the AI.{cancelled}\n\n"
        "If you would like someone to review this decision, send /review and tell us what "
        "you think. You can see the data we hold about you with /mydata, download it with "
        "/export, or have it deleted with /delete.\n\n"
        "We wish you all the best with your search."
    )


def review_outcome_text(job_title: str, org_name: str, resolution: str) -> str:
    """The candidate asked for a review (or disputed a score): a person's conclusion."""
    return (
        f"A person at {org_name} has reviewed your application for {job_title}, as you "
        f"asked. Their conclusion:\n\n{resolution}\n\n"
        "If you have questions, say 'human' to talk to a person. You can see everything we "
        "hold about you with /mydata."
    )


def _ref(application_id: str) -> str:
    return f"`{application_id[:8]}`"


def _pct(value: float | None) -> str:
    return "none" if value is None else f"{round(value * 100)}/100"


class DecisionService:
    """Decisions on applications by people at the employer (see the module docstring)."""

    def __init__(self, db: Database, *, scheduling: Any | None = None) -> None:
        self.db = db
        self._scheduling = scheduling

    @property
    def scheduling(self) -> Any:
        """The scheduling dialogue (scheduling.chat.SchedulingChat), built on first use so
        that the other decisions never load the booking machinery."""
        if self._scheduling is None:
            from scheduling.chat import SchedulingChat

            self._scheduling = SchedulingChat(self.db)
        return self._scheduling

    # ------------------------------------------------------------------ decisions
    def advance(self, employer: Employer, application_id: str) -> Outcome:
        """Move the application forward in the employer's pipeline (the candidate is not
        messaged: inviting them to book is `schedule`)."""
        with self.db.transaction() as s:
            app, refused = self._gate(s, employer, application_id, ACTION_ADVANCE)
            if refused is not None:
                return refused
            assert app is not None
            if app.status not in FINISHED:
                return self._invalid(s, employer, app, ACTION_ADVANCE, "not finished",
                                     _unfinished(app))
            review = _lock(s, app.id)
            if review.stage == ADVANCED:
                return self._same(s, employer, app, ACTION_ADVANCE,
                                  f"Already advanced: application {_ref(app.id)}.")
            if review.stage == REJECTED:
                return self._invalid(
                    s, employer, app, ACTION_ADVANCE, "already rejected",
                    f"Application {_ref(app.id)} was already rejected and the candidate has "
                    "been told; it can't be advanced. Nothing was changed.",
                )
            review.stage = ADVANCED
            self._decide(s, employer, app, KIND_ADVANCED)
            self._allowed(s, employer, app, ACTION_ADVANCE, "stage advanced")
            return Outcome(True, f"Advanced application {_ref(app.id)} ({app.job.title}).",
                           changed=True)

    def reject(
        self, employer: Employer, application_id: str, reason: str | None = None
    ) -> Outcome:
        """Reject the application and tell the candidate, courteously, on their chat.
        Refused while a human review of the application is open. `reason` (optional) is the
        employer's own note, stored sealed; it is not sent to the candidate."""
        with self.db.transaction() as s:
            app, refused = self._gate(s, employer, application_id, ACTION_REJECT)
            if refused is not None:
                return refused
            assert app is not None
            note: str | None = None
            if reason is not None and not (isinstance(reason, str) and not reason.strip()):
                note = clean_text(reason)
                if note is None:
                    return self._invalid(
                        s, employer, app, ACTION_REJECT, "bad reason",
                        f"The reason must be text of at most {MAX_REASON_CHARS:,} characters. "
                        "Nothing was changed.",
                    )
            if app.status not in FINISHED:
                return self._invalid(s, employer, app, ACTION_REJECT, "not finished",
                                     _unfinished(app))
            review = _lock(s, app.id)
            if review.stage == REJECTED:
                return self._same(s, employer, app, ACTION_REJECT,
                                  f"Already rejected: application {_ref(app.id)}.")
            if _blocking_reviews(s, app):
                return self._invalid(
                    s, employer, app, ACTION_REJECT, "blocked: open review",
                    f"A human review is open for application {_ref(app.id)}: resolve it "
                    "first (Resolve review), then reject. Nothing was changed.",
                )
            review.stage = REJECTED
            self._decide(s, employer, app, KIND_REJECTED, reason=note)
            booking_id = _close_booking_invitation(s, app.id)
            sender = text_channel(s, app.candidate_id)
            org_name = app.job.organization.name
            if sender is not None:
                enqueue(s, app.candidate_id, sender, REJECTION_MESSAGE,
                        rejection_text(app.job.title, org_name, booked=booking_id is not None))
                told = "The candidate gets a courteous message on their chat."
            else:
                told = (
                    "The candidate has no chat to receive a message (they interviewed by "
                    "phone only): please let them know another way."
                )
            self._allowed(s, employer, app, ACTION_REJECT,
                          "stage rejected; " + ("message queued" if sender else "no channel"))
            message = f"Rejected application {_ref(app.id)} ({app.job.title}). {told}"
        if booking_id is not None:
            message += " Their booked interview is cancelled."
            self._cancel_booking(booking_id)
        return Outcome(True, message, changed=True)

    def schedule(self, employer: Employer, application_id: str) -> Outcome:
        """Invite the candidate to book an interview (the Scheduling flow: the invitation
        reaches them on their chat). The booking dialogue runs its own transactions, so the
        checks and the record of the decision are two short transactions around it."""
        with self.db.transaction() as s:
            app, refused = self._gate(s, employer, application_id, ACTION_SCHEDULE)
            if refused is not None:
                return refused
            assert app is not None
            review = s.get(ApplicationReview, app.id)
            if review is not None and review.stage == REJECTED:
                return self._invalid(
                    s, employer, app, ACTION_SCHEDULE, "already rejected",
                    f"Application {_ref(app.id)} was rejected; there is no interview to "
                    "schedule. Nothing was changed.",
                )
            app_id = app.id
        try:
            result = str(self.scheduling.invite(app_id, reason="employer"))
        except IntegrityError:  # a second click raced the first: the invitation exists
            result = "already invited"
        with self.db.transaction() as s:
            app = s.get(Application, app_id)
            if app is None:  # deleted in between
                audit.record(s, actor=employer.actor, organization_id=employer.organization_id,
                             action=ACTION_SCHEDULE, outcome=audit.INVALID,
                             detail="stale: application gone")
                return Outcome(False, STALE)
            if result == "invited":
                self._decide(s, employer, app, KIND_INVITED)
                self._allowed(s, employer, app, ACTION_SCHEDULE, "invited")
                return Outcome(
                    True,
                    f"Invited: the candidate of application {_ref(app.id)} was asked on their "
                    f"chat to book an interview for {app.job.title}.",
                    changed=True,
                )
            if result.startswith("already invited"):
                return self._same(s, employer, app, ACTION_SCHEDULE,
                                  f"Already invited to book: application {_ref(app.id)} "
                                  f"{result[len('already invited'):].strip()}".rstrip() + ".")
            self._invalid(s, employer, app, ACTION_SCHEDULE, f"not invited: {result}", "")
            if "withdrew consent" in result or "deletion" in result:
                return Outcome(False, STALE)
            return Outcome(False, f"Couldn't invite the candidate of application "
                                  f"{_ref(app.id)}: {result}. Nothing was changed.")

    def request_review(self, employer: Employer, application_id: str, reason: str) -> Outcome:
        """Ask for a (second) human review of the application before anyone decides. The
        reason is required; it is stored sealed with the decision. While the review is open
        nothing rejects the candidate."""
        with self.db.transaction() as s:
            app, refused = self._gate(s, employer, application_id, ACTION_REQUEST_REVIEW)
            if refused is not None:
                return refused
            assert app is not None
            note = clean_text(reason)
            if note is None:
                return self._invalid(
                    s, employer, app, ACTION_REQUEST_REVIEW, "missing or bad reason",
                    f"Please give a reason for the review (1 to {MAX_REASON_CHARS:,} "
                    "characters). Nothing was changed.",
                )
            _lock(s, app.id)
            row, created = ensure_review(s, app.candidate_id, EMPLOYER_REVIEW, app.id)
            if not created:
                return self._same(s, employer, app, ACTION_REQUEST_REVIEW,
                                  f"A review requested by your team is already open for "
                                  f"application {_ref(app.id)}.")
            self._decide(s, employer, app, KIND_REVIEW_REQUESTED, reason=note, review_id=row.id)
            self._allowed(s, employer, app, ACTION_REQUEST_REVIEW, f"review {row.id} opened")
            return Outcome(
                True,
                f"Review requested for application {_ref(app.id)}. It stays open until someone "
                "resolves it; meanwhile the candidate can't be rejected.",
                changed=True,
            )

    def resolve_review(
        self,
        employer: Employer,
        application_id: str,
        resolution: str,
        override_score: int | None = None,
    ) -> Outcome:
        """Resolve every open review of the application with `resolution` (required), and
        optionally set the score a person decided (0–100) instead of the AI's — recorded
        with who, why, and the AI score it replaces. A candidate who asked for the review is
        sent the conclusion on their chat."""
        with self.db.transaction() as s:
            app, refused = self._gate(s, employer, application_id, ACTION_RESOLVE_REVIEW)
            if refused is not None:
                return refused
            assert app is not None
            note = clean_text(resolution)
            if note is None:
                return self._invalid(
                    s, employer, app, ACTION_RESOLVE_REVIEW, "missing or bad resolution",
                    f"Please describe the outcome of the review (1 to {MAX_REASON_CHARS:,} "
                    "characters). Nothing was changed.",
                )
            score, problem = parse_override(override_score)
            if problem is not None:
                return self._invalid(s, employer, app, ACTION_RESOLVE_REVIEW, "bad score",
                                     f"{problem} Nothing was changed.")
            standing = _lock(s, app.id)
            reviews = _blocking_reviews(s, app)
            if not reviews and score is None:
                return self._invalid(
                    s, employer, app, ACTION_RESOLVE_REVIEW, "no open review",
                    f"No open review to resolve for application {_ref(app.id)}.",
                )
            new_score = None if score is None else score / 100
            same_score = new_score is not None and standing.override_score is not None and (
                abs(standing.override_score - new_score) < 1e-9
            )
            if not reviews and same_score:
                return self._same(s, employer, app, ACTION_RESOLVE_REVIEW,
                                  f"Already done: application {_ref(app.id)} has no open "
                                  f"review and its score is already {score}/100.")
            parts: list[str] = []
            asked = False
            for row in reviews:
                resolve(s, row, by=employer.actor, resolution=note)
                asked = asked or row.reason in _CANDIDATE_ASKED
                self._decide(s, employer, app, KIND_REVIEW_RESOLVED, reason=note,
                             review_id=row.id)
            if reviews:
                parts.append(f"Resolved {len(reviews)} open review(s) of application "
                             f"{_ref(app.id)}.")
            if new_score is not None and not same_score:
                ai = _ai_overall(s, app.id)
                standing.override_score = new_score
                standing.override_by = employer.actor[:200]
                self._decide(s, employer, app, KIND_SCORE_OVERRIDE, reason=note,
                             old_score=ai, new_score=new_score)
                parts.append(f"Score set to {score}/100 (AI score: {_pct(ai)}).")
            if asked:
                sender = text_channel(s, app.candidate_id)
                if sender is not None:
                    enqueue(s, app.candidate_id, sender, REVIEW_OUTCOME_MESSAGE,
                            review_outcome_text(app.job.title, app.job.organization.name, note))
                    parts.append("The candidate asked for this review and was sent your "
                                 "conclusion.")
            self._allowed(
                s, employer, app, ACTION_RESOLVE_REVIEW,
                f"resolved {len(reviews)}" + ("; score overridden" if new_score is not None
                                               and not same_score else ""),
            )
            return Outcome(True, " ".join(parts), changed=True)

    def _cancel_booking(self, booking_id: str) -> None:
        """Cancel a rejected candidate's booked interview (after the rejection committed:
        the booking service runs its own transaction and removes the calendar event, which
        the worker retries when the calendar is down)."""
        booking = getattr(self.scheduling, "booking", None)
        if booking is None:
            from scheduling.booking import BookingService
            from scheduling.interviewers import Interviewers

            booking = BookingService(self.db, Interviewers(self.db))
        try:
            booking.cancel(booking_id, by="employer")
        except Exception as exc:  # the rejection stands; the booking can be cancelled later
            log.error("cancelling booking %s after a rejection failed: %s", booking_id,
                      type(exc).__name__)

    # ------------------------------------------------------------------ rules
    def _gate(
        self, s: Session, employer: Employer, application_id: object, action: str
    ) -> tuple[Application | None, Outcome | None]:
        """The checks every decision makes, in this order: a well-formed id, an existing
        application, of the employer's organization and a real application (else denied),
        a role that may act (else denied), and a candidate still in the process (else the
        stale-button answer). Each refusal is audited here."""
        org_id = employer.organization_id
        if not isinstance(application_id, str) or not _APPLICATION_ID.fullmatch(application_id):
            audit.record(s, actor=employer.actor, organization_id=org_id, action=action,
                         outcome=audit.INVALID, detail="malformed application id")
            return None, Outcome(False, "That button is not valid (unknown application). "
                                        "Nothing was changed.")
        app = s.get(Application, application_id)
        if app is None:
            # Purged (the candidate asked for deletion) or never existed: both look the same
            # from a button, and the row cannot be referenced any more.
            audit.record(s, actor=employer.actor, organization_id=org_id, action=action,
                         outcome=audit.INVALID, detail=f"stale: no application {application_id}")
            return None, Outcome(False, STALE)
        if app.mode != "application" or app.job.organization_id != org_id:
            why = "practice run" if app.mode != "application" else "another organization"
            audit.record(s, actor=employer.actor, organization_id=org_id, action=action,
                         outcome=audit.DENIED, application_id=app.id, detail=f"denied: {why}")
            log.info("employer decision denied: %s on %s (%s)", action, app.id, why)
            return None, Outcome(
                False,
                f"That application is not in your organization ({employer.org_name}); "
                "nothing was changed.",
                denied=True,
            )
        if not can(employer.role, Permission.ACT):
            audit.record(s, actor=employer.actor, organization_id=org_id, action=action,
                         outcome=audit.DENIED, job_slug=app.job.slug, application_id=app.id,
                         detail=f"denied: role {employer.role[:20]}")
            return None, Outcome(
                False,
                "Viewers can look, not act; ask an admin of "
                f"{employer.org_name} to make you a recruiter.",
                denied=True,
            )
        candidate = s.get(Candidate, app.candidate_id)
        stale = (
            "withdrawn" if app.status == "withdrawn"
            else "no candidate" if candidate is None
            else "erased" if candidate.erased_at is not None
            else "consent withdrawn" if candidate.consent_withdrawn_at is not None
            else None
        )
        if stale is not None:
            audit.record(s, actor=employer.actor, organization_id=org_id, action=action,
                         outcome=audit.INVALID, job_slug=app.job.slug, application_id=app.id,
                         detail=f"stale: {stale}")
            return None, Outcome(False, STALE)
        return app, None

    @staticmethod
    def _decide(
        s: Session,
        employer: Employer,
        app: Application,
        kind: str,
        *,
        reason: str | None = None,
        old_score: float | None = None,
        new_score: float | None = None,
        review_id: int | None = None,
    ) -> EmployerDecision:
        row = EmployerDecision(
            application_id=app.id,
            candidate_id=app.candidate_id,
            organization_id=employer.organization_id,
            kind=kind,
            actor=employer.actor[:200],
            reason=reason,
            old_score=old_score,
            new_score=new_score,
            review_id=review_id,
        )
        s.add(row)
        s.flush()
        record_employer(s, employer, app, row)  # the decision log (oversight/decision_log.py)
        log.info("employer decision %s on application %s (decision %s)", kind, app.id, row.id)
        return row

    @staticmethod
    def _allowed(
        s: Session, employer: Employer, app: Application, action: str, detail: str
    ) -> None:
        audit.record(s, actor=employer.actor, organization_id=employer.organization_id,
                     action=action, outcome=audit.ALLOWED, job_slug=app.job.slug,
                     application_id=app.id, detail=detail)

    @staticmethod
    def _same(
        s: Session, employer: Employer, app: Application, action: str, message: str
    ) -> Outcome:
        """A repeated click: allowed, nothing changed."""
        audit.record(s, actor=employer.actor, organization_id=employer.organization_id,
                     action=action, outcome=audit.ALLOWED, job_slug=app.job.slug,
                     application_id=app.id, detail="unchanged (repeat)")
        return Outcome(True, message)

    @staticmethod
    def _invalid(
        s: Session, employer: Employer, app: Application, action: str, detail: str,
        message: str,
    ) -> Outcome:
        audit.record(s, actor=employer.actor, organization_id=employer.organization_id,
                     action=action, outcome=audit.INVALID, job_slug=app.job.slug,
                     application_id=app.id, detail=detail)
        return Outcome(False, message)


# --------------------------------------------------------------------------- helpers
def _unfinished(app: Application) -> str:
    status = app.status.replace("_", " ")
    return (
        f"The interview of application {_ref(app.id)} is not finished yet ({status}); "
        "decide once it is. Nothing was changed."
    )


def _close_booking_invitation(s: Session, application_id: str) -> str | None:
    """A rejected candidate may not book an interview any more: their invitation to book is
    closed. Returns the id of an interview already booked (to be cancelled), if any."""
    invitation = s.scalars(
        select(BookingInvitation).where(BookingInvitation.application_id == application_id)
    ).first()
    if invitation is not None and invitation.status != CLOSED_INVITATION:
        invitation.status = CLOSED_INVITATION
        invitation.offers = None
        invitation.pending_slot = None
    return s.scalars(
        select(Booking.id).where(
            Booking.application_id == application_id, Booking.status == "booked"
        )
    ).first()


def _lock(s: Session, application_id: str) -> ApplicationReview:
    """The application's `application_reviews` row, inserted if missing and locked for the
    rest of the transaction: concurrent decisions on one application run one after the
    other, and each sees the stage the previous one left. (On PostgreSQL a concurrent insert
    of the same key waits for the first to commit, then does nothing; SQLite's writers are
    serialised by BEGIN IMMEDIATE, where FOR UPDATE is not needed and not emitted.)"""
    dialect = s.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    s.execute(
        insert(ApplicationReview)
        .values(application_id=application_id, stage=NEW, updated_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["application_id"])
    )
    return s.scalars(
        select(ApplicationReview)
        .where(ApplicationReview.application_id == application_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _blocking_reviews(s: Session, app: Application) -> list[HumanReview]:
    """Open reviews that stop a rejection of this application: its own, and any about the
    candidate as a whole (no application). Reviews of the candidate's applications to other
    organizations are theirs, not this employer's."""
    return list(
        s.scalars(
            select(HumanReview)
            .where(
                HumanReview.candidate_id == app.candidate_id,
                HumanReview.status == OPEN,
                or_(HumanReview.application_id == app.id, HumanReview.application_id.is_(None)),
            )
            .order_by(HumanReview.created_at, HumanReview.id)
        )
    )


def _ai_overall(s: Session, application_id: str) -> float | None:
    """The newest AI overall score (0..1), read as a plain column: the sealed breakdown is
    not needed here."""
    return s.scalars(
        select(ApplicationScore.overall)
        .where(ApplicationScore.application_id == application_id)
        .order_by(ApplicationScore.id.desc())
        .limit(1)
    ).first()
