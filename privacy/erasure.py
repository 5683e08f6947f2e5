"""Deletion: one answer, the recordings, or everything about a candidate.

"Delete everything" happens in two steps, because the two promises differ:

1. *Removal from use*, at once (`erase_candidate`): the candidate is marked erased, every
   employer-facing read skips them (`CandidateRepository.in_use`), open applications are
   withdrawn, undelivered messages cancelled, export archives destroyed, and an `erasures`
   row records what the purge must still reach (the sender ids, sealed under the system key).
2. *The purge*, within `settings.purge_after_days` (privacy/purge.py): the rows, Rasa's
   tracker events, Redis keys, files and log lines go, the data key is destroyed, and the
   `erasures` row becomes a tombstone without personal data.

A legal hold never stops step 1; it blocks step 2, and the result says so (`held`) so the
chat can tell the candidate.

Deleting one answer is immediate and complete (there is nothing to wait for): the answer, its
AI scores (ON DELETE CASCADE), its recording and transcript files, corrections of it, and
every overall-score snapshot of the application go. Decision: the old snapshots are deleted
rather than kept for reproducibility, because each one's breakdown carries the deleted
answer's score and summary; a fresh snapshot of the remaining answers replaces them, so the
employer sees neither the answer nor its effect on the overall score. If the deleted answer
was the one that knocked the application out, the application is withdrawn instead (a
knockout without its answer would still be its effect).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from fairness import self_id
from privacy.holds import active_hold
from privacy.requests import Kind, RequestStatus, complete, open_request
from privacy.tombstones import (
    ErasureStatus,
    NoSuchCandidate,
    Reason,
    dump_sender_ids,
    open_erasure,
    subject_hash,
)
from storage.db import Database
from storage.models import (
    Answer,
    Application,
    ApplicationScore,
    Candidate,
    ChannelIdentity,
    ConsentRecord,
    Correction,
    Erasure,
    ExportArchive,
    OutboundMessage,
    PrivacyRequest,
)
from storage.repositories import (
    OPEN_APPLICATION_STATUSES,
    WITHDRAWN,
    ApplicationRepository,
    CandidateRepository,
    channel_of,
)

if TYPE_CHECKING:
    from parley.settings import Settings
    from storage.files import FileStore

log = logging.getLogger(__name__)

NOTHING_STORED = "I have nothing stored about you."
# Statuses of screening.interview.Status, spelled out here so that privacy does not import the
# interview (which itself hands privacy commands to privacy/chat.py).
KNOCKED_OUT = "knocked_out"
FINISHED = ("completed", "knocked_out")
_QUESTION_NUMBER = re.compile(r"^(?:#|q|question\s*)?\s*(\d{1,3})$", re.IGNORECASE)


# --------------------------------------------------------------------------- one answer
def delete_answer(db: Database, files: FileStore, sender_id: str, question_ref: str) -> str:
    """Delete the answer to one question of the candidate's latest application ("3" is the
    third question; a question id works too), with its scores, files and corrections."""
    ref = (question_ref or "").strip()
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None:
            return NOTHING_STORED
        apps = ApplicationRepository(s).for_candidate(candidate.id)
        if not apps:
            return "You have no answers stored, so there is nothing to delete."
        app = apps[0]
        title = app.job.title
        questions = _questions(app)
        question_id = _resolve_question(questions, ref)
        if question_id is None:
            return (
                f"I couldn't find a question {ref[:40]!r} in your application for {title}. "
                f"Say which question by its number (1–{len(questions)})."
            )
        number = [q["id"] for q in questions].index(question_id) + 1
        answer = ApplicationRepository(s).answer(app.id, question_id)
        if answer is None:
            return f"You have no answer to question {number} of your {title} application stored."
        request = open_request(
            s,
            candidate,
            Kind.PARTIAL_ERASURE,
            channel_of(sender_id),
            detail={"what": "answer", "application_id": app.id, "question_id": question_id},
        )
        had_recording = bool(answer.audio_ref)
        _delete_answer_files(files, candidate.id, answer)
        s.execute(
            delete(Correction)
            .where(Correction.application_id == app.id, _target_is(question_id))
            .execution_options(synchronize_session=False)
        )
        s.delete(answer)  # its answer_scores go by ON DELETE CASCADE
        s.flush()
        had_overall = (
            s.execute(
                delete(ApplicationScore)
                .where(ApplicationScore.application_id == app.id)
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )
        withdrawn = app.status == KNOCKED_OUT and app.knocked_out_by == question_id
        if withdrawn:
            app.status = WITHDRAWN
            app.knocked_out_by = None
        reopened = app.status in OPEN_APPLICATION_STATUSES
        complete(request)
        app_id, finished = app.id, app.status in FINISHED or withdrawn
    if had_overall or finished:
        _refresh_overall(db, app_id)
    log.info("partial erasure: answer deleted in application %s", app_id)
    parts = [f"Done — I deleted your answer to question {number} of your {title} application"]
    parts.append(", with its AI score and its recording." if had_recording else
                 " and its AI score.")  # fmt: skip
    text = "".join(parts)
    if withdrawn:
        text += (
            " That answer decided the outcome of the application, so without it the "
            "application is withdrawn."
        )
    elif reopened:
        text += " When you continue the interview, I'll ask that question again."
    return text


def delete_recordings(db: Database, files: FileStore, sender_id: str) -> str:
    """Delete every recording of the candidate (the written answers and transcripts stay)."""
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None:
            return NOTHING_STORED
        request = open_request(
            s, candidate, Kind.PARTIAL_ERASURE, channel_of(sender_id), detail={"what": "recordings"}
        )
        count = delete_candidate_recordings(s, files, candidate.id)
        complete(request)
    log.info("partial erasure: %d recordings deleted", count)
    if not count:
        return "You have no recordings stored, so there was nothing to delete."
    noun = "recording" if count == 1 else "recordings"
    return f"Done — I deleted {count} {noun}. Your written answers and transcripts stay."


def delete_candidate_recordings(s: Session, files: FileStore, candidate_id: str) -> int:
    """Delete the candidate's recording files and clear `audio_ref`; returns the count."""
    count = 0
    answers = s.scalars(
        select(Answer)
        .join(Application, Application.id == Answer.application_id)
        .where(Application.candidate_id == candidate_id, Answer.audio_ref.is_not(None))
    )
    for answer in answers:
        files.delete(answer.audio_ref or "")
        answer.audio_ref = None
        count += 1
    for ref in files.refs_for(candidate_id):
        if ref.startswith(f"{candidate_id}/recordings/") and files.delete(ref):
            count += 1
    return count


def _delete_answer_files(files: FileStore, candidate_id: str, answer: Answer) -> None:
    for ref in (answer.audio_ref, answer.transcript_ref):
        if ref:
            files.delete(ref)
    stems = (f"{candidate_id}/recordings/{answer.id}.", f"{candidate_id}/transcripts/{answer.id}.")
    for ref in files.refs_for(candidate_id):
        if ref.startswith(stems):
            files.delete(ref)


def _questions(app: Application) -> list[dict[str, Any]]:
    return [q for q in (app.job.definition or {}).get("questions", []) if isinstance(q, dict)]


def _resolve_question(questions: list[dict[str, Any]], ref: str) -> str | None:
    if not ref or len(ref) > 100:
        return None
    match = _QUESTION_NUMBER.match(ref)
    if match:
        index = int(match.group(1)) - 1
        return str(questions[index]["id"]) if 0 <= index < len(questions) else None
    for q in questions:
        if str(q.get("id", "")).lower() == ref.lower():
            return str(q["id"])
    return None


def _target_is(question_id: str) -> Any:
    """Corrections name their target as the question id, optionally with a prefix."""
    return or_(
        Correction.target == question_id,
        *(Correction.target.endswith(sep + question_id) for sep in (":", "/", ".")),
    )


def _refresh_overall(db: Database, application_id: str) -> None:
    """A new overall-score snapshot from the remaining answers (no scoring model needed)."""
    from screening.assessment import AssessmentService  # lazy: screening imports privacy

    AssessmentService(db).refresh_application(application_id)


# --------------------------------------------------------------------------- everything
@dataclass(frozen=True)
class ErasureResult:
    """What "delete everything" did: the chat and the CLI word their reply from this."""

    candidate_id: str
    erasure_id: int
    due_at: datetime
    held: bool
    hold_reason: str | None  # the internal reason: for operators, not for the candidate
    already_scheduled: bool

    def message(self) -> str:
        """A reply for the candidate (the hold's reason is not theirs to see: see holds)."""
        day = self.due_at.strftime("%d %B %Y")
        if self.held:
            return (
                "Your data is out of use: no employer can see it any more. We can't delete it "
                "completely yet, because we are legally required to keep it for now (a legal "
                "hold). It will be deleted as soon as the hold ends, and I'll let you know."
            )
        if self.already_scheduled:
            return (
                "Your deletion is already scheduled: your data is out of use, and it will be "
                f"deleted completely by {day}. There's nothing more you need to do."
            )
        return (
            "Done — your data is out of use: no employer can see it any more, and any open "
            f"application is withdrawn. Everything will be deleted completely by {day}."
        )


def erase_candidate(
    db: Database,
    settings: Settings,
    candidate_id: str,
    request_id: str | None = None,
    reason: str = "request",
) -> ErasureResult:
    """Take the candidate out of use now and schedule the purge (idempotent: a repeated
    request changes nothing and reports `already_scheduled`)."""
    files = _files(settings, db)
    with db.transaction() as s:
        candidate = _lock_candidate(s, candidate_id)
        due = datetime.now(UTC) + timedelta(days=settings.purge_after_days)
        return remove_from_use(
            s, files, candidate, request_id=request_id, reason=reason, due_at=due
        )


def cancel_bookings_for_erasure(s: Session, candidate_id: str, now: datetime) -> int:
    """Cancel the candidate's active bookings, their reminders and open invitations; queue
    the removal of every calendar event written for them. Returns the bookings cancelled."""
    from storage.models import Booking, BookingInvitation, BookingReminder, CalendarCleanup

    count = 0
    for booking in s.scalars(select(Booking).where(Booking.candidate_id == candidate_id)):
        if booking.calendar_state in ("pending", "synced", "failed", "cancel_pending"):
            s.add(CalendarCleanup(interviewer_id=booking.interviewer_id,
                                  event_uid=f"{booking.id}@parley"))
            booking.calendar_state = "removed"
        if booking.status == "booked":
            booking.status = "cancelled"
            booking.cancelled_at = now
            booking.cancelled_by = "erasure"
            count += 1
    for reminder in s.scalars(
        select(BookingReminder).where(
            BookingReminder.candidate_id == candidate_id, BookingReminder.status == "pending"
        )
    ):
        reminder.status = "cancelled"
    for invitation in s.scalars(
        select(BookingInvitation).where(BookingInvitation.candidate_id == candidate_id)
    ):
        invitation.status = "closed"
    return count


def remove_from_use(
    s: Session,
    files: FileStore | None,
    candidate: Candidate,
    *,
    request_id: str | None,
    reason: str,
    due_at: datetime,
) -> ErasureResult:
    """Step 1 of an erasure inside the caller's transaction (also used by retention and
    forget_sender): out of use now, purge scheduled for `due_at`. `files` None: export
    files are left to the purge (which deletes every file of the candidate)."""
    now = datetime.now(UTC)
    hold = active_hold(s, candidate.id)
    existing = open_erasure(s, candidate.id, lock=True)
    if existing is not None and candidate.erased_at is not None:
        if request_id:
            _close_request(s, request_id, RequestStatus.ON_HOLD if hold else None)
        return ErasureResult(
            candidate.id, existing.id, _aware(existing.due_at), hold is not None,
            hold.reason if hold else None, already_scheduled=True,
        )  # fmt: skip
    sender_ids = list(
        s.scalars(
            select(ChannelIdentity.sender_id).where(ChannelIdentity.candidate_id == candidate.id)
        )
    )
    candidate.erased_at = candidate.erased_at or now
    candidate.purge_after = due_at
    ApplicationRepository(s).withdraw_open(candidate.id, now)
    # Booked interviews are cancelled and their slots freed at once; the calendar events are
    # removed by the worker from `calendar_cleanups`, which names no candidate.
    cancel_bookings_for_erasure(s, candidate.id, now)
    s.execute(
        delete(OutboundMessage)
        .where(OutboundMessage.candidate_id == candidate.id, OutboundMessage.sent_at.is_(None))
        .execution_options(synchronize_session=False)
    )
    _delete_exports(s, files, candidate.id)
    # The voluntary self-identification has no use once the person asked to be forgotten:
    # it goes now (row and key), not at the purge — unless a legal hold keeps everything.
    if hold is None:
        self_id.delete(s, candidate.id)
    for row in s.scalars(
        select(PrivacyRequest).where(
            PrivacyRequest.candidate_id == candidate.id,
            PrivacyRequest.status.in_(
                [str(RequestStatus.AWAITING_CONFIRMATION), str(RequestStatus.AWAITING_CODE),
                 str(RequestStatus.AWAITING_INPUT), str(RequestStatus.OPEN)]
            ),
            PrivacyRequest.id != (request_id or ""),
        )
    ):  # fmt: skip
        complete(row, RequestStatus.CANCELLED)
    erasure = existing or Erasure(
        candidate_id=candidate.id,
        subject_hash=subject_hash(s, candidate.id),
        request_id=request_id,
        reason=reason,
        requested_at=now,
    )
    erasure.sender_ids = dump_sender_ids(s, sender_ids)
    erasure.removed_at = now
    erasure.due_at = due_at
    erasure.status = str(ErasureStatus.HELD if hold else ErasureStatus.PENDING)
    s.add(erasure)
    # Out of use means the channel identities go now: the sender ids live on only sealed in
    # the erasure row (for the purge), so a message from them finds no one — "what data do
    # you have?" answers "nothing", and a new interview starts a new candidate whose
    # conversation the purge leaves alone (it deletes only tracker events up to now).
    s.execute(
        delete(ChannelIdentity)
        .where(ChannelIdentity.candidate_id == candidate.id)
        .execution_options(synchronize_session="fetch")
    )
    if request_id:
        _close_request(s, request_id, RequestStatus.ON_HOLD if hold else None)
    s.flush()
    log.info("erasure %s: candidate removed from use (held=%s)", erasure.id, hold is not None)
    return ErasureResult(
        candidate.id, erasure.id, due_at, hold is not None, hold.reason if hold else None,
        already_scheduled=False,
    )  # fmt: skip


def _close_request(s: Session, request_id: str, status: RequestStatus | None) -> None:
    """The erasure request is done once the candidate is out of use (the purge follows
    automatically); under a legal hold it stays open, marked on hold."""
    row = s.get(PrivacyRequest, request_id)
    if row is None:
        return
    if status is None:
        complete(row)
    else:
        row.status = str(status)


def _delete_exports(s: Session, files: FileStore | None, candidate_id: str) -> None:
    """Export archives are copies of everything: their files go at once, not at the purge.
    The rows stay, expired, until the purge (like privacy.export's own expiry: a link then
    answers "expired", not "unknown"); they hold a token hash and a path, no personal data."""
    now = datetime.now(UTC)
    for archive in s.scalars(
        select(ExportArchive).where(ExportArchive.candidate_id == candidate_id)
    ):
        if files is not None:
            files.delete(archive.path)
        archive.expires_at = now
    if files is not None:
        for ref in files.refs_for(candidate_id):
            if ref.startswith(f"{candidate_id}/exports/"):
                files.delete(ref)


def _lock_candidate(s: Session, candidate_id: str) -> Candidate:
    candidate = s.scalar(
        select(Candidate)
        .where(Candidate.id == candidate_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if candidate is None:
        raise NoSuchCandidate(candidate_id)
    return candidate


def _files(settings: Settings, db: Database) -> FileStore:
    from storage.files import FileStore

    return FileStore(settings.files_dir, db)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- at once
@dataclass(frozen=True)
class ForgetResult:
    erasure_id: int | None  # None: nothing to forget (the sender's data is kept)
    candidate_deleted: bool
    held: bool


def forget_sender(db: Database, sender_id: str, reason: str) -> ForgetResult:
    """Refused consent or under 16: nothing of this person may stay.

    Under 16 ("under_age"): the candidate, if any, is deleted at once, whatever else they
    stored. Refused consent ("consent_refused"): a candidate who never consented to anything
    is deleted at once; one who consented earlier (another job) keeps that data, and nothing
    else happens (the refusal itself is recorded without a candidate). Either way a tombstone
    is written and the sender's Rasa tracker events and Redis keys are scheduled for the next
    purge run (due now: Rasa writes this very turn to its tracker after our action returns,
    so purging inside the action would miss it). A legal hold turns the deletion into the
    ordinary removal from use (the purge waits for the release).
    """
    now = datetime.now(UTC)
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is not None and reason != Reason.UNDER_AGE and _consented(s, candidate.id):
            return ForgetResult(None, candidate_deleted=False, held=False)
        if candidate is not None:
            candidate = _lock_candidate(s, candidate.id)
            if active_hold(s, candidate.id) is not None:
                result = remove_from_use(
                    s, None, candidate, request_id=None, reason=reason, due_at=now
                )
                return ForgetResult(result.erasure_id, candidate_deleted=False, held=True)
            sender_ids = list(
                s.scalars(
                    select(ChannelIdentity.sender_id).where(
                        ChannelIdentity.candidate_id == candidate.id
                    )
                )
            )
            subject, candidate_id = candidate.id, candidate.id
            existing = open_erasure(s, candidate.id, lock=True)
            if existing is not None:
                s.delete(existing)  # superseded by this immediate erasure
            s.flush()
            s.execute(delete(Candidate).where(Candidate.id == candidate.id))  # CASCADE
            s.expunge_all()
        else:
            sender_ids, subject, candidate_id = [sender_id], sender_id, None
        erasure = Erasure(
            candidate_id=candidate_id,  # kept until the purge: it deletes the files
            subject_hash=subject_hash(s, subject),
            reason=reason,
            sender_ids=dump_sender_ids(s, [*sender_ids, sender_id]),
            requested_at=now,
            removed_at=now,
            due_at=now,
            status=str(ErasureStatus.PENDING),
        )
        s.add(erasure)
        s.flush()
        log.info("erasure %s: sender forgotten at once (%s)", erasure.id, reason)
        return ForgetResult(erasure.id, candidate_deleted=candidate_id is not None, held=False)


def _consented(s: Session, candidate_id: str) -> bool:
    """Whether the candidate ever gave consent (to any job): then they have data of their
    own that a refusal for another job must not destroy."""
    return (
        s.scalar(
            select(ConsentRecord.id).where(
                ConsentRecord.candidate_id == candidate_id, ConsentRecord.granted.is_(True)
            )
        )
        is not None
    )
