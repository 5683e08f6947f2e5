"""Repositories: the only code that writes SQL-shaped queries for the screening domain.

Capabilities ask for "the open application of this sender for this job", not for joins.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    Answer,
    Application,
    Candidate,
    ChannelIdentity,
    Job,
    Organization,
)


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
        return candidate

    def by_ref(self, ref: str) -> Candidate | None:
        """A candidate id or any of their sender ids."""
        return self.session.get(Candidate, ref) or self.by_sender(ref)


class ApplicationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, application_id: str, *, lock: bool = False) -> Application | None:
        stmt = select(Application).where(Application.id == application_id)
        if lock:
            # populate_existing: refresh an already-loaded row with the locked, current values.
            stmt = stmt.with_for_update(of=Application).execution_options(populate_existing=True)
        return self.session.scalar(stmt)

    def for_candidate(self, candidate_id: str) -> list[Application]:
        return list(
            self.session.scalars(
                select(Application)
                .where(Application.candidate_id == candidate_id)
                .order_by(Application.updated_at.desc(), Application.created_at.desc())
            )
        )

    def for_candidate_and_slug(self, candidate_id: str, slug: str) -> list[Application]:
        return [a for a in self.for_candidate(candidate_id) if a.job.slug == slug]

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
