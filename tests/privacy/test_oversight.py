"""Human oversight against real SQLite and PostgreSQL: AI opt-out, human review (GDPR art. 22),
the rule that no automated rejection happens while either is in force, withdrawing consent,
corrections and disputes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from privacy import oversight
from privacy.reviews import may_reject_automatically, resolve
from screening.reports import interview_report
from storage.db import Database
from storage.models import (
    AnswerScore,
    Application,
    ConsentRecord,
    Correction,
    HumanReview,
    PrivacyRequest,
)
from tests.privacy.crypto_support import raw_column
from tests.privacy.oversight_support import (
    JOB,
    ORDER,
    VALID,
    application,
    begin,
    candidate,
    count,
    reviews,
    wired,
)


def _scores(db: Database, application_id: str) -> list[AnswerScore]:
    with db.transaction() as s:
        rows = s.scalars(select(AnswerScore).where(AnswerScore.application_id == application_id))
        return list(rows)


def _requests(db: Database, kind: str) -> list[PrivacyRequest]:
    with db.transaction() as s:
        return list(s.scalars(select(PrivacyRequest).where(PrivacyRequest.kind == kind)))


def _may_reject(db: Database, sender: str) -> bool:
    app_id = application(db, sender).id
    with db.transaction() as s:
        app = s.get(Application, app_id)
        assert app is not None
        return may_reject_automatically(s, app)


def _resolve_all(db: Database, sender: str) -> None:
    ids = [r.id for r in reviews(db, sender)]
    with db.transaction() as s:
        for review_id in ids:
            row = s.get(HumanReview, review_id)
            assert row is not None
            resolve(s, row, by="recruiter:jo", resolution="looked at it; fine to proceed")


def _finish(chat, start: str) -> None:  # type: ignore[no-untyped-def]
    for qid in ORDER[ORDER.index(start) :]:
        chat.send(VALID[qid])


# --------------------------------------------------------------------------- opt-out
def test_opt_out_blocks_a_knockout_until_a_person_resolves_it(db: Database) -> None:
    service, assessment = wired(db)
    chat = begin(service, "web:optout")
    reply = oversight.opt_out(db, "web:optout")
    assert "won't be scored" in reply and "person" in reply
    assert candidate(db, "web:optout").ai_opt_out is True
    (review,) = reviews(db, "web:optout")
    assert (
        review.reason == "ai_opt_out" and review.application_id == application(db, "web:optout").id
    )
    (request,) = _requests(db, "objection")
    assert request.status == "completed" and request.due_at > request.received_at

    chat.send(VALID["motivation"])
    replies = " ".join(chat.send("no"))  # right to work: a knockout answer
    assert "will look at this answer themselves" in replies
    assert "can't take your application" not in replies
    app = application(db, "web:optout")
    assert app.status == "in_progress" and app.knocked_out_by is None
    assert {r.reason for r in reviews(db, "web:optout")} == {"ai_opt_out", "knockout_review"}
    _finish(chat, "years")
    app = application(db, "web:optout")
    assert app.status == "completed" and app.knocked_out_by is None
    assert not _may_reject(db, "web:optout")

    # Opting back in alone does not allow it: the knockout still waits for its person.
    oversight.opt_in(db, "web:optout", assessment=assessment)
    assert [r.reason for r in reviews(db, "web:optout")] == ["knockout_review"]
    assert not _may_reject(db, "web:optout")
    _resolve_all(db, "web:optout")
    assert _may_reject(db, "web:optout")


def test_opted_out_answers_get_no_ai_score_and_opting_in_scores_them(db: Database) -> None:
    service, assessment = wired(db)
    chat = begin(service, "web:noscore")
    oversight.opt_out(db, "web:noscore")
    _finish(chat, "motivation")
    app = application(db, "web:noscore")
    assert app.status == "completed"
    assert _scores(db, app.id) == []
    assert assessment.rescore(app.id) == 0  # `parley rescore` respects the opt-out too
    (shown,) = interview_report(db, "web:noscore")
    assert shown["ai_scoring"] == "opted_out"
    assert shown["ai_scoring_note"] == "AI scoring: opted out — a person reviews these answers"
    assert shown["assessment"] is None
    assert all(a["ai_score"] is None for a in shown["answers"])
    assert [r["reason"] for r in shown["human_reviews"]] == ["ai_opt_out"]

    reply = oversight.opt_in(db, "web:noscore", assessment=assessment)
    assert "back on" in reply
    scored = {r.question_id for r in _scores(db, app.id)}
    assert scored == {"motivation"}  # the only AI-scored question of the test job
    (closed,) = reviews(db, "web:noscore", status="resolved")
    assert closed.resolution == "candidate opted back in" and closed.resolved_by == "candidate"
    (shown,) = interview_report(db, "web:noscore")
    assert shown["ai_scoring"] == "on" and shown["assessment"]["overall"] is not None
    assert shown["answers"][0]["ai_score"]["status"] == "scored"


def test_repeated_opt_out_and_opt_in_change_nothing(db: Database) -> None:
    service, assessment = wired(db)
    begin(service, "web:twice")
    oversight.opt_out(db, "web:twice")
    before = (count(db, HumanReview), count(db, PrivacyRequest))
    again = oversight.opt_out(db, "web:twice")
    assert "already opted out" in again
    assert (count(db, HumanReview), count(db, PrivacyRequest)) == before
    oversight.opt_in(db, "web:twice", assessment=assessment)
    after_in = (count(db, HumanReview), count(db, PrivacyRequest))
    assert "haven't opted out" in oversight.opt_in(db, "web:twice", assessment=assessment)
    assert (count(db, HumanReview), count(db, PrivacyRequest)) == after_in


def test_a_practice_run_keeps_its_feedback_after_opt_out(db: Database) -> None:
    from tests.practice_support import Chat

    service, _ = wired(db)
    begin(service, "web:practiser")
    oversight.opt_out(db, "web:practiser")
    chat = Chat(service, "web:practiser")
    chat.begin_practice(JOB)
    chat.send(VALID["motivation"])
    with db.transaction() as s:
        practice_id = s.scalars(select(Application.id).where(Application.mode == "practice")).one()
    assert [r.question_id for r in _scores(db, practice_id)] == ["motivation"]


# --------------------------------------------------------------------------- review
def test_review_request_blocks_automated_rejection_until_resolved(db: Database) -> None:
    service, _ = wired(db)
    chat = begin(service, "web:review")
    chat.send(VALID["motivation"])
    reply = oversight.request_review(db, "web:review", "I think the screening misread me.")
    assert "a person at Test Organization will review" in reply and "at the latest" in reply
    (review,) = reviews(db, "web:review")
    assert review.reason == "decision_review"
    assert review.statement == "I think the screening misread me."
    (request,) = _requests(db, "review")
    assert request.status == "open" and request.detail["review_id"] == review.id
    assert f"{request.due_at.day} {request.due_at:%B %Y}" in reply

    replies = " ".join(chat.send("no"))  # right to work: knockout, but a review is open
    assert "can't take your application" not in replies
    assert application(db, "web:review").status == "in_progress"
    assert {r.reason for r in reviews(db, "web:review")} == {"decision_review", "knockout_review"}

    _resolve_all(db, "web:review")
    (request,) = _requests(db, "review")
    assert request.status == "completed"
    replies = " ".join(chat.send("0"))  # years: knockout, and now nothing blocks it
    assert "can't take your application" in replies
    app = application(db, "web:review")
    assert app.status == "knocked_out" and app.knocked_out_by == "years"


@pytest.mark.parametrize("statement", ["", "   \n  ", "x" * 100_000])
def test_empty_or_huge_statement_is_refused_clearly(db: Database, statement: str) -> None:
    service, _ = wired(db)
    begin(service, "web:badstmt")
    reply = oversight.request_review(db, "web:badstmt", statement)
    if statement.strip():
        assert "100,000 characters" in reply and "5,000" in reply
    else:
        assert "tell me in a few words" in reply
    assert count(db, HumanReview) == 0 and _requests(db, "review") == []
    reply = oversight.dispute_ai_item(db, "web:badstmt", "1", statement)
    assert count(db, HumanReview) == 0 and count(db, Correction) == 0


def test_hostile_statement_is_stored_intact_and_sealed(db: Database) -> None:
    service, _ = wired(db)
    begin(service, "web:hostile")
    hostile = "<script>alert('x')</script> Robert'); DROP TABLE candidates;-- \u202e ünïcödé"
    oversight.request_review(db, "web:hostile", hostile)
    (review,) = reviews(db, "web:hostile")
    assert review.statement == hostile.strip()
    raw = raw_column(db, HumanReview.__table__.c.statement, HumanReview.id == review.id)
    assert isinstance(raw, str) and "DROP TABLE" not in raw and "<script>" not in raw
    assert count(db, Application) == 1  # and nothing was executed


def test_a_second_review_request_adds_to_the_open_review(db: Database) -> None:
    service, _ = wired(db)
    begin(service, "web:again")
    oversight.request_review(db, "web:again", "First point.")
    same = oversight.request_review(db, "web:again", "First point.")
    assert "already reviewing" in same
    more = oversight.request_review(db, "web:again", "Second point.")
    assert "added" in more
    (review,) = reviews(db, "web:again")
    assert "First point." in review.statement and "Second point." in review.statement
    assert len(_requests(db, "review")) == 1


def test_nobody_can_act_on_someone_elses_data(db: Database) -> None:
    service, _ = wired(db)
    begin(service, "web:victim")
    begin(service, "web:other")
    victim_app = application(db, "web:victim").id
    reply = oversight.request_review(db, "web:other", "Review theirs", application_id=victim_app)
    assert "couldn't find an application" in reply
    for sender in ("web:stranger", "telegram:999", "", "'; DROP TABLE x;--"):
        assert "nothing stored" in oversight.opt_out(db, sender)
        assert "nothing stored" in oversight.withdraw_consent(db, sender)
        assert "nothing stored" in oversight.request_review(db, sender, "hi")
    assert count(db, HumanReview) == 0
    assert candidate(db, "web:victim").ai_opt_out is False


# --------------------------------------------------------------------------- consent
def test_withdrawing_consent_stops_processing_and_offers_deletion(db: Database) -> None:
    service, assessment = wired(db)
    chat = begin(service, "web:withdraw")
    chat.send(VALID["motivation"])
    app_id = application(db, "web:withdraw").id
    scored_before = len(_scores(db, app_id))
    reply = oversight.withdraw_consent(db, "web:withdraw")
    assert "stopped processing" in reply and "delete everything" in reply
    assert application(db, "web:withdraw").status == "withdrawn"
    person = candidate(db, "web:withdraw")
    assert person.consent_withdrawn_at is not None
    with db.transaction() as s:
        last = s.scalars(select(ConsentRecord).order_by(ConsentRecord.id.desc())).first()
        assert last is not None and last.granted is False
        assert last.candidate_id == person.id
    assert assessment.rescore(app_id) == 0 and len(_scores(db, app_id)) == scored_before
    assert "already withdrawn" in oversight.withdraw_consent(db, "web:withdraw")
    assert len(_requests(db, "withdraw_consent")) == 1

    # Starting again asks for consent as usual; agreeing ends the withdrawal.
    texts = " ".join(chat.start(JOB))
    assert "Do you agree" in texts
    chat.send("yes")
    assert candidate(db, "web:withdraw").consent_withdrawn_at is None
    assert application(db, "web:withdraw").status == "age_check"


# --------------------------------------------------------------------------- corrections
def test_correcting_an_answer_stores_a_revision_and_rescores(db: Database) -> None:
    service, assessment = wired(db)
    chat = begin(service, "web:fix")
    _finish(chat, "motivation")
    app_id = application(db, "web:fix").id
    reply = oversight.correct_answer(db, "web:fix", "3", "7 years", assessment=assessment)
    assert "question 3 is now" in reply
    text = "Honestly I like the team and the growth, and I enjoy the work a lot."
    oversight.correct_answer(db, "web:fix", "motivation", text, assessment=assessment)
    with db.transaction() as s:
        rows = list(s.scalars(select(Correction).order_by(Correction.id)))
        assert [(c.target, c.status) for c in rows] == [
            ("answer:years", "applied"),
            ("answer:motivation", "applied"),
        ]
        assert "4" in (rows[0].old_value or "") and "7" in (rows[0].new_value or "")
    scores = [r for r in _scores(db, app_id) if r.question_id == "motivation"]
    assert sorted(r.answer_revision for r in scores) == [1, 2]
    assert application(db, "web:fix").status == "completed"
    assert len(_requests(db, "rectification")) == 2

    # Bad input: unknown question, invalid value, the same value again.
    assert "questions 1 to 6" in oversight.correct_answer(db, "web:fix", "99", "x")
    assert "questions 1 to 6" in oversight.correct_answer(db, "web:fix", "<b>", "x")
    invalid = oversight.correct_answer(db, "web:fix", "3", "lots and lots")
    assert "number" in invalid.lower() or "sorry" in invalid.lower()
    assert "nothing changed" in oversight.correct_answer(db, "web:fix", "3", "7")
    assert count(db, Correction) == 2


def test_a_correction_that_knocks_out_follows_the_same_rule(db: Database) -> None:
    service, assessment = wired(db)
    for sender, opted_out in (("web:ko-auto", False), ("web:ko-person", True)):
        chat = begin(service, sender)
        _finish(chat, "motivation")
        if opted_out:
            oversight.opt_out(db, sender)
        reply = oversight.correct_answer(db, sender, "2", "no", assessment=assessment)
        app = application(db, sender)
        if opted_out:
            assert app.status == "completed" and "will look at this answer" in reply
            assert "knockout_review" in {r.reason for r in reviews(db, sender)}
        else:
            assert app.status == "knocked_out" and app.knocked_out_by == "right_to_work"
            # Correcting the answer the application ended on sends it to a person.
            back = oversight.correct_answer(db, sender, "2", "yes", assessment=assessment)
            assert "look at your application again" in back
            assert [r.reason for r in reviews(db, sender)] == ["correction"]
            assert application(db, sender).status == "knocked_out"


def test_disputing_an_ai_score_sends_it_to_a_person(db: Database) -> None:
    service, _ = wired(db)
    chat = begin(service, "web:dispute")
    _finish(chat, "motivation")
    app_id = application(db, "web:dispute").id
    before = len(_scores(db, app_id))
    reply = oversight.dispute_ai_item(db, "web:dispute", "1", "The score ignores my experience.")
    assert "can't change" in reply and "a person at Test Organization" in reply
    with db.transaction() as s:
        (correction,) = s.scalars(select(Correction)).all()
        assert correction.status == "sent_for_review" and correction.target == "ai_score:motivation"
        assert correction.new_value == "The score ignores my experience."
    (review,) = reviews(db, "web:dispute")
    assert review.reason == "correction"
    assert len(_scores(db, app_id)) == before  # the AI item itself is not overwritten
    (shown,) = interview_report(db, "web:dispute")
    assert shown["answers"][0]["ai_score"]["disputed"] is True
    assert "no AI score" in oversight.dispute_ai_item(db, "web:dispute", "2", "Wrong!")
    same = oversight.dispute_ai_item(db, "web:dispute", "1", "The score ignores my experience.")
    assert "already sent" in same and count(db, Correction) == 1
    assert "overall AI score" in oversight.dispute_ai_item(db, "web:dispute", "overall", "Unfair")

    _resolve_all(db, "web:dispute")
    with db.transaction() as s:
        assert {c.status for c in s.scalars(select(Correction))} == {"reviewed"}
        statuses = {r.status for r in s.scalars(select(PrivacyRequest))}
        assert statuses == {"completed"}
