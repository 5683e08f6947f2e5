"""Repositories: the only code that writes SQL-shaped queries for the screening domain.

Capabilities ask for "the open application of this sender for this job", not for joins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from storage.encryption import ensure_data_key
from storage.models import (
    Answer,
    AnswerScore,
    Application,
    ApplicationScore,
    Candidate,
    ChannelIdentity,
    ConsentRecord,
    HandoffRequest,
    InterviewSession,
    Job,
    MessageReceipt,
    Organization,
)

PRACTICE = "practice"
# Application statuses in which the interview can still continue (screening.interview.Status).
OPEN_APPLICATION_STATUSES = ("age_check", "in_progress", "paused")
WITHDRAWN = "withdrawn"
# Consent to a practice run is consent to the practice notice; its version carries this suffix
# so the record can be told apart from consent to a real application (and deleted with the runs).
PRACTICE_CONSENT_SUFFIX = "+practice"


# A message id as gateways send it (rasa_ext/rest_channel.py checks the same): 1–128 characters
# from a conservative set, so an id never carries free text or markup into the database.
MESSAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._@+-]{0,127}$")


def valid_message_id(value: object) -> str | None:
    """`value` when it is a well-formed message id, else None (the message then has no
    idempotency key and is handled like a message from an old gateway)."""
    return value if isinstance(value, str) and MESSAGE_ID.fullmatch(value) else None


def channel_of(sender_id: str) -> str:
    """`telegram:123` → `telegram`. Un-namespaced ids (plain Rasa REST) count as `rest`."""
    head, sep, _ = sender_id.partition(":")
    return head[:20] if sep and head else "rest"


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self, slug: str) -> Job | None:
        return self.session.scalar(select(Job).where(Job.slug == slug, Job.is_current))

    def by_id(self, job_id: int) -> Job | None:
        return self.session.get(Job, job_id)

    def list_current(self) -> list[Job]:
        return list(self.session.scalars(select(Job).where(Job.is_current).order_by(Job.slug)))

    def latest_version(self, slug: str) -> int:
        return self.session.scalar(select(func.max(Job.version)).where(Job.slug == slug)) or 0

    def organization(self, slug: str) -> Organization | None:
        return self.session.scalar(select(Organization).where(Organization.slug == slug))


class CandidateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_sender(self, sender_id: str) -> Candidate | None:
        return self.session.scalar(
            select(Candidate).join(ChannelIdentity).where(ChannelIdentity.sender_id == sender_id)
        )

    def get_or_create(self, sender_id: str) -> Candidate:
        candidate = self.by_sender(sender_id)
        if candidate is None:
            candidate = Candidate()
            candidate.identities.append(
                ChannelIdentity(sender_id=sender_id, channel=channel_of(sender_id))
            )
            self.session.add(candidate)
            self.session.flush()
            # The flush created the data key (storage.encryption); this only makes sure.
            ensure_data_key(self.session, candidate.id)
        return candidate

    def by_ref(self, ref: str) -> Candidate | None:
        """A candidate id or any of their sender ids."""
        return self.session.get(Candidate, ref) or self.by_sender(ref)

    @staticmethod
    def in_use() -> ColumnElement[bool]:
        """The filter every employer-facing read applies: a candidate who asked to delete
        everything is out of use at once, long before the purge removes the rows."""
        return Candidate.erased_at.is_(None)

    def visible(self, ref: str) -> Candidate | None:
        """`by_ref` for employer-facing reads: an erased candidate is not found."""
        candidate = self.by_ref(ref)
        return candidate if candidate is not None and candidate.erased_at is None else None


class ApplicationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, application_id: str, *, lock: bool = False) -> Application | None:
        stmt = select(Application).where(Application.id == application_id)
        if lock:
            # populate_existing: refresh an already-loaded row with the locked, current values.
            stmt = stmt.with_for_update(of=Application).execution_options(populate_existing=True)
        return self.session.scalar(stmt)

    def for_candidate(
        self,
        candidate_id: str,
        mode: str | None = None,
        statuses: Sequence[str] | None = None,
    ) -> list[Application]:
        """The candidate's applications, most recently touched first; `mode` narrows them to
        real applications ("application") or practice runs ("practice"), `statuses` to those
        statuses (every turn looks for the open one; practice attempts pile up)."""
        stmt = select(Application).where(Application.candidate_id == candidate_id)
        if mode is not None:
            stmt = stmt.where(Application.mode == mode)
        if statuses is not None:
            stmt = stmt.where(Application.status.in_([str(x) for x in statuses]))
        order = (Application.updated_at.desc(), Application.created_at.desc())
        return list(self.session.scalars(stmt.order_by(*order)))

    def for_candidate_and_slug(
        self, candidate_id: str, slug: str, mode: str | None = None
    ) -> list[Application]:
        return [a for a in self.for_candidate(candidate_id, mode) if a.job.slug == slug]

    def completed_practice_runs(self, candidate_id: str, slug: str) -> list[Application]:
        """The candidate's completed practice runs for a job (any version), oldest first:
        attempt 1, 2, 3…"""
        return list(
            self.session.scalars(
                select(Application)
                .join(Job, Job.id == Application.job_id)
                .where(
                    Application.candidate_id == candidate_id,
                    Application.mode == PRACTICE,
                    Application.status == "completed",
                    Job.slug == slug,
                )
                .order_by(Application.finished_at, Application.created_at)
            )
        )

    def count_practice_runs(self, candidate_id: str) -> int:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(Application)
                .where(Application.candidate_id == candidate_id, Application.mode == PRACTICE)
            )
            or 0
        )

    def delete_practice_runs(self, candidate_id: str) -> int:
        """Delete every practice run of the candidate, with what hangs off it (answers, answer
        and application scores, sessions: ON DELETE CASCADE) and the consent records given
        for practice runs. If nothing else about the candidate is left, the candidate goes
        too. Real applications are never touched. Returns the number of runs deleted."""
        self.session.flush()  # pending changes first: the bulk delete bypasses the unit of work
        deleted = self.session.execute(
            delete(Application)
            .where(Application.candidate_id == candidate_id, Application.mode == PRACTICE)
            .execution_options(synchronize_session="fetch")
        ).rowcount
        self.session.execute(
            delete(ConsentRecord)
            .where(
                ConsentRecord.candidate_id == candidate_id,
                ConsentRecord.notice_version.endswith(PRACTICE_CONSENT_SUFFIX),
            )
            .execution_options(synchronize_session="fetch")
        )
        remaining = [
            self.session.scalar(
                select(func.count()).select_from(model).where(model.candidate_id == candidate_id)
            )
            for model in (Application, ConsentRecord, HandoffRequest)
        ]
        if not any(remaining):
            candidate = self.session.get(Candidate, candidate_id)
            if candidate is not None:
                self.session.delete(candidate)
        self.session.flush()
        return int(deleted or 0)

    def withdraw_open(self, candidate_id: str, now: datetime) -> list[Application]:
        """Withdraw every open application and practice run of the candidate, closing their
        open sittings (consent withdrawn, everything deleted): no more questions, no more
        scoring. Returns the applications withdrawn."""
        apps = list(
            self.session.scalars(
                select(Application).where(
                    Application.candidate_id == candidate_id,
                    Application.status.in_(OPEN_APPLICATION_STATUSES),
                )
            )
        )
        for app in apps:
            app.status = WITHDRAWN
            app.pending_action = None
            app.finished_at = now
            for sitting in self.session.scalars(
                select(InterviewSession).where(
                    InterviewSession.application_id == app.id,
                    InterviewSession.finished_at.is_(None),
                )
            ):
                sitting.status = WITHDRAWN
                sitting.finished_at = now
        return apps

    def answer(self, application_id: str, question_id: str) -> Answer | None:
        return self.session.scalar(
            select(Answer).where(
                Answer.application_id == application_id, Answer.question_id == question_id
            )
        )

    def answers(self, application_id: str) -> list[Answer]:
        return list(
            self.session.scalars(
                select(Answer).where(Answer.application_id == application_id).order_by(Answer.id)
            )
        )


class ReceiptRepository:
    """Message receipts (storage.models.MessageReceipt): which messages an application has
    already handled. `claim` belongs in the transaction that applies the message."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def seen(self, application_id: str, message_id: str) -> bool:
        return (
            self.session.scalar(
                select(MessageReceipt.id).where(
                    MessageReceipt.application_id == application_id,
                    MessageReceipt.message_id == message_id,
                )
            )
            is not None
        )

    def claim(self, application_id: str, message_id: str) -> bool:
        """Record that this message is handled for the application; False when it already
        was (the caller then changes nothing). Flushed at once, so that a racing duplicate
        that got past the check fails on the unique constraint here, before any other write
        of its transaction."""
        if self.seen(application_id, message_id):
            return False
        self.session.add(MessageReceipt(application_id=application_id, message_id=message_id))
        self.session.flush()
        return True

    def seen_for_sender(self, sender_id: str, message_id: str) -> bool:
        """Whether any application of the person behind `sender_id` handled the message."""
        return (
            self.session.scalar(
                select(MessageReceipt.id)
                .join(Application, Application.id == MessageReceipt.application_id)
                .join(ChannelIdentity, ChannelIdentity.candidate_id == Application.candidate_id)
                .where(
                    ChannelIdentity.sender_id == sender_id,
                    MessageReceipt.message_id == message_id,
                )
                .limit(1)
            )
            is not None
        )

    def seen_for_candidate(self, candidate_id: str, message_id: str) -> bool:
        return (
            self.session.scalar(
                select(MessageReceipt.id)
                .join(Application, Application.id == MessageReceipt.application_id)
                .where(
                    Application.candidate_id == candidate_id,
                    MessageReceipt.message_id == message_id,
                )
                .limit(1)
            )
            is not None
        )


class ScoreRepository:
    """Stored AI scores. Rows are appended, never overwritten (old scores stay reproducible),
    so "the score" of an answer is the newest row for the answer's current revision."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def current(self, application_id: str, answers: Mapping[str, Answer]) -> dict[str, AnswerScore]:
        """Question id → the newest score of that answer's current revision."""
        scores: dict[str, AnswerScore] = {}
        for row in self.s.scalars(
            select(AnswerScore)
            .where(AnswerScore.application_id == application_id)
            .order_by(AnswerScore.id)
        ):
            answer = answers.get(row.question_id)
            if answer is not None and row.answer_revision == answer.revision:
                scores[row.question_id] = row  # newest wins
        return scores

    def latest_overall(self, application_id: str) -> ApplicationScore | None:
        """The newest overall-score snapshot of an application."""
        return self.s.scalars(
            select(ApplicationScore)
            .where(ApplicationScore.application_id == application_id)
            .order_by(ApplicationScore.id.desc())
        ).first()
