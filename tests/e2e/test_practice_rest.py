"""Practice mode through Rasa's REST channel, against the real Rasa and action servers and the
real scorer. Each test asserts on database rows, not only on what the bot says."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.inbound import prepare
from screening.reports import NotFound, interview_report
from storage.models import (
    Answer,
    AnswerScore,
    Application,
    ApplicationScore,
    ChannelIdentity,
    InterviewSession,
)
from tests.e2e.conftest import Stack
from tests.e2e.test_interview_rest import VALID, begin

pytestmark = pytest.mark.e2e

NOTICE = (
    "This is a practice run: your answers are scored only to give you feedback; employers "
    "never see practice runs; /practice delete removes them"
)
BANDS = ("strong", "partly there", "needs work")


def send(stack: Stack, sender: str, typed: str) -> list[dict]:  # type: ignore[type-arg]
    """What a gateway does: normalise the typed text, then post it to Rasa."""
    prepared = prepare(typed)
    assert prepared.text is not None, prepared.reply
    return stack.say(sender, prepared.text)


def texts(messages: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [m.get("text") or "" for m in messages]


def applications(stack: Stack, sender: str) -> list[Application]:
    with stack.db.transaction() as s:
        return list(
            s.scalars(
                select(Application)
                .join(ChannelIdentity, ChannelIdentity.candidate_id == Application.candidate_id)
                .where(ChannelIdentity.sender_id == sender)
                .order_by(Application.created_at)
            )
        )


def count(stack: Stack, model: type, application_id: str) -> int:
    with stack.db.transaction() as s:
        stmt = select(func.count()).select_from(model)
        return s.scalar(stmt.where(model.application_id == application_id)) or 0


def test_practice_run_with_feedback_then_delete(stack: Stack, sender: str) -> None:
    intro = send(stack, sender, "/practice test-role")
    assert any(NOTICE in t for t in texts(intro)), intro
    assert [b["payload"] for b in intro[-1]["buttons"]] == ["yes", "no"]
    assert "Are you 16" in texts(stack.say(sender, "yes"))[-1]
    timing = stack.say(sender, "yes")
    assert timing[-1]["text"] == "Feedback after each answer, or all at the end?"
    payloads = [b["payload"] for b in timing[-1]["buttons"]]
    assert payloads == ["after each answer", "all at the end"]
    assert "Practice — Question 1 of 6" in texts(stack.say(sender, payloads[0]))[-1]

    replies = texts(stack.say(sender, VALID[0][1]))
    feedback = replies[0]
    assert feedback.startswith("Feedback on question 1: "), replies
    assert any(band in feedback for band in BANDS) and "Tip:" in feedback
    assert "Question 2 of 6" in replies[-1]
    replies = texts(stack.say(sender, "no"))  # a knockout answer: the run carries on
    assert "In a real application this answer would end the screening" in replies[0]
    assert "Question 3 of 6" in replies[-1]
    for _, text in VALID[2:]:
        replies = texts(stack.say(sender, text))
    summary = replies[-1]
    assert summary.startswith("Practice run complete: Test Role."), replies
    assert "Overall:" in summary and "Attempt 1:" in summary
    assert "(would end a real screening)" in summary

    (app,) = applications(stack, sender)
    assert (app.mode, app.practice_feedback, app.status) == ("practice", "each", "completed")
    assert app.knocked_out_by is None
    with stack.db.transaction() as s:
        scores = {
            r.question_id: r
            for r in s.scalars(select(AnswerScore).where(AnswerScore.application_id == app.id))
        }
        overall = s.scalars(
            select(ApplicationScore).where(ApplicationScore.application_id == app.id)
        ).all()
    assert scores["motivation"].status == "scored" and scores["motivation"].model_version
    assert overall and overall[-1].complete and not overall[-1].knocked_out
    # Never visible to employers.
    with pytest.raises(NotFound):
        interview_report(stack.db, sender)

    # After the run: a status reply, and the practice runs can be deleted.
    assert any(
        "practice run for Test Role is complete" in t for t in texts(stack.say(sender, "hi"))
    )
    question = send(stack, sender, "/practice delete")
    assert "Delete your practice run" in question[0]["text"]
    assert [b["payload"] for b in question[0]["buttons"]] == ["yes", "no"]
    assert "deleted" in texts(stack.say(sender, "yes"))[0]
    assert applications(stack, sender) == []
    for model in (Answer, AnswerScore, ApplicationScore, InterviewSession):
        assert count(stack, model, app.id) == 0, model.__name__


def test_practice_in_natural_language_and_from_the_menu(stack: Stack, sender: str) -> None:
    menu = stack.say(sender, "hello")
    assert menu[-1]["buttons"][-1]["payload"] == "/practice"
    practice_menu = stack.say(sender, "/practice")
    assert "practise for" in practice_menu[-1]["text"]
    assert any("warehouse-associate" in b["payload"] for b in practice_menu[-1]["buttons"])
    replies = texts(stack.say(sender, "can I do a practice interview for the warehouse job"))
    assert any("practice interview for the Warehouse Associate role" in t for t in replies), replies
    assert any(NOTICE in t for t in replies)


def test_practice_during_a_real_interview_keeps_it(stack: Stack, sender: str) -> None:
    begin(stack, sender)
    stack.texts(sender, VALID[0][1])
    replies = texts(send(stack, sender, "/practice test-role"))
    assert "paused" in replies[0] and any(NOTICE in t for t in replies)
    stack.texts(sender, "yes")
    stack.texts(sender, "yes")
    stack.texts(sender, "all at the end")
    replies = stack.texts(sender, "I like working in a team and learning new things every day.")
    assert not any(t.startswith("Feedback") for t in replies) and "Question 2 of 6" in replies[-1]
    real, practice_run = applications(stack, sender)
    assert (real.mode, real.status) == ("application", "paused")
    assert (practice_run.mode, practice_run.status) == ("practice", "in_progress")
    assert [r["application_id"] for r in interview_report(stack.db, sender)] == [real.id]
    # Stopping the practice run, then any message resumes the real interview.
    stack.texts(sender, "/withdraw")
    assert "stopped" in stack.texts(sender, "yes")[0]
    replies = stack.texts(sender, "hello again")
    assert "Welcome back! Let's continue your interview for Test Role" in replies[0]
    assert "Question 2 of 6" in replies[-1]


@pytest.mark.parametrize("typed", ["/practice test-role", "/practice Test Role", "/practise"])
def test_practice_typed_straight_into_rest(stack: Stack, typed: str) -> None:
    from tests.e2e.conftest import new_sender

    replies = stack.texts(new_sender(), typed)
    if typed == "/practise":
        assert "practise for" in replies[-1], replies
    else:
        assert any("practice interview for the Test Role role" in t for t in replies), replies
