"""Answer scores stored as answers arrive, the overall score, and rescoring (real model)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from screening.assessment import AssessmentService
from screening.interview import InterviewService
from storage.db import Database
from storage.models import AnswerScore, ApplicationScore
from tests.test_interview_service import TODAY, VALID, Conversation, _app

GOOD = (
    "I enjoy the work itself, I like being part of a friendly team, and I want to grow my "
    "skills and take on more responsibility over time."
)


@pytest.fixture
def wired(db: Database) -> tuple[InterviewService, AssessmentService]:
    assessment = AssessmentService(db)
    return InterviewService(db, today=TODAY, on_answer=assessment.after_answer), assessment


def _scores(db: Database, application_id: str) -> list[AnswerScore]:
    with db.transaction() as s:
        return list(
            s.scalars(
                select(AnswerScore)
                .where(AnswerScore.application_id == application_id)
                .order_by(AnswerScore.id)
            )
        )


def _overall(db: Database, application_id: str) -> ApplicationScore:
    with db.transaction() as s:
        return s.scalars(
            select(ApplicationScore)
            .where(ApplicationScore.application_id == application_id)
            .order_by(ApplicationScore.id.desc())
        ).first()


def test_free_text_answers_are_scored_as_they_arrive(db: Database, wired) -> None:  # type: ignore[no-untyped-def]
    service, _ = wired
    convo = Conversation(service, "web:scored")
    convo.begin()
    convo.send(GOOD)
    app = _app(db, "web:scored")
    rows = _scores(db, app.id)
    assert [r.question_id for r in rows] == ["motivation"]
    row = rows[0]
    assert row.status == "scored" and 0.0 <= row.score <= 1.0
    assert row.model_name and row.model_version and row.scorer_version
    assert row.answer_revision == 1
    assert row.explanation["summary"]
    for q in ["right_to_work", "years", "shift", "start_date", "anything_else"]:
        convo.send(VALID[q])
    overall = _overall(db, app.id)
    assert overall.complete and not overall.knocked_out
    assert overall.overall is not None and 0.0 <= overall.overall <= 1.0
    assert overall.model_version == row.model_version


def test_garbled_answer_is_insufficient_data_not_a_low_score(db: Database, wired) -> None:  # type: ignore[no-untyped-def]
    service, _ = wired
    convo = Conversation(service, "web:garbled")
    convo.begin()
    convo.send("asdf qwer zxcv")
    app = _app(db, "web:garbled")
    (row,) = _scores(db, app.id)
    assert row.status == "insufficient_data" and row.score is None and row.needs_review
    for q in ["right_to_work", "years", "shift", "start_date", "anything_else"]:
        convo.send(VALID[q])
    overall = _overall(db, app.id)
    assert "motivation" in overall.breakdown["needs_review"]


def test_knockout_scores_zero_overall(db: Database, wired) -> None:  # type: ignore[no-untyped-def]
    service, _ = wired
    convo = Conversation(service, "web:ko-score")
    convo.begin()
    convo.send(GOOD)
    convo.send("no")
    overall = _overall(db, _app(db, "web:ko-score").id)
    assert overall.knocked_out and overall.overall == 0.0


def test_changed_answer_and_rescore_keep_history(db: Database, wired) -> None:  # type: ignore[no-untyped-def]
    service, assessment = wired
    convo = Conversation(service, "web:rescore")
    convo.begin()
    convo.send("I need a job.")
    convo.send("/go_back")
    convo.send(GOOD)
    app = _app(db, "web:rescore")
    rows = _scores(db, app.id)
    assert [r.answer_revision for r in rows] == [1, 2]
    current = {r.question_id: r for r in assessment.current_results(app.id)}
    assert current["motivation"].score == rows[-1].score
    assert rows[-1].score > rows[0].score  # the fuller answer covers more key points
    assert assessment.applications_for("test-role") == [app.id]
    assert assessment.rescore(app.id) == 1
    after = _scores(db, app.id)
    assert len(after) == 3 and after[-1].score == pytest.approx(rows[-1].score, abs=1e-6)


def test_identical_text_scores_identically_whoever_sends_it(db: Database, wired) -> None:  # type: ignore[no-untyped-def]
    service, _ = wired
    scores = []
    for sender in ("web:same-1", "telegram:same-2", "voice:+15550100"):
        convo = Conversation(service, sender)
        convo.begin()
        convo.send(GOOD)
        (row,) = _scores(db, _app(db, sender).id)
        scores.append(row.score)
    assert scores[0] == scores[1] == scores[2]


def test_scoring_failure_never_reaches_the_candidate(db: Database) -> None:
    def broken() -> object:
        raise RuntimeError("model unavailable")

    assessment = AssessmentService(db, scorer=broken)  # type: ignore[arg-type]
    service = InterviewService(db, today=TODAY, on_answer=assessment.after_answer)
    convo = Conversation(service, "web:broken")
    convo.begin()
    replies = convo.send(GOOD)
    assert "Question 2 of 6" in replies[-1]
    app = _app(db, "web:broken")
    assert _scores(db, app.id) == []
    assert app.current_index == 1
