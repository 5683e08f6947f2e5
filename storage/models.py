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
    """A person. One row per person, however many channels they use."""

    __tablename__ = "candidates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

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
