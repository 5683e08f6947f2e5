"""Full interviews through Rasa's REST channel, against the real Rasa and action servers.

Each test asserts on database rows, not only on what the bot says.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.inbound import prepare
from storage.models import (
    Answer,
    AnswerScore,
    Application,
    ApplicationScore,
    ChannelIdentity,
    ConsentRecord,
    HandoffRequest,
)
from tests.e2e.conftest import Stack, new_sender

pytestmark = pytest.mark.e2e

START = '/start{"job_id":"test-role"}'
VALID = [
    ("motivation", "I enjoy working with people and I want to grow in logistics."),
    ("right_to_work", "yes"),
    ("years", "6 years"),
    ("shift", "Afternoon"),
    ("start_date", "1 March 2027"),
    ("anything_else", "Nothing else, thanks."),
]


def answers_of(stack: Stack, sender: str) -> dict[str, Answer]:
    with stack.db.transaction() as s:
        rows = s.scalars(
            select(Answer)
            .join(Application, Answer.application_id == Application.id)
            .join(ChannelIdentity, ChannelIdentity.candidate_id == Application.candidate_id)
            .where(ChannelIdentity.sender_id == sender)
        ).all()
        return {a.question_id: a for a in rows}


def application_of(stack: Stack, sender: str) -> Application | None:
    with stack.db.transaction() as s:
        return s.scalars(
            select(Application)
            .join(ChannelIdentity, ChannelIdentity.candidate_id == Application.candidate_id)
            .where(ChannelIdentity.sender_id == sender)
        ).one_or_none()


def begin(stack: Stack, sender: str) -> list[str]:
    intro = stack.say(sender, START)
    assert intro[-1]["buttons"], intro
    assert "Are you 16" in stack.texts(sender, "yes")[-1]
    return stack.texts(sender, "yes")


def complete(stack: Stack, sender: str) -> list[str]:
    begin(stack, sender)
    replies: list[str] = []
    for _, text in VALID:
        replies = stack.texts(sender, text)
    return replies


def test_happy_path(stack: Stack, sender: str) -> None:
    intro = stack.say(sender, START)
    joined = " ".join(m.get("text") or "" for m in intro)
    assert "Test Role" in joined and "Test Organization" in joined
    assert "automated interviewer" in joined and "Privacy notice (version" in joined
    assert [b["payload"] for b in intro[-1]["buttons"]] == ["yes", "no"]
    stack.texts(sender, "yes")
    first = stack.say(sender, "yes")
    assert "Question 1 of 6" in first[-1]["text"]
    replies: list[str] = []
    for qid, text in VALID:
        replies = stack.texts(sender, text)
        if qid == "years":
            shift_prompt = stack.say(sender, "/repeat")  # raw REST: alias still understood
            assert [b["title"] for b in shift_prompt[-1]["buttons"]] == [
                "Morning",
                "Afternoon",
                "Night",
            ]
    assert any("interview for Test Role is complete" in r for r in replies)
    assert any("recruiter will review" in r for r in replies)
    answers = answers_of(stack, sender)
    assert [a for a in answers] == [q for q, _ in VALID]
    assert answers["years"].normalized["value"] == 6
    assert answers["shift"].normalized["value"] == "Afternoon"
    assert answers["start_date"].normalized["value"] == "2027-03-01"
    app = application_of(stack, sender)
    assert app is not None and app.status == "completed"
    # Scored in the action server as answers arrived: the shortlist is ready at the end.
    with stack.db.transaction() as s:
        scores = {
            r.question_id: r
            for r in s.scalars(select(AnswerScore).where(AnswerScore.application_id == app.id))
        }
        overall = s.scalars(
            select(ApplicationScore).where(ApplicationScore.application_id == app.id)
        ).all()
    # "Anything else?" has no rubric: it is kept as the candidate's note, never AI-scored.
    assert set(scores) == {"motivation"}
    assert scores["motivation"].status == "scored" and scores["motivation"].model_version
    assert overall and overall[-1].complete and overall[-1].overall is not None
    # After the end, messages get a sensible status reply, and nothing is stored.
    after = stack.texts(sender, "hello")
    assert any("is complete" in t for t in after)
    assert len(answers_of(stack, sender)) == 6


def test_knockout(stack: Stack, sender: str) -> None:
    begin(stack, sender)
    stack.texts(sender, VALID[0][1])
    replies = stack.texts(sender, "no")
    assert "can't take your application" in replies[-2]
    # Then the voluntary self-identification is offered, as after a completed interview.
    assert "entirely optional" in replies[-1]
    assert "right to work" not in " ".join(replies).lower()
    app = application_of(stack, sender)
    assert app is not None and app.status == "knocked_out"
    assert answers_of(stack, sender)["right_to_work"].knockout is True
    assert "has ended" in stack.texts(sender, "hi")[0]


def test_voluntary_self_identification_through_rasa(stack: Stack, sender: str) -> None:
    """The offer's button reaches action_privacy through the new intent, a typed answer
    reaches the waiting question through action_route, and a button payload answers the
    second; the values land sealed under the self-ID key, readable only through
    fairness.self_id."""
    from fairness import self_id

    begin(stack, sender)
    stack.texts(sender, VALID[0][1])
    ended = stack.say(sender, "no")
    offer = ended[-1]
    assert [b["payload"] for b in offer["buttons"]] == ["/privacy_self_id"]
    first = stack.say(sender, offer["buttons"][0]["payload"])
    assert "voluntary" in " ".join(m.get("text") or "" for m in first).lower()
    second = stack.say(sender, "Female")
    race_buttons = {b["title"]: b["payload"] for m in second for b in m.get("buttons") or []}
    assert "Asian" in race_buttons, second
    saved = stack.texts(sender, race_buttons["Asian"])
    assert any("Saved" in t for t in saved), saved
    app = application_of(stack, sender)
    assert app is not None
    with stack.db.transaction() as s:
        assert self_id.read(s, app.candidate_id) == ("female", "asian")
    shown = " ".join(stack.texts(sender, prepare("/selfid").text or ""))
    assert "Female" in shown and "Asian" in shown
    assert "Deleted" in " ".join(stack.texts(sender, prepare("/selfid delete").text or ""))
    with stack.db.transaction() as s:
        assert self_id.read(s, app.candidate_id) == (None, None)


def test_go_back_and_change_an_answer(stack: Stack, sender: str) -> None:
    begin(stack, sender)
    stack.texts(sender, "My first attempt at this answer.")
    replies = stack.texts(sender, prepare("/back").text or "")
    assert "My first attempt" in replies[0] and "Question 1 of 6" in replies[-1]
    replies = stack.texts(sender, "A much better answer about my motivation.")
    assert "Question 2 of 6" in replies[-1]
    answer = answers_of(stack, sender)["motivation"]
    assert answer.raw_text == "A much better answer about my motivation."
    assert answer.revision == 2


def test_go_back_in_natural_language(stack: Stack, sender: str) -> None:
    begin(stack, sender)
    stack.texts(sender, VALID[0][1])
    stack.texts(sender, "yes")
    replies = stack.texts(sender, "go back please")
    assert "Your answer was: Yes" in replies[0] and "Question 2 of 6" in replies[-1]


def test_invalid_number_is_reasked(stack: Stack, sender: str) -> None:
    begin(stack, sender)
    stack.texts(sender, VALID[0][1])
    stack.texts(sender, "yes")
    replies = stack.texts(sender, "loads")
    assert "between 0 and 50" in replies[0] and "Question 3 of 6" in replies[-1]
    assert "years" not in answers_of(stack, sender)
    replies = stack.texts(sender, "three")
    assert "Question 4 of 6" in replies[-1]
    assert answers_of(stack, sender)["years"].normalized["value"] == 3


def test_free_text_that_looks_like_a_command_is_an_answer(stack: Stack, sender: str) -> None:
    begin(stack, sender)
    text = "I'd rather stop by later and explain"
    replies = stack.texts(sender, text)
    assert "Question 2 of 6" in replies[-1]
    assert answers_of(stack, sender)["motivation"].raw_text == text
    app = application_of(stack, sender)
    assert app is not None and app.status == "in_progress"


def test_no_consent(stack: Stack, sender: str) -> None:
    stack.say(sender, START)
    replies = stack.texts(sender, "no")
    assert "nothing about you is stored" in replies[0]
    assert application_of(stack, sender) is None
    with stack.db.transaction() as s:
        assert s.scalar(select(ChannelIdentity).where(ChannelIdentity.sender_id == sender)) is None
    # No questions afterwards: a later message just offers the jobs again.
    assert "Question" not in " ".join(stack.texts(sender, "hello"))


def test_under_16(stack: Stack, sender: str) -> None:
    stack.say(sender, START)
    stack.texts(sender, "yes")
    replies = stack.texts(sender, "no")
    assert "nothing you told us has been kept" in replies[0]
    with stack.db.transaction() as s:
        assert s.scalar(select(ChannelIdentity).where(ChannelIdentity.sender_id == sender)) is None
        assert (
            s.scalar(
                select(func.count())
                .select_from(ConsentRecord)
                .where(ConsentRecord.candidate_id.is_(None), ConsentRecord.granted.is_(True))
            )
            == 0
        )
    assert application_of(stack, sender) is None


def test_human_handoff_mid_interview(stack: Stack, sender: str) -> None:
    begin(stack, sender)
    replies = stack.texts(sender, "can I talk to a real person?")
    assert "Test Organization" in replies[0] and "Question 1 of 6" in replies[-1]
    app = application_of(stack, sender)
    assert app is not None
    with stack.db.transaction() as s:
        rows = s.scalars(select(HandoffRequest).where(HandoffRequest.application_id == app.id))
        assert [r.status for r in rows] == ["open"]


def test_unknown_job_and_bad_input(stack: Stack, sender: str) -> None:
    replies = stack.say(sender, '/start{"job_id":"no-such-job"}')
    assert "couldn't find that job" in replies[0]["text"]
    assert any("test-role" in b["payload"] for b in replies[0]["buttons"])
    begin(stack, sender)
    for text in ["", "🙂🙂", "x" * 10_000, "/nonsense", "¿¡ 😀 ¡?"]:
        replies = stack.texts(sender, text)
        assert replies, text
        assert "Question 1 of 6" in replies[-1], (text[:20], replies)
    assert answers_of(stack, sender) == {}


def test_two_messages_at_once_from_one_sender(stack: Stack, sender: str) -> None:
    begin(stack, sender)
    # The same message twice at once (a double send). Rasa's lock store serialises the turns:
    # the first answers question 1, the second is checked against question 2 (yes/no) and
    # re-asked — never a duplicated or overwritten answer, whichever arrives first.
    text = VALID[0][1]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda t: stack.say(sender, t), [text, text]))
    assert all(results)
    answers = answers_of(stack, sender)
    assert set(answers) == {"motivation"}
    assert answers["motivation"].revision == 1 and answers["motivation"].raw_text == text


def test_concurrent_candidates_lose_nothing(stack: Stack) -> None:
    senders = [new_sender() for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda s: complete(stack, s), senders))
    for s in senders:
        answers = answers_of(stack, s)
        assert len(answers) == 6 and all(a.revision == 1 for a in answers.values())


def test_sample_job_starts(stack: Stack, sender: str) -> None:
    replies = stack.say(sender, '/start{"job_id":"backend-engineer"}')
    assert "Fabrikam" in " ".join(m.get("text") or "" for m in replies)


@pytest.mark.parametrize("typed", ["/start job=test-role", "/start test-role"])
def test_start_typed_straight_into_rest(stack: Stack, typed: str) -> None:
    replies = stack.texts(new_sender(), typed)
    assert any("Test Role" in r for r in replies), replies


def test_asking_for_a_job_by_name(stack: Stack, sender: str) -> None:
    menu = stack.say(sender, "hello")
    assert any(b["payload"].startswith("/start") for b in menu[-1]["buttons"])
    replies = stack.texts(sender, "I want to apply for the Test Role")
    assert any("Test Role" in r and "Test Organization" in r for r in replies), replies


def test_pause_and_resume_after_restarting_both_servers(stack: Stack, sender: str) -> None:
    begin(stack, sender)
    stack.texts(sender, VALID[0][1])
    replies = stack.texts(sender, "can we continue later?")
    assert "saved" in replies[0]
    app = application_of(stack, sender)
    assert app is not None and app.status == "paused"
    stack.restart_servers()
    replies = stack.texts(sender, "hi, I'm back")
    assert "Welcome back" in replies[0] and "Question 2 of 6" in replies[-1]
    for _, text in VALID[1:]:
        replies = stack.texts(sender, text)
    assert any("is complete" in r for r in replies)
    answers = answers_of(stack, sender)
    assert len(answers) == 6 and answers["motivation"].raw_text == VALID[0][1]


def test_prod_settings_full_interview_and_restart(prod_stack: Stack) -> None:
    """PostgreSQL tracker store + Redis lock store: the documented production settings."""
    sender = new_sender("telegram")
    begin(prod_stack, sender)
    prod_stack.texts(sender, VALID[0][1])
    prod_stack.texts(sender, "pause")
    prod_stack.restart_servers()
    replies = prod_stack.texts(sender, "hello")
    assert "Welcome back" in replies[0] and "Question 2 of 6" in replies[-1]
    with ThreadPoolExecutor(2) as pool:  # a double send, serialised by the Redis lock store
        list(pool.map(lambda t: prod_stack.say(sender, t), ["yes", "yes"]))
    answers = answers_of(prod_stack, sender)
    assert set(answers) == {"motivation", "right_to_work"}
    assert answers["right_to_work"].revision == 1
    prod_stack.texts(sender, "4")
    for _, text in VALID[3:]:
        prod_stack.texts(sender, text)
    answers = answers_of(prod_stack, sender)
    assert len(answers) == 6 and all(a.channel == "telegram" for a in answers.values())
    app = application_of(prod_stack, sender)
    assert app is not None and app.status == "completed"
    with prod_stack.db.transaction() as s:
        consent = s.scalars(
            select(ConsentRecord).where(ConsentRecord.candidate_id == app.candidate_id)
        ).one()
        assert consent.granted
    # Rasa's tracker store on PostgreSQL holds the conversation.
    import psycopg

    tracker_url = prod_stack.settings.tracker_url
    with psycopg.connect(tracker_url) as conn:
        count = conn.execute("SELECT count(*) FROM events WHERE sender_id = %s", (sender,))
        assert count.fetchone()[0] > 20
    assert json.dumps(answers["start_date"].normalized)
