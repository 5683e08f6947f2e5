""" "What data do you have on me?": everything stored, AI-inferred data included, in chat-sized
messages, without raw ids of other channels or unmasked contacts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from privacy.requests import Kind, RequestStatus, open_request
from privacy.summary import MAX_MESSAGE_CHARS, NOTHING_STORED, split_messages, summarize
from screening.catalog import import_jobs
from storage.db import Database
from storage.models import (
    Answer,
    AnswerScore,
    Application,
    ApplicationScore,
    Candidate,
    ConsentRecord,
    Correction,
    HumanReview,
    PrivacyRequest,
)
from tests.privacy.rights_support import any_job_id, person
from tests.support import ROOT

WEB = "web:alice-session-0001"
TELEGRAM = "telegram:424242"

EXPLANATION = {
    "status": "scored",
    "score": 0.72,
    "summary": "Covers how to find the slow query; does not mention indexes.",
    "key_points_covered": [{"point": "look at the query plan", "evidence": "EXPLAIN"}],
    "key_points_missing": [{"point": "add an index"}],
}


def alice_with_data(db: Database, answer_text: str = "EXPLAIN ANALYZE the query") -> str:
    import_jobs(db, ROOT / "jobs")
    cid = person(db, WEB, TELEGRAM, email="alice@example.com")
    job_id = any_job_id(db, "backend-engineer")
    practice_job = any_job_id(db, "test-role")
    with db.transaction() as s:
        s.get(Candidate, cid).name = "Alice Example"
        app = Application(candidate_id=cid, job_id=job_id, status="completed",
                          finished_at=datetime.now(UTC))  # fmt: skip
        practice = Application(candidate_id=cid, job_id=practice_job, status="in_progress",
                               mode="practice")  # fmt: skip
        s.add_all([app, practice])
        s.flush()
        answers = [
            Answer(application_id=app.id, question_id="years_backend", question_kind="number",
                   status="answered", raw_text="six years", normalized={"value": 6},
                   channel="web"),
            Answer(application_id=app.id, question_id="tools", question_kind="free_text",
                   status="answered", raw_text="Python, PostgreSQL and Docker", channel="web"),
            Answer(application_id=app.id, question_id="slow_query", question_kind="free_text",
                   status="answered", raw_text=answer_text, channel="telegram"),
            Answer(application_id=app.id, question_id="salary_expectation",
                   question_kind="number", status="skipped", channel="web"),
            Answer(application_id=practice.id, question_id="motivation",
                   question_kind="free_text", status="answered",
                   raw_text="Practice answer about teamwork", channel="web"),
        ]  # fmt: skip
        s.add_all(answers)
        s.flush()
        s.add(AnswerScore(answer_id=answers[2].id, application_id=app.id,
                          question_id="slow_query", answer_revision=1, status="scored",
                          score=0.72, explanation=EXPLANATION, model_name="minilm",
                          model_version="v1", scorer_version="s1"))  # fmt: skip
        s.add(ApplicationScore(application_id=app.id, overall=0.64, complete=True,
                               breakdown={"needs_review": ["slow_query"]}, model_name="minilm",
                               model_version="v1", scorer_version="s1"))  # fmt: skip
        s.add(ConsentRecord(candidate_id=cid, job_id=job_id, notice_version="2026-11-22",
                            granted=True, channel="web"))  # fmt: skip
        s.add(HumanReview(candidate_id=cid, application_id=app.id, reason="decision_review",
                          statement="I think the score is unfair"))  # fmt: skip
        s.add(Correction(candidate_id=cid, application_id=app.id, target="answer:tools",
                         old_value="Pyhton", new_value="Python", status="applied"))  # fmt: skip
        open_request(s, s.get(Candidate, cid), Kind.ERASURE, "web",
                     status=RequestStatus.AWAITING_CODE)  # fmt: skip
    return cid


def test_unknown_sender_gets_one_message(db: Database) -> None:
    assert summarize(db, "web:nobody-at-all-01") == [NOTHING_STORED]
    with db.transaction() as s:
        assert s.scalar(select(PrivacyRequest)) is None  # no candidate, nothing logged


def test_everything_is_in_the_summary(db: Database) -> None:
    cid = alice_with_data(db)
    person(db, "web:bob-session-00001")
    messages = summarize(db, WEB)
    assert all(len(m) <= MAX_MESSAGE_CHARS for m in messages)
    text = "\n".join(messages)
    # Profile, channels (only this chat's raw id), masked contact, settings.
    assert "Alice Example" in text
    assert f"this chat, id {WEB}" in text and "Telegram chat" in text
    assert "424242" not in text
    assert "a•••@example.com" in text and "alice@example.com" not in text
    assert "AI scoring: on" in text and "transcripts" in text and "12 months" in text
    # Applications and practice runs with every answer as stored.
    assert "APPLICATION: Backend Engineer" in text and "PRACTICE RUN: Test Role" in text
    assert "“six years”" in text and "understood as “6”" in text
    assert "Python, PostgreSQL and Docker" in text and "Practice answer about teamwork" in text
    assert "skipped this question" in text
    # AI-inferred: the score with its explanation, the overall score, matching.
    assert "AI score: 72%" in text and "does not mention indexes" in text
    assert "Covered: look at the query plan" in text and "Missing: add an index" in text
    assert "Overall AI score (complete): 64%" in text and "flagged" in text
    assert "How your answers were categorised" in text and "years of experience: 6" in text
    assert "Backend Engineer:" in text and "6 years of experience" in text
    # Consent, reviews, corrections, open requests.
    assert "privacy notice version 2026-11-22" in text
    assert "I think the score is unfair" in text and "“Pyhton” → “Python”" in text
    assert "Open: delete all your data" in text
    # Nothing of the other candidate, no secrets.
    assert "bob" not in text.lower()
    # The access request is logged and completed at once.
    with db.transaction() as s:
        rows = list(s.scalars(select(PrivacyRequest).where(PrivacyRequest.kind == "access")))
        assert len(rows) == 1 and rows[0].candidate_id == cid
        assert rows[0].status == "completed" and rows[0].completed_at is not None


def test_huge_answers_are_split_into_chat_sized_messages(db: Database) -> None:
    alice_with_data(db, answer_text="word " * 5000)
    messages = summarize(db, WEB)
    assert len(messages) >= 2
    assert all(0 < len(m) <= MAX_MESSAGE_CHARS for m in messages)
    assert "I store about you" in messages[0]


def test_a_candidate_with_no_answers(db: Database) -> None:
    person(db, WEB)
    (message,) = summarize(db, WEB)
    assert "APPLICATIONS\n• None." in message and "Contact details: none." in message
    assert "JOB MATCHING" in message


def test_split_messages() -> None:
    assert split_messages([["a"], ["b"]]) == ["a\n\nb"]
    parts = split_messages([["x" * 10_000], ["y"]], limit=3500)
    assert [len(p) for p in parts] == [3500, 3500, 3000, 1] or all(len(p) <= 3500 for p in parts)
    assert "".join(parts).replace("\n", "") == "x" * 10_000 + "y"
    lines = [f"line {i}" for i in range(2000)]
    parts = split_messages([lines], limit=3500)
    assert all(len(p) <= 3500 for p in parts)
    assert "\n".join(parts).split("\n") == lines
    assert split_messages([]) == [] and split_messages([[]]) == []
