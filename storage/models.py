"""SQLAlchemy 2 models: the system of record for candidates, jobs and interviews.

Rasa's tracker store keeps the conversation; these tables keep what the conversation
*produced*. Each answer is its own row, committed as soon as it is validated, so a crash
after any turn loses nothing already answered. Every table that references a candidate is
reachable from `candidates` by foreign key, which is what export and deletion rely on.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}  # noqa: RUF012


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    # How long application data is kept after an application ends (the organization's policy;
    # the purge job enforces it). Set from the job file's `organization.retention_days`.
    retention_days: Mapped[int] = mapped_column(Integer, default=365, server_default="365")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """One *version* of a job. Editing a job file adds a row; old rows stay for old interviews."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("slug", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    slug: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship(lazy="joined")


class Candidate(Base):
    """A person. One row per person, however many channels they use.

    The privacy settings live here because every capability consults them: `ai_opt_out`
    (answers reviewed by a person instead of the model), who may see recordings, whether
    employers of jobs not applied to may see the profile, and the recording retention.
    `erased_at` is set by "delete everything": from then on nothing shows the candidate to
    anyone, and the purge job removes the rows (`purge_after`) unless a legal hold exists.
    """

    __tablename__ = "candidates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    name: Mapped[str | None] = mapped_column(Text)  # sealed
    # eu | uk | us-ca | us | other: decides the legal deadline of rights requests.
    region: Mapped[str] = mapped_column(String(10), default="eu", server_default="eu")
    ai_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # transcripts_only | recordings
    recordings_access: Mapped[str] = mapped_column(
        String(20), default="transcripts_only", server_default="transcripts_only"
    )
    # applied_only | all_employers
    profile_visibility: Mapped[str] = mapped_column(
        String(20), default="applied_only", server_default="applied_only"
    )
    recording_retention_months: Mapped[int] = mapped_column(
        Integer, default=12, server_default="12"
    )
    consent_withdrawn_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    purge_after: Mapped[datetime | None]

    identities: Mapped[list[ChannelIdentity]] = relationship(
        back_populates="candidate", cascade="all, delete-orphan"
    )


class ChannelIdentity(Base):
    """A namespaced sender id (`web:<id>`, `telegram:<id>`, ...) linked to a candidate."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("sender_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    sender_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    candidate: Mapped[Candidate] = relationship(back_populates="identities")


class ChannelLinkCode(Base):
    """A one-time code that links another channel to the candidate who asked for it.

    Only the code's HMAC is stored (`code_hash`), so a database dump cannot be used to link
    someone else's account. A code is valid for ten minutes and works once.
    """

    __tablename__ = "channel_link_codes"
    __table_args__ = (UniqueConstraint("code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    issued_on: Mapped[str] = mapped_column(String(20))  # channel name, e.g. "web"
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_on: Mapped[str | None] = mapped_column(String(20))


# Only real applications are unique per candidate and job version: practice runs repeat.
_REAL_APPLICATION = text("mode = 'application'")


class Application(Base):
    """A candidate applying to one job version; holds the interview's progress.

    `mode` is "application" (a real application, seen by the employer) or "practice" (a
    practice run: the candidate's alone, scored only for feedback, never shown to employers).
    Practice runs live in the same tables as applications so that export and deletion of a
    candidate's data cover them without special cases.
    """

    __tablename__ = "applications"
    __table_args__ = (
        Index(
            "uq_applications_real_candidate_job",
            "candidate_id",
            "job_id",
            unique=True,
            sqlite_where=_REAL_APPLICATION,
            postgresql_where=_REAL_APPLICATION,
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    current_index: Mapped[int] = mapped_column(Integer, default=0)
    pending_action: Mapped[str | None] = mapped_column(String(20))
    age_confirmed_at: Mapped[datetime | None]
    knocked_out_by: Mapped[str | None] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(
        String(20), default="application", server_default="application"
    )
    # Practice runs only: "each" (feedback after every answer) or "end"; None until chosen.
    practice_feedback: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]

    job: Mapped[Job] = relationship(lazy="joined")
    candidate: Mapped[Candidate] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="Answer.id"
    )


class MessageReceipt(Base):
    """The idempotency key of one incoming message: "this message was handled".

    Gateways give every message an id (a channel's own message id, or one they make up) and
    reuse it on every retry and redelivery. The interview writes the receipt in the same
    transaction as the change the message caused, so a retried or redelivered message (after
    a replica died mid-turn, or two replicas racing on the same message) finds the receipt and
    changes nothing. No personal data: the id is a channel reference (it names a chat or
    session the sender ids already name), exported and erased with the application; the purge
    job drops receipts after `RECEIPT_RETENTION_DAYS` (privacy/retention.py), long after any
    retry could arrive.
    """

    __tablename__ = "message_receipts"
    __table_args__ = (UniqueConstraint("application_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InterviewSession(Base):
    """One sitting of an interview: started on a channel, ended by pause, completion or exit."""

    __tablename__ = "interview_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Answer(Base):
    """The current answer to one question of one application (changing it bumps `revision`)."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("application_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(64))
    question_kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # answered | skipped
    raw_text: Mapped[str | None] = mapped_column(Text)
    normalized: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    knockout: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    transcript_ref: Mapped[str | None] = mapped_column(String(500))
    audio_ref: Mapped[str | None] = mapped_column(String(500))
    transcript_confidence: Mapped[float | None] = mapped_column(Float)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    application: Mapped[Application] = relationship(back_populates="answers")


class ConsentRecord(Base):
    """Consent given or refused, with the privacy-notice version shown.

    A refusal is recorded without a candidate: no person row exists for someone who said no.
    """

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str | None] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    notice_version: Mapped[str] = mapped_column(String(40))
    granted: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class HandoffRequest(Base):
    """A candidate asked to talk to a person."""

    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[str | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class AnswerScore(Base):
    """An AI score of one answer revision, with its explanation and the exact versions used.

    Rows are appended, never updated: a rescore with a new model adds a row, so every score
    that was ever shown stays reproducible. The current score is the newest row for the
    answer's current revision.
    """

    __tablename__ = "answer_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[str] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(64))
    answer_revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # scored | insufficient_data
    score: Mapped[float | None] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(80))
    scorer_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApplicationScore(Base):
    """The overall score of an application at one point in time, with its breakdown."""

    __tablename__ = "application_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    overall: Mapped[float | None] = mapped_column(Float)
    knocked_out: Mapped[bool] = mapped_column(Boolean, default=False)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(80))
    scorer_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- privacy
# Every table below that holds a candidate's data references `candidates.id` with
# ON DELETE CASCADE, except `erasures` (the tombstone that outlives the candidate). Export and
# purge find these tables by introspecting the metadata, so a new table cannot be forgotten.


class CandidateKey(Base):
    """The candidate's data key, wrapped (AES-256-GCM) by the master key `master_key_id`.

    Deleting this row is crypto-shredding: every sealed value and file of the candidate, in
    the database, in backups and in exports, becomes unreadable at once.
    """

    __tablename__ = "candidate_keys"

    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True
    )
    master_key_id: Mapped[str] = mapped_column(String(32))
    wrapped_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None]


class Contact(Base):
    """A verified (or to-be-verified) contact for second-factor codes: email or phone."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # email | phone
    value: Mapped[str] = mapped_column(Text)  # sealed
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PrivacyRequest(Base):
    """A rights request (access, export, erasure, rectification, objection, review, …).

    Logged with its received date and legal due date (30 days GDPR, 45 days CCPA). Export and
    erasure need a second factor: the code is stored only as a hash, expires after 10 minutes
    and locks the request after 3 wrong tries.
    """

    __tablename__ = "privacy_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30), index=True)
    law: Mapped[str] = mapped_column(String(10))  # gdpr | ccpa
    channel: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # sealed
    code_hash: Mapped[str | None] = mapped_column(String(128))
    code_expires_at: Mapped[datetime | None]
    code_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_at: Mapped[datetime | None]


class ExportArchive(Base):
    """An export archive on the file store, reachable only through a short-lived signed link."""

    __tablename__ = "export_archives"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[str | None] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    downloads: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AccessLogEntry(Base):
    """One read of a candidate's data by an employer, an admin or the system: who, what,
    when and why. The candidate may see the employer-facing entries."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(200))
    actor_kind: Mapped[str] = mapped_column(String(20))  # employer | admin | system
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    action: Mapped[str] = mapped_column(String(40))
    resource: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class HumanReview(Base):
    """A person must look at this candidate's outcome: the candidate opted out of AI scoring,
    asked for a review of a decision (GDPR art. 22) or disputed an AI-inferred item. While one
    is open no automated rejection may happen."""

    __tablename__ = "human_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[str | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(30))  # ai_opt_out | decision_review | correction
    statement: Mapped[str | None] = mapped_column(Text)  # sealed: the candidate's own view
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(Text)  # sealed


class Correction(Base):
    """A candidate's correction of their profile or of an AI-inferred item, with the value
    before and after (an answer correction is applied at once; an AI item goes to review)."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[str | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE")
    )
    target: Mapped[str] = mapped_column(String(100))
    old_value: Mapped[str | None] = mapped_column(Text)  # sealed
    new_value: Mapped[str | None] = mapped_column(Text)  # sealed
    status: Mapped[str] = mapped_column(String(20))  # applied | sent_for_review
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LegalHold(Base):
    """A legal hold blocks the purge of a candidate's data until it is released."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(200))
    release_reason: Mapped[str | None] = mapped_column(Text)


class OutboundMessage(Base):
    """A proactive message (a notice, a one-time code, an export link) waiting for the
    candidate's channel gateway to deliver it. Gateways deliver; Rasa is not involved."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    sender_id: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)  # sealed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class NoticeVersion(Base):
    """A published privacy-notice version. A major version needs re-consent before a
    candidate's data is processed under it (announced `effective_at`, 30 days ahead by
    default)."""

    __tablename__ = "notice_versions"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    effective_at: Mapped[datetime]
    major: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class Erasure(Base):
    """An erasure in progress and, once purged, its tombstone.

    While pending it names the candidate and (sealed under the system key) every sender id
    they used, because the purge must clear those from Rasa's tracker store and Redis. When
    the purge is done `candidate_id` and `sender_ids` are cleared: what remains is a hashed
    id, the request id and the dates, with no personal data.
    """

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str | None] = mapped_column(String(32), index=True)  # no FK: outlives
    subject_hash: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(30))  # request | under_age | consent_refused |
    # retention | admin
    sender_ids: Mapped[str | None] = mapped_column(Text)  # sealed (system key)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    purged_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)


# --------------------------------------------------------------------------- scheduling
# Interviews booked on interviewers' calendars (scheduling/). Bookings, invitations and
# reminders reference the candidate with ON DELETE CASCADE like every table above, so export
# and deletion cover them; `calendar_cleanups` holds no candidate reference at all (an event
# id to remove from an interviewer's calendar after an erasure).

_ACTIVE_BOOKING = text("status = 'booked'")


class Interviewer(Base):
    """A person who holds interviews for an organization's jobs, with their calendar.

    `working_hours` is local wall-clock time in `timezone` (scheduling/availability.py);
    `jobs` lists job slugs, empty for every job of the organization. `calendar_secret` is the
    CalDAV password sealed under the system key (never shown, never logged).
    """

    __tablename__ = "interviewers"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    timezone: Mapped[str] = mapped_column(String(64))
    working_hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=45)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=15)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=720)
    horizon_days: Mapped[int] = mapped_column(Integer, default=14)
    jobs: Mapped[list[str]] = mapped_column(JSON, default=list)
    calendar_kind: Mapped[str] = mapped_column(String(10), default="none")  # caldav|ics|none
    calendar_url: Mapped[str | None] = mapped_column(String(1000))
    calendar_username: Mapped[str | None] = mapped_column(String(200))
    calendar_secret: Mapped[str | None] = mapped_column(Text)
    calendar_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship(lazy="joined")


class BookingInvitation(Base):
    """A candidate may book an interview for one application: where the booking dialogue
    stands (asking the time zone, offering slots, booked), so it survives restarts and does
    not depend on Rasa's slots. `offers` are the slots last shown, each with a short `ref`
    that buttons send back."""

    __tablename__ = "booking_invitations"
    __table_args__ = (UniqueConstraint("application_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    sender_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(20))  # threshold | employer
    status: Mapped[str] = mapped_column(String(20), index=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    timezone_guess: Mapped[str | None] = mapped_column(String(64))
    offers: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    offered_until: Mapped[datetime | None]
    pending_slot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    employer_notified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Booking(Base):
    """An interview booked in one interviewer's calendar, stored in UTC.

    Two partial unique indexes make booking atomic on every database: an interviewer's slot
    start can be booked once, and an application has at most one active booking. The
    calendar write-back is tracked in `calendar_state` (pending → synced, cancel_pending →
    removed) and retried by the worker with the same event UID, so nothing is written twice.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        Index(
            "uq_bookings_active_slot",
            "interviewer_id",
            "starts_at",
            unique=True,
            sqlite_where=_ACTIVE_BOOKING,
            postgresql_where=_ACTIVE_BOOKING,
        ),
        Index(
            "uq_bookings_active_application",
            "application_id",
            unique=True,
            sqlite_where=_ACTIVE_BOOKING,
            postgresql_where=_ACTIVE_BOOKING,
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[str] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    interviewer_id: Mapped[int] = mapped_column(ForeignKey("interviewers.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), index=True)  # booked | cancelled
    candidate_timezone: Mapped[str] = mapped_column(String(64))
    sender_id: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    calendar_state: Mapped[str] = mapped_column(String(20), index=True)
    calendar_attempts: Mapped[int] = mapped_column(Integer, default=0)
    calendar_error: Mapped[str | None] = mapped_column(String(200))
    calendar_next_try: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(20))  # candidate|employer|erasure

    interviewer: Mapped[Interviewer] = relationship(lazy="joined")


class BookingReminder(Base):
    """A reminder due before an interview, sent once by the worker through the outbox.

    `sequence` is the booking's sequence when the reminder was planned: a reschedule plans
    new reminders and cancels the old ones, which the unique constraint keeps apart.
    """

    __tablename__ = "booking_reminders"
    __table_args__ = (UniqueConstraint("booking_id", "sequence", "offset_minutes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[str] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    sequence: Mapped[int] = mapped_column(Integer)
    offset_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending|sent|skipped|cancelled
    sent_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(Integer)


class CalendarCleanup(Base):
    """An event to remove from an interviewer's calendar after its booking's candidate was
    erased. It names no candidate: the booking rows go with the purge, this outlives them
    until the calendar confirms the removal."""

    __tablename__ = "calendar_cleanups"

    id: Mapped[int] = mapped_column(primary_key=True)
    interviewer_id: Mapped[int] = mapped_column(ForeignKey("interviewers.id"), index=True)
    event_uid: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


# --------------------------------------------------------------------------- employers
# The employer side (employers/, bot/slack/employer/): who at an organization may see and act
# on its shortlists, what they decided, and what they were told. Decisions, notifications and
# audit entries reference the application with ON DELETE CASCADE, so export and deletion of a
# candidate cover them like every table above.


class OrgWorkspace(Base):
    """A Slack workspace (team id) that belongs to an organization, and the channel where
    the organization's notifications go. A workspace maps to one organization only."""

    __tablename__ = "org_workspaces"
    __table_args__ = (UniqueConstraint("slack_team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    slack_team_id: Mapped[str] = mapped_column(String(32))
    notify_channel: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrgMember(Base):
    """A person at an organization with a role: viewer (reads shortlists), recruiter (also
    advances, rejects, schedules, requests and resolves reviews) or admin (also manages
    members and the notification channel). Identified by their Slack workspace and user id."""

    __tablename__ = "org_members"
    __table_args__ = (UniqueConstraint("slack_team_id", "slack_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    slack_team_id: Mapped[str] = mapped_column(String(32))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(20))  # viewer | recruiter | admin
    added_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EmployerDecision(Base):
    """What a person at the employer decided about an application, and why: advanced,
    rejected, review requested or resolved, AI score overridden, invited to book. Appended,
    never updated: the decision history of an application. `reason` is sealed (it is about
    the candidate); `old_score` / `new_score` record an override of the AI score."""

    __tablename__ = "employer_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)  # sealed
    old_score: Mapped[float | None] = mapped_column(Float)
    new_score: Mapped[float | None] = mapped_column(Float)
    review_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApplicationReview(Base):
    """The employer's standing on an application: where it is in their pipeline (new,
    advanced, rejected) and the score a person set instead of the AI's, if any. One row per
    application, created at the first decision; the history is in `employer_decisions`."""

    __tablename__ = "application_reviews"

    application_id: Mapped[str] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(20), default="new", index=True)
    override_score: Mapped[float | None] = mapped_column(Float)
    override_by: Mapped[str | None] = mapped_column(String(200))
    # A person reinstated an application the knockout rules stopped (oversight/overrides).
    knockout_overridden_at: Mapped[datetime | None]
    knockout_override_by: Mapped[str | None] = mapped_column(String(200))
    # A person pinned the application to this shortlist position (1 = top) instead of the
    # position its score gives it.
    pinned_rank: Mapped[int | None] = mapped_column(Integer)
    rank_pinned_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EmployerNotification(Base):
    """A message for an organization's notification channel (interview completed, candidate
    asked for a person or a review, booking made / changed / cancelled). `event_key` makes
    each event notify once however often it is collected. The text names no candidate: a
    short application reference, the job and the score summary."""

    __tablename__ = "employer_notifications"
    __table_args__ = (UniqueConstraint("event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    application_id: Mapped[str | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    event_key: Mapped[str] = mapped_column(String(160))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(100))


class EmployerAudit(Base):
    """Every employer command and button press, allowed or denied: who (Slack workspace and
    user, or the CLI's OS user), which organization they belong to (None: none), what they
    tried, on what, and the outcome. Reads of a candidate's data are also written to the
    candidate's access log (`access_log`); this table is the operator's security record."""

    __tablename__ = "employer_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    action: Mapped[str] = mapped_column(String(40))
    job_slug: Mapped[str | None] = mapped_column(String(64))
    application_id: Mapped[str | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(20))  # allowed | denied | invalid
    detail: Mapped[str | None] = mapped_column(String(200))


# --------------------------------------------------------------------------- fairness


class SelfIdentification(Base):
    """A candidate's voluntary self-identification for bias audits: sex and race/ethnicity
    (EEO-1 categories), each possibly "prefer not to say".

    Why apart from everything else: it may only ever be counted in aggregate. The values are
    sealed under the candidate's *self-ID key* (`self_id_keys`), not the data key that seals
    answers and scores, and they are not in the transparent sealing map: loading a row gives
    tokens, and only `fairness.self_id` opens them. Scoring, ranking and the employer views
    never import that module. `step` is the question waiting for an answer while the
    candidate is filling it in (None once done). One row per candidate (a person's answers do
    not differ by job); the audit joins it to their applications.
    """

    __tablename__ = "self_identifications"

    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True
    )
    sex: Mapped[str | None] = mapped_column(Text)  # sealed under the self-ID key
    race_ethnicity: Mapped[str | None] = mapped_column(Text)  # sealed under the self-ID key
    step: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SelfIdKey(Base):
    """The candidate's self-ID key, wrapped by the master key under its own context (a data
    key cannot be unwrapped as a self-ID key or the other way round). Deleting the row
    shreds the self-identification wherever copies of it are."""

    __tablename__ = "self_id_keys"

    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True
    )
    master_key_id: Mapped[str] = mapped_column(String(32))
    wrapped_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None]


class DecisionLogEntry(Base):
    """One decision about an application, automated or human: a knockout, a score, a rank in
    a shortlist, an employer's advance / reject / review, or a person overriding the tool.

    Who or what decided (`decided_by`: "rules:knockout", "model:<name>", "employer:<actor>"),
    when, with which model and scorer versions, on which inputs — by reference (answer and
    score row ids, job version), never copies of the candidate's words. Kept at least six
    months (`PARLEY_DECISION_LOG_DAYS`). The link to the application is SET NULL when the
    candidate is erased and `reason` (sealed under the candidate's data key) is shredded
    with them: the record that a decision happened, by whom and with which model, outlives
    the person's data, as the AI Act's logging duty requires, without identifying them.
    """

    __tablename__ = "decision_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    application_id: Mapped[str | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    decision: Mapped[str] = mapped_column(String(30))
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_name: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(80))
    scorer_version: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)  # sealed
