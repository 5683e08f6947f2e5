"""Helpers for the oversight, notice and access-log tests: an interview service wired to a
deterministic scorer, driven through `turn` exactly as Rasa's form drives it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from screening.assessment import AssessmentService
from screening.interview import InterviewService
from storage.db import Database
from storage.models import Application, Candidate, ChannelIdentity, HumanReview
from tests.practice_support import Chat, FakeScorer

TODAY = date(2026, 11, 22)
JOB = "test-role"
GOOD = "I enjoy the work itself, I like a friendly team, and I want to grow my skills."
VALID = {
    "motivation": GOOD,
    "right_to_work": "yes",
    "years": "4 years",
    "shift": "morning",
    "start_date": "1 March 2027",
    "anything_else": "No, thank you, nothing more to add.",
}
ORDER = list(VALID)


def wired(db: Database) -> tuple[InterviewService, AssessmentService]:
    assessment = AssessmentService(db, scorer=FakeScorer)
    service = InterviewService(
        db, today=TODAY, on_answer=assessment.after_answer, assessment=assessment
    )
    return service, assessment


def begin(service: InterviewService, sender: str) -> Chat:
    """A real application past consent and the age check, at question 1."""
    chat = Chat(service, sender)
    chat.start(JOB)
    chat.send("yes")
    chat.send("yes")
    return chat


def answer_up_to(chat: Chat, question_id: str) -> None:
    """Answer every question before `question_id` validly."""
    for qid in ORDER[: ORDER.index(question_id)]:
        chat.send(VALID[qid])


def application(db: Database, sender: str) -> Application:
    with db.transaction() as s:
        return s.scalars(
            select(Application)
            .join(ChannelIdentity, ChannelIdentity.candidate_id == Application.candidate_id)
            .where(ChannelIdentity.sender_id == sender, Application.mode == "application")
        ).one()


def candidate(db: Database, sender: str) -> Candidate:
    with db.transaction() as s:
        return s.scalars(
            select(Candidate).join(ChannelIdentity).where(ChannelIdentity.sender_id == sender)
        ).one()


def reviews(db: Database, sender: str, status: str | None = "open") -> list[HumanReview]:
    cid = candidate(db, sender).id
    with db.transaction() as s:
        stmt = select(HumanReview).where(HumanReview.candidate_id == cid)
        if status is not None:
            stmt = stmt.where(HumanReview.status == status)
        return list(s.scalars(stmt.order_by(HumanReview.id)))


def count(db: Database, model: type) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0
