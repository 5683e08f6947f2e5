"""Practice mode against real SQLite and PostgreSQL databases (no Rasa).

Scores come from a deterministic stand-in (tests/practice_support.py) so the feedback wording
can be asserted exactly; one test runs the real scorer. `Chat` plays Rasa's part: the form's
slots and what the routing actions do.
"""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from privacy.notice import PRACTICE_NOTICE_VERSION
from screening.assessment import AssessmentService
from screening.catalog import import_jobs
from screening.commands import MessageNlu
from screening.interview import InterviewService, Mode, Stage, Status
from screening.job_fit import JobFitService
from screening.reports import NotFound, interview_report
from storage.db import Database
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
)
from storage.repositories import PRACTICE_CONSENT_SUFFIX
from tests.practice_support import Chat, FakeScorer, practice_service
from tests.support import ROOT
from tests.test_interview_service import TODAY, VALID, Conversation

JOB = "test-role"
STRUCTURED = ["right_to_work", "years", "shift", "start_date"]
MOTIVATION_2_OF_3 = "I enjoy the work itself. I like being part of a friendly team."
NOTICE = (
    "This is a practice run: your answers are scored only to give you feedback; employers "
    "never see practice runs; /practice delete removes them"
)


@pytest.fixture
def service(db: Database) -> InterviewService:
    return practice_service(db, TODAY)


def _apps(db: Database, sender: str, mode: str | None = None) -> list[Application]:
    with db.transaction() as s:
        stmt = (
            select(Application)
            .join(ChannelIdentity, ChannelIdentity.candidate_id == Application.candidate_id)
            .where(ChannelIdentity.sender_id == sender)
            .order_by(Application.created_at)
        )
        if mode is not None:
            stmt = stmt.where(Application.mode == mode)
        return list(s.scalars(stmt))


def _count(db: Database, model: type, **where: object) -> int:
    with db.transaction() as s:
        stmt = select(func.count()).select_from(model)
        for column, value in where.items():
            stmt = stmt.where(getattr(model, column) == value)
        return s.scalar(stmt) or 0


def _rows(db: Database, model: type, application_id: str) -> list:  # type: ignore[type-arg]
    with db.transaction() as s:
        return list(s.scalars(select(model).where(model.application_id == application_id)))


def _finish_run(chat: Chat, motivation: str = MOTIVATION_2_OF_3) -> list[str]:
    """Answer every question of test-role (skipping the optional last one)."""
    chat.send(motivation)
    for qid in STRUCTURED:
        chat.send(VALID[qid])
    return chat.send("/skip_question")


def _complete_real_application(service: InterviewService, sender: str) -> None:
    convo = Conversation(service, sender)
    convo.begin()
    for qid in VALID:
        convo.send(VALID[qid])


# ------------------------------------------------------------------------------ starting


def test_practice_starts_with_its_own_notice_then_asks_for_feedback_timing(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-start")
    intro = chat.practice(JOB)
    assert any(NOTICE in t for t in intro), intro
    assert any("practice interview for the Test Role role" in t for t in intro)
    assert not any("share them only with" in t for t in intro)  # the real notice's promise
    assert [p for _, p in chat.replies[-1].buttons] == ["yes", "no"]
    assert _count(db, Candidate) == 0  # nothing stored before consent
    assert "Are you 16" in chat.send("yes")[-1]
    replies = chat.send("yes")
    assert replies[-1] == "Feedback after each answer, or all at the end?"
    assert [t for t, _ in chat.replies[-1].buttons] == ["After each answer", "All at the end"]
    (app,) = _apps(db, "web:p-start")
    assert app.mode == Mode.PRACTICE and app.practice_feedback is None
    replies = chat.send("all at the end")
    assert "at the end" in replies[0] and "Practice — Question 1 of 6" in replies[-1]
    (app,) = _apps(db, "web:p-start")
    assert app.practice_feedback == "end" and app.status == Status.IN_PROGRESS
    with db.transaction() as s:
        consent = s.scalars(select(ConsentRecord)).one()
    assert consent.granted and consent.notice_version == PRACTICE_NOTICE_VERSION
    assert PRACTICE_NOTICE_VERSION.endswith(PRACTICE_CONSENT_SUFFIX)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("end", "end"), ("2", "end"), ("each one please", "each"), ("whatever", "each")],
)
def test_feedback_timing_defaults_to_each(
    db: Database, service: InterviewService, text: str, expected: str
) -> None:
    chat = Chat(service, f"web:p-timing-{expected}-{len(text)}")
    chat.practice(JOB)
    chat.send("yes")
    chat.send("yes")
    replies = chat.send(text)
    assert "Question 1 of 6" in replies[-1]
    assert _apps(db, chat.sender)[0].practice_feedback == expected


def test_without_a_job_the_menu_buttons_start_practice_runs(service: InterviewService) -> None:
    chat = Chat(service, "web:p-menu")
    replies = chat.practice(None)
    assert "practise for" in replies[0] and not chat.in_form
    payloads = [p for _, p in chat.replies[0].buttons]
    assert payloads == ['/practice{"practice_ref":"test-role"}']
    # The ordinary job menu offers practice too.
    menu = service.job_menu("These are the open jobs:")[0]
    assert menu.buttons[-1][1] == "/practice"
    assert any(p.startswith("/start") for _, p in menu.buttons)


@pytest.mark.parametrize(
    "words",
    [
        "I want to practice for the test role",
        "can I do a practice interview for the Test Role job",
        "practise test role please",
    ],
)
def test_natural_language_names_the_job(service: InterviewService, words: str) -> None:
    chat = Chat(service, "web:p-words")
    replies = chat.practice(None, text=words)
    assert any("practice interview for the Test Role role" in t for t in replies), replies


def test_title_words_and_ambiguity_with_the_sample_jobs(db: Database) -> None:
    import_jobs(db, ROOT / "jobs")
    service = practice_service(db, TODAY)
    chat = Chat(service, "web:p-sample")
    assert any("Backend Engineer" in t for t in chat.practice("backend engineer"))
    other = Chat(service, "web:p-sample-2")
    text = "can I do a practice interview for the warehouse job"
    assert any("Warehouse Associate" in t for t in other.practice(None, text=text))
    vague = Chat(service, "web:p-sample-3")
    replies = vague.practice(None, text="I want to practise")
    assert "Which job" in replies[0] and len(vague.replies[0].buttons) == 3


# ------------------------------------------------------------------------------ feedback


def test_feedback_after_each_answer(db: Database, service: InterviewService) -> None:
    chat = Chat(service, "web:p-each")
    chat.begin_practice()
    replies = chat.send(MOTIVATION_2_OF_3)
    feedback = replies[0]
    assert feedback.startswith("Feedback on question 1: partly there (67/100).")
    assert "• enjoys the work — “I enjoy the work itself.”" in feedback
    assert "• team — “I like being part of a friendly team.”" in feedback
    assert "Missing:\n• growth" in feedback
    assert "Tip: Next time, also cover: growth." in feedback
    assert "Question 2 of 6" in replies[-1]
    replies = chat.send("yes")
    assert replies[0] == "Question 2: answer accepted (Yes)."
    for qid in ["years", "shift", "start_date"]:
        chat.send(VALID[qid])
    final = chat.send("No, nothing else to add here.")
    # "Anything else?" has no rubric: noted, never scored, never a band.
    assert final[0] == "Question 6: answer accepted (No, nothing else to add here.)."
    summary = final[-1]
    assert summary.startswith("Practice run complete: Test Role.")
    assert "1. Why do you want this job? — partly there (67/100)" in summary
    assert "6. Anything else you'd like us to know? — noted (not scored)" in summary
    assert "Overall:" in summary and "Attempt 1:" in summary
    assert [t for t, _ in chat.replies[-1].buttons] == [
        "Practise again",
        "Apply for real",
        "Delete my practice runs",
    ]
    assert not chat.in_form
    (app,) = _apps(db, chat.sender)
    assert app.status == Status.COMPLETED and app.mode == Mode.PRACTICE
    scores = _rows(db, AnswerScore, app.id)
    assert [r.question_id for r in scores] == ["motivation"]
    overall = _rows(db, ApplicationScore, app.id)[-1]
    assert overall.complete and not overall.knocked_out and overall.overall is not None


def test_feedback_all_at_the_end(db: Database, service: InterviewService) -> None:
    chat = Chat(service, "web:p-end")
    chat.begin_practice(timing="all at the end")
    during: list[str] = []
    during += chat.send("ok fine")  # too short for the stand-in scorer: insufficient data
    for qid in STRUCTURED:
        during += chat.send(VALID[qid])
    assert not any("Feedback" in t or "accepted" in t for t in during), during
    # Scored as they came (stored like any score), only shown at the end.
    (app,) = _apps(db, chat.sender)
    assert [r.question_id for r in _rows(db, AnswerScore, app.id)] == ["motivation"]
    final = chat.send("Because I really enjoy working with a great team.")
    assert final[0].startswith("Feedback on question 1: I couldn't score this answer.")
    assert (
        "Tip: The answer is too short to assess (a single word), so I couldn't score it — next "
        "time, answer in a few full sentences in your own words." in final[0]
    )
    assert not any(t.startswith("Feedback on question 6") for t in final)  # a note, not scored
    summary = final[-1]
    assert "1. Why do you want this job? — not scored" in summary
    assert "2. Do you have the right to work in Testland? — Yes" in summary
    assert "6. Anything else you'd like us to know? — noted (not scored)" in summary
    assert [r.question_id for r in _rows(db, AnswerScore, app.id)] == ["motivation"]


def test_knockout_answers_never_end_a_practice_run(db: Database, service: InterviewService) -> None:
    chat = Chat(service, "web:p-ko")
    chat.begin_practice()
    chat.send(MOTIVATION_2_OF_3)
    replies = chat.send("no")
    assert "In a real application this answer would end the screening" in replies[0]
    assert "Question 3 of 6" in replies[-1]
    replies = chat.send("0")  # knockout_below: 1
    assert "would end the screening" in replies[0] and "Question 4 of 6" in replies[-1]
    replies = chat.send("Night")
    assert "would end the screening" in replies[0]
    chat.send(VALID["start_date"])
    summary = chat.send("/skip_question")[-1]
    assert "— No (would end a real screening)" in summary
    assert "— Night (would end a real screening)" in summary
    (app,) = _apps(db, chat.sender)
    assert app.status == Status.COMPLETED and app.knocked_out_by is None
    answers = {a.question_id: a for a in _rows(db, Answer, app.id)}
    assert answers["right_to_work"].knockout and answers["shift"].knockout
    overall = _rows(db, ApplicationScore, app.id)[-1]
    assert not overall.knocked_out and overall.overall == pytest.approx(2 / 3)


def test_improvement_across_attempts(db: Database, service: InterviewService) -> None:
    chat = Chat(service, "web:p-progress")
    attempts = [
        "I like the team here a lot.",  # 1 of 3 key points
        MOTIVATION_2_OF_3,  # 2 of 3
        "I enjoy the work. The team is great. I want growth.",  # 3 of 3
    ]
    summaries = []
    for motivation in attempts:
        chat.begin_practice()
        summaries.append(_finish_run(chat, motivation)[-1])
    assert "Attempt 1: 33/100 — your first practice run for this job." in summaries[0]
    assert "Attempt 2: 67/100 — up from 33 in attempt 1." in summaries[1]
    assert "Attempt 3: 100/100 — up from 67 in attempt 2 (first attempt: 33)." in summaries[2]
    assert len(_apps(db, chat.sender, Mode.PRACTICE)) == 3
    # A worse fourth attempt says so.
    chat.begin_practice()
    assert "Attempt 4: 33/100 — down from 100 in attempt 3" in _finish_run(chat, attempts[0])[-1]


def test_a_stopped_run_is_not_an_attempt(db: Database, service: InterviewService) -> None:
    chat = Chat(service, "web:p-stop")
    chat.begin_practice()
    assert "stop this practice run" in chat.send("/withdraw")[0]
    assert "stopped" in chat.send("yes")[0] and not chat.in_form
    chat.begin_practice()
    assert "Attempt 1:" in _finish_run(chat)[-1]
    statuses = sorted(a.status for a in _apps(db, chat.sender))
    assert statuses == ["completed", "withdrawn"]


def test_commands_work_in_practice_runs(db: Database, service: InterviewService) -> None:
    chat = Chat(service, "web:p-cmds")
    chat.begin_practice()
    assert "Question 1 of 6" in chat.send("/repeat_question")[-1]
    assert "practice run" in chat.send("help", "help", 0.9)[0]
    chat.send("First try at my answer about the team.")
    replies = chat.send("go back", "go_back", 0.9)
    assert "First try" in replies[0] and "Question 1 of 6" in replies[-1]
    replies = chat.send(MOTIVATION_2_OF_3)
    assert replies[0].startswith("Feedback on question 1: partly there")
    assert "can't be skipped" in chat.send("/skip_question")[0]
    replies = chat.send("I want to talk to a human", "human_handoff", 0.9)
    assert "no one at Test Organization sees them" in replies[0]
    assert _count(db, HandoffRequest) == 0  # a handoff would reveal the practice run
    assert "saved" in chat.send("can we continue later?", "pause", 0.9)[0]
    (app,) = _apps(db, chat.sender)
    assert app.status == Status.PAUSED
    replies = chat.send("hi again", "greet", 0.9)
    assert "Welcome back" in replies[0] and "Question 2 of 6" in replies[-1]
    (answer,) = _rows(db, Answer, app.id)
    assert answer.revision == 2
    assert [r.answer_revision for r in _rows(db, AnswerScore, app.id)] == [1, 2]


def test_scoring_failure_gives_no_feedback_but_keeps_the_run(db: Database) -> None:
    def broken() -> object:
        raise RuntimeError("model unavailable")

    chat = Chat(practice_service(db, TODAY, scorer=broken), "web:p-broken")
    chat.begin_practice()
    replies = chat.send(MOTIVATION_2_OF_3)
    assert "couldn't score this answer just now" in replies[0]
    assert "Question 2 of 6" in replies[-1]
    for qid in STRUCTURED:
        chat.send(VALID[qid])
    summary = chat.send("/skip_question")[-1]
    assert "1. Why do you want this job? — not scored" in summary
    assert "Overall: no score" in summary
    assert "Attempt 1: no overall score this time." in summary


def test_real_scorer_feedback(db: Database) -> None:
    """The real model (nlu.scoring) behind the same feedback: a band and the key points."""
    assessment = AssessmentService(db)
    service = InterviewService(db, today=TODAY, assessment=assessment)
    chat = Chat(service, "web:p-real")
    chat.begin_practice()
    answer = (
        "I enjoy the work itself, I like being part of a friendly team, and I want to grow my "
        "skills and take on more responsibility over time."
    )
    feedback = chat.send(answer)[0]
    assert feedback.startswith("Feedback on question 1: ")
    assert any(band in feedback for band in ("strong", "partly there", "needs work"))
    assert "Covered:" in feedback or "Missing:" in feedback
    assert "Tip:" in feedback


# ------------------------------------------------------------------------------ alongside real


def test_practice_and_real_application_side_by_side(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-both")
    chat.start(JOB)
    chat.send("yes")
    chat.send("yes")
    chat.send(VALID["motivation"])
    # /practice during the real interview pauses it and switches the form to a practice run.
    replies = chat.practice(JOB)
    assert "paused" in replies[0] and any(NOTICE in t for t in replies)
    assert chat.slots["interview_mode"] == "practice" and chat.requested == "consent"
    chat.send("yes")
    chat.send("yes")
    chat.send("after each answer")
    _finish_run(chat)
    assert not chat.in_form
    real, practice_run = _apps(db, chat.sender)
    assert real.mode == Mode.APPLICATION and real.status == Status.PAUSED
    assert practice_run.mode == Mode.PRACTICE and practice_run.status == Status.COMPLETED
    # The real interview is still there, at the same question.
    replies = chat.send("hello", "greet", 0.9)
    assert "Welcome back! Let's continue your interview for Test Role" in replies[0]
    assert "Question 2 of 6" in replies[-1] and "Practice" not in replies[-1]
    for qid in list(VALID)[1:]:
        replies = chat.send(VALID[qid])
    assert any("your interview for Test Role is complete" in t for t in replies)
    assert not chat.in_form  # and no second consent question for a new run
    real, _ = _apps(db, chat.sender)
    assert real.status == Status.COMPLETED
    # A completed practice run never blocks applying, nor does applying block practice.
    assert "already completed" in service.choose_job(chat.sender, JOB).replies[0].text
    assert service.start_practice(chat.sender, JOB).slug == JOB


def test_completed_practice_does_not_use_up_the_application(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-then-apply")
    chat.begin_practice()
    _finish_run(chat)
    choice = service.choose_job(chat.sender, JOB)
    assert choice.slug == JOB and choice.replies == []
    chat.start(JOB)
    assert chat.slots["interview_mode"] == "application" and chat.requested == "consent"
    chat.send("yes")
    chat.send("yes")
    assert "Question 1 of 6" in chat.replies[-1].text and "Practice" not in chat.replies[-1].text


def test_practice_during_a_practice_run_says_so(service: InterviewService) -> None:
    chat = Chat(service, "web:p-twice")
    chat.begin_practice()
    replies = chat.practice(JOB)
    assert "already in a practice run" in replies[0] and "Question 1 of 6" in replies[-1]


def test_a_paused_practice_run_resumes_with_practice(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-resume")
    chat.begin_practice()
    chat.send(MOTIVATION_2_OF_3)
    chat.send("pause", "pause", 0.9)
    chat.requested, chat.slots = None, {}  # the conversation was reset: only the DB remembers
    replies = chat.practice(None)
    assert "Welcome back! Let's continue your practice run" in replies[0]
    assert "Practice — Question 2 of 6" in replies[-1]
    for qid in STRUCTURED:
        chat.send(VALID[qid])
    chat.send("/skip_question")
    assert not chat.in_form  # the resumed run ends without a second consent question
    assert len(_apps(db, chat.sender)) == 1


def test_practice_at_the_consent_step_switches_before_anything_is_stored(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-consent-switch")
    chat.start(JOB)
    assert chat.slots["interview_mode"] == "application" and chat.requested == "consent"
    replies = chat.practice(None)
    assert any(NOTICE in t for t in replies) and chat.requested == "consent"
    assert chat.slots["interview_mode"] == "practice"
    assert _count(db, Candidate) == 0
    assert "delete" in chat.practice("delete")[0]
    chat.send("yes")
    chat.send("yes")
    assert chat.replies[-1].text == "Feedback after each answer, or all at the end?"
    (app,) = _apps(db, chat.sender)
    assert app.mode == Mode.PRACTICE


def test_delete_question_while_a_real_interview_is_paused(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-paused-delete")
    chat.begin_practice()
    _finish_run(chat)
    chat.start(JOB)
    chat.send("yes")
    chat.send("yes")
    chat.send("pause", "pause", 0.9)
    replies = chat.send("delete my practice runs", "practice", 0.9)
    assert "Delete your practice run" in replies[0]
    replies = chat.send("yes")
    assert "deleted" in replies[0] and "Question 1 of 6" in replies[-1]
    (real,) = _apps(db, chat.sender)
    assert real.mode == Mode.APPLICATION and real.status == Status.IN_PROGRESS


# ------------------------------------------------------------------------------ privacy


def test_practice_runs_are_invisible_to_employers(db: Database, service: InterviewService) -> None:
    import_jobs(db, ROOT / "jobs")
    sender = "web:p-hidden"
    _complete_real_application(service, sender)
    chat = Chat(service, sender)
    chat.begin_practice()
    _finish_run(chat)
    real, practice_run = _apps(db, sender)
    # Reports (`parley interviews show`): only the real application, unless asked.
    assert [r["application_id"] for r in interview_report(db, sender)] == [real.id]
    both = interview_report(db, sender, include_practice=True)
    assert {r["mode"] for r in both} == {"application", "practice"}
    with pytest.raises(NotFound):
        interview_report(db, practice_run.id)
    assert interview_report(db, practice_run.id, include_practice=True)[0]["mode"] == "practice"
    # Job-level rescore works on real applications only.
    assessment = AssessmentService(db, scorer=FakeScorer)
    assert assessment.applications_for(JOB) == [real.id]
    assert assessment.applications_for(practice_run.id) == []
    assert set(assessment.applications_for(JOB, include_practice=True)) == {
        real.id,
        practice_run.id,
    }
    # Someone who only practised is unknown to the employer's report.
    only = Chat(service, "web:p-hidden-only")
    only.begin_practice()
    _finish_run(only)
    with pytest.raises(NotFound):
        interview_report(db, "web:p-hidden-only")


def test_practice_answers_do_not_feed_job_matching(db: Database) -> None:
    import_jobs(db, ROOT / "jobs")
    service = practice_service(db, TODAY)
    chat = Chat(service, "web:p-fit")
    chat.begin_practice("backend-engineer")
    for text in ["yes", "6", "Python"]:
        chat.send(text)
    assert _count(db, Answer) == 3
    profile, _ = JobFitService(db).matches("web:p-fit")
    assert profile.is_empty()


def test_cli_shows_practice_only_when_asked(
    db: Database, service: InterviewService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parley.cli import app as cli

    monkeypatch.setenv("DATABASE_URL", db.url)
    sender = "web:p-cli"
    _complete_real_application(service, sender)
    chat = Chat(service, sender)
    chat.begin_practice()
    _finish_run(chat, "My secret practice answer about the team.")
    runner = CliRunner()
    shown = runner.invoke(cli, ["interviews", "show", sender])
    assert shown.exit_code == 0, shown.output
    assert "application" in shown.output and "practice run" not in shown.output
    assert "secret practice answer" not in shown.output
    as_json = json.loads(runner.invoke(cli, ["interviews", "show", sender, "--json"]).output)
    assert [r["mode"] for r in as_json] == ["application"]
    practice_id = _apps(db, sender, Mode.PRACTICE)[0].id
    hidden = runner.invoke(cli, ["interviews", "show", practice_id])
    assert hidden.exit_code == 1 and "no candidate or application" in hidden.output
    everything = runner.invoke(cli, ["interviews", "show", sender, "--include-practice"])
    assert "practice run" in everything.output
    assert "secret practice answer" in everything.output
    rescored = runner.invoke(cli, ["rescore", practice_id])
    assert rescored.exit_code == 1


# ------------------------------------------------------------------------------ deleting


def test_delete_practice_runs_after_confirmation(db: Database, service: InterviewService) -> None:
    sender = "web:p-delete"
    _complete_real_application(service, sender)
    chat = Chat(service, sender)
    for _ in range(2):
        chat.begin_practice()
        _finish_run(chat)
    real = _apps(db, sender, Mode.APPLICATION)[0]
    runs = [a.id for a in _apps(db, sender, Mode.PRACTICE)]
    assert len(runs) == 2
    before = {m: _count(db, m) for m in (Answer, AnswerScore, ApplicationScore, InterviewSession)}
    # "no" keeps them.
    replies = chat.practice("delete")
    assert "Delete all 2 of your practice runs" in replies[0]
    assert [p for _, p in chat.replies[0].buttons] == ["yes", "no"]
    assert "kept" in chat.send("no")[0]
    assert len(_apps(db, sender, Mode.PRACTICE)) == 2
    # Natural language asks too; "yes" deletes.
    replies = chat.practice(None, text="please delete my practice runs")
    assert "Delete all 2" in replies[0]
    assert "all 2 of your practice runs have been deleted" in chat.send("yes")[0]
    assert _apps(db, sender, Mode.PRACTICE) == []
    for model in (Answer, AnswerScore, ApplicationScore, InterviewSession):
        for run in runs:
            assert _count(db, model, application_id=run) == 0, model.__name__
    with db.transaction() as s:
        versions = list(s.scalars(select(ConsentRecord.notice_version)))
    assert versions and not any(v.endswith("+practice") for v in versions)
    # The real application is untouched.
    assert [a.id for a in _apps(db, sender)] == [real.id]
    assert _count(db, Answer, application_id=real.id) == 6
    assert _count(db, Answer) < before[Answer]
    assert _count(db, Candidate) == 1


def test_delete_when_only_practice_removes_the_person_too(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-delete-all")
    chat.begin_practice()
    _finish_run(chat)
    chat.practice("delete")
    chat.send("yes, delete them")
    for model in (Candidate, ChannelIdentity, Application, Answer, AnswerScore, ConsentRecord):
        assert _count(db, model) == 0, model.__name__


def test_delete_with_nothing_to_delete(db: Database, service: InterviewService) -> None:
    chat = Chat(service, "web:p-nothing")
    assert chat.practice("delete") == ["You have no practice runs to delete."]
    assert not chat.pending_delete
    _complete_real_application(service, "web:p-nothing")
    assert chat.practice("delete") == ["You have no practice runs to delete."]
    assert len(_apps(db, "web:p-nothing")) == 1


def test_an_unrelated_reply_lets_the_delete_question_lapse(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-lapse")
    chat.begin_practice()
    _finish_run(chat)
    chat.practice("delete")
    replies = chat.send("what jobs do you have?")
    assert "complete" in replies[0]  # handled as usual
    chat.send("yes")  # too late: the question lapsed
    assert len(_apps(db, chat.sender, Mode.PRACTICE)) == 1


def test_delete_during_a_practice_run_ends_it(db: Database, service: InterviewService) -> None:
    chat = Chat(service, "web:p-delete-mid")
    chat.begin_practice()
    chat.send(MOTIVATION_2_OF_3)
    replies = chat.send("delete my practice runs", "practice", 0.9)
    assert "Delete your practice run" in replies[0] and len(replies) == 1
    assert "kept" in chat.send("no")[0] and "Question 2 of 6" in chat.replies[-1].text
    chat.send("/practice delete")
    replies = chat.send("yes")
    assert "deleted" in replies[0] and "includes this one" in replies[0]
    assert not chat.in_form
    assert _count(db, Application) == 0 and _count(db, AnswerScore) == 0


def test_delete_during_a_real_interview_continues_it(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-delete-real")
    chat.begin_practice()
    _finish_run(chat)
    chat.start(JOB)
    chat.send("yes")
    chat.send("yes")
    chat.send('/practice{"practice_ref":"delete"}')
    replies = chat.send("yes")
    assert "deleted" in replies[0] and "back to your interview" in replies[0]
    assert "Question 1 of 6" in replies[-1] and chat.in_form
    (real,) = _apps(db, chat.sender)
    assert real.mode == Mode.APPLICATION and real.status == Status.IN_PROGRESS


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("", "didn't get an answer"),
        ("   ", "didn't get an answer"),
        ("x" * 20_000, "20,000 characters long"),
    ],
)
def test_empty_and_huge_answers_are_reasked_and_not_scored(
    db: Database, service: InterviewService, text: str, expect: str
) -> None:
    chat = Chat(service, "web:p-bad")
    chat.begin_practice()
    replies = chat.send(text)
    assert expect in replies[0] and "Question 1 of 6" in replies[-1]
    assert not any("Feedback" in t for t in replies)
    assert _count(db, Answer) == 0 and _count(db, AnswerScore) == 0


def test_duplicated_message_is_one_answer_with_one_score(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-dup")
    chat.begin_practice()
    chat.send(MOTIVATION_2_OF_3)
    replies = chat.send(MOTIVATION_2_OF_3)  # checked against question 2 (yes/no)
    assert "yes or no" in replies[0] and "Question 2 of 6" in replies[-1]
    (app,) = _apps(db, chat.sender)
    assert [a.question_id for a in _rows(db, Answer, app.id)] == ["motivation"]
    assert len(_rows(db, AnswerScore, app.id)) == 1


def test_two_identical_messages_at_once(db: Database, service: InterviewService) -> None:
    chat = Chat(service, "web:p-race")
    chat.begin_practice()
    errors: list[BaseException] = []

    def answer() -> None:
        try:
            service.handle_answer(chat.sender, JOB, MOTIVATION_2_OF_3, MessageNlu(), "practice")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    (app,) = _apps(db, chat.sender)
    (answer_row,) = _rows(db, Answer, app.id)
    assert answer_row.revision == 1
    assert len(_rows(db, AnswerScore, app.id)) == 1


def test_hostile_text_is_stored_verbatim_and_quoted_back(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-hostile")
    chat.begin_practice()
    text = "I love the team'); DROP TABLE answers;-- <script>alert(1)</script>"
    feedback = chat.send(text)[0]
    assert "<script>alert(1)</script>" in feedback  # plain text; channels escape it
    (app,) = _apps(db, chat.sender)
    assert _rows(db, Answer, app.id)[0].raw_text == text
    assert _count(db, AnswerScore) == 1


@pytest.mark.parametrize("ref", ["nosuchjob", "<script>", "'; DROP TABLE jobs;--", "x" * 500])
def test_unknown_job_shows_the_practice_menu(
    db: Database, service: InterviewService, ref: str
) -> None:
    chat = Chat(service, "web:p-unknown")
    replies = chat.practice(ref)
    assert replies[0].startswith("I couldn't find that job.")
    assert ref not in replies[0]
    assert [p for _, p in chat.replies[0].buttons] == ['/practice{"practice_ref":"test-role"}']
    assert not chat.in_form and _count(db, Candidate) == 0


def test_practice_payload_mid_interview_is_not_an_answer(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-payload")
    chat.start(JOB)
    chat.send("yes")
    chat.send("yes")
    replies = chat.practice("nosuchjob")
    assert "paused" in replies[0] and "couldn't find that job" in replies[1]
    assert _count(db, Answer) == 0
    # Any other message resumes the paused interview, as after any pause.
    replies = chat.send(VALID["motivation"])
    assert "Welcome back" in replies[0] and "Question 1 of 6" in replies[-1]


def test_under_16_in_practice_keeps_nothing(db: Database, service: InterviewService) -> None:
    chat = Chat(service, "web:p-young")
    chat.practice(JOB)
    chat.send("yes")
    assert "nothing you told us has been kept" in chat.send("no")[0]
    assert _count(db, Candidate) == 0 and _count(db, Application) == 0
    assert not chat.in_form


def test_declining_practice_consent_stores_no_person(
    db: Database, service: InterviewService
) -> None:
    chat = Chat(service, "web:p-decline")
    chat.practice(JOB)
    assert "/practice" in chat.send("no")[0]
    assert _count(db, Candidate) == 0
    with db.transaction() as s:
        record = s.scalars(select(ConsentRecord)).one()
    assert not record.granted and record.notice_version == PRACTICE_NOTICE_VERSION


def test_old_conversations_without_a_mode_still_work(db: Database) -> None:
    """Trackers from before practice mode have no interview_mode slot: mode None."""
    service = practice_service(db, TODAY)
    convo = Conversation(service, "web:p-legacy")
    convo.begin()
    assert convo.stage() == Stage.QUESTION
    assert _apps(db, "web:p-legacy")[0].mode == Mode.APPLICATION
