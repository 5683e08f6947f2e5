"""The interview service against real SQLite and PostgreSQL databases (no Rasa).

`Conversation` plays the part of Rasa's form: it routes each message to the handler for the
current stage and asks for the next step, exactly as actions/interview_form.py does.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from screening.catalog import import_jobs
from screening.commands import MessageNlu
from screening.interview import InterviewService, Stage, Status
from storage.db import Database
from storage.models import (
    Answer,
    Application,
    Candidate,
    ChannelIdentity,
    ConsentRecord,
    HandoffRequest,
    InterviewSession,
)

TODAY = date(2026, 11, 22)
JOB = "test-role"
VALID = {
    "motivation": "I enjoy logistics work and want to grow with a good team.",
    "right_to_work": "yes",
    "years": "4 years",
    "shift": "morning",
    "start_date": "1 March 2027",
    "anything_else": "No, thank you.",
}


class Conversation:
    """Drives the service the way the Rasa form does (see module docstring)."""

    def __init__(self, service: InterviewService, sender: str, slug: str = JOB) -> None:
        self.service, self.sender, self.slug = service, sender, slug
        self.consent: object = None
        self.age: object = None

    def stage(self) -> Stage:
        return self.service.stage(self.sender, self.slug, self.consent, self.age)

    def start(self) -> list[str]:
        return [r.text for r in self.service.prompt(self.sender, self.slug, self.stage())]

    def send(self, text: str, intent: str | None = None, confidence: float = 0.0) -> list[str]:
        nlu = MessageNlu(intent, confidence)
        stage = self.stage()
        if stage == Stage.CONSENT:
            out = self.service.handle_consent(self.sender, self.slug, text, nlu)
            self.consent = out.slot_value
        elif stage == Stage.AGE:
            out = self.service.handle_age(self.sender, self.slug, text, nlu)
            self.age = out.slot_value
        elif stage == Stage.QUESTION:
            out = self.service.handle_answer(self.sender, self.slug, text, nlu)
        else:
            return []
        texts = [r.text for r in out.replies]
        nxt = self.stage()
        texts += [r.text for r in self.service.prompt(self.sender, self.slug, nxt, full=False)]
        return texts

    def begin(self) -> None:
        self.start()
        self.send("yes")
        self.send("yes")


def _service(db: Database) -> InterviewService:
    return InterviewService(db, today=TODAY)


def _app(db: Database, sender: str) -> Application:
    with db.transaction() as s:
        same_person = ChannelIdentity.candidate_id == Application.candidate_id
        return s.scalars(
            select(Application).join(ChannelIdentity, same_person)
            .where(ChannelIdentity.sender_id == sender)
        ).one()  # fmt: skip


def _answers(db: Database, sender: str) -> dict[str, Answer]:
    app = _app(db, sender)
    with db.transaction() as s:
        rows = s.scalars(select(Answer).where(Answer.application_id == app.id)).all()
        return {a.question_id: a for a in rows}


def _count(db: Database, model: type) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_happy_path_stores_every_answer_normalized(db: Database) -> None:
    convo = Conversation(_service(db), "web:happy")
    intro = convo.start()
    assert any("automated interviewer" in t and "AI model" in t for t in intro)
    assert any("Privacy notice (version" in t for t in intro)
    assert "Are you 16" in convo.send("yes")[-1]
    assert "Question 1 of 6" in convo.send("yes")[-1]
    for qid in ["motivation", "right_to_work", "years", "shift", "start_date"]:
        convo.send(VALID[qid])
    final = convo.send(VALID["anything_else"])
    assert any("complete" in t and "recruiter will review" in t for t in final)

    answers = _answers(db, "web:happy")
    assert set(answers) == set(VALID)
    assert answers["motivation"].raw_text == VALID["motivation"]
    assert answers["years"].normalized["value"] == 4
    assert answers["shift"].normalized["value"] == "Morning"
    assert answers["start_date"].normalized["value"] == "2027-03-01"
    assert answers["right_to_work"].normalized["value"] is True
    assert all(a.revision == 1 and a.channel == "web" for a in answers.values())
    app = _app(db, "web:happy")
    assert app.status == Status.COMPLETED and app.finished_at is not None
    with db.transaction() as s:
        consent = s.scalars(select(ConsentRecord)).one()
        assert consent.granted and consent.candidate_id == app.candidate_id
        assert consent.notice_version
        sittings = s.scalars(select(InterviewSession)).all()
        assert [x.status for x in sittings] == ["completed"]
    assert convo.stage() == Stage.DONE


@pytest.mark.parametrize(
    ("qid", "bad"),
    [("right_to_work", "no"), ("years", "0"), ("shift", "night")],
)
def test_knockout_ends_courteously_without_revealing_the_rule(
    db: Database, qid: str, bad: str
) -> None:
    convo = Conversation(_service(db), f"web:ko-{qid}")
    convo.begin()
    order = list(VALID)
    for q in order[: order.index(qid)]:
        convo.send(VALID[q])
    replies = convo.send(bad)
    text = " ".join(replies).lower()
    assert "can't take your application" in text
    assert "right to work" not in text and "years" not in text and "night" not in text
    app = _app(db, f"web:ko-{qid}")
    assert app.status == Status.KNOCKED_OUT and app.knocked_out_by == qid
    assert _answers(db, f"web:ko-{qid}")[qid].knockout is True
    assert convo.stage() == Stage.DONE


def test_invalid_number_is_reasked_and_nothing_stored(db: Database) -> None:
    convo = Conversation(_service(db), "web:num")
    convo.begin()
    convo.send(VALID["motivation"])
    convo.send("yes")
    replies = convo.send("lots of years")
    assert "number" in replies[0].lower() and "between 0 and 50" in replies[0]
    assert "Question 3 of 6" in replies[-1]
    assert "years" not in _answers(db, "web:num")
    replies = convo.send("99")
    assert "between 0 and 50" in replies[0]
    convo.send("7")
    assert _answers(db, "web:num")["years"].normalized["value"] == 7


def test_go_back_changes_the_previous_answer_and_continues(db: Database) -> None:
    convo = Conversation(_service(db), "web:back")
    convo.begin()
    convo.send("First version of my motivation answer.")
    replies = convo.send("go back", "go_back", 0.95)
    assert "First version" in replies[0]
    assert "Question 1 of 6" in replies[-1]
    replies = convo.send("Second, better version of my motivation.")
    assert "Question 2 of 6" in replies[-1]
    answer = _answers(db, "web:back")["motivation"]
    assert answer.raw_text == "Second, better version of my motivation."
    assert answer.revision == 2
    assert _count(db, Answer) == 1


def test_free_text_that_looks_like_a_command_is_an_answer(db: Database) -> None:
    convo = Conversation(_service(db), "web:cmdlike")
    convo.begin()
    text = "I'd rather stop by later and explain"
    replies = convo.send(text, "pause", 0.97)
    assert "Question 2 of 6" in replies[-1]
    assert _answers(db, "web:cmdlike")["motivation"].raw_text == text
    assert _app(db, "web:cmdlike").status == Status.IN_PROGRESS


def test_pause_then_resume_at_the_same_question(db: Database) -> None:
    service = _service(db)
    convo = Conversation(service, "web:pause")
    convo.begin()
    convo.send(VALID["motivation"])
    replies = convo.send("can we continue later?", "pause", 0.9)
    assert "saved" in replies[0] and len(replies) == 1
    assert _app(db, "web:pause").status == Status.PAUSED
    # Days later, a new process (new service instance), any message resumes.
    later = Conversation(InterviewService(db, today=TODAY), "web:pause")
    later.consent, later.age = True, True
    replies = later.send("hello again", "greet", 0.99)
    assert "Welcome back" in replies[0] and "Question 2 of 6" in replies[-1]
    assert _app(db, "web:pause").status == Status.IN_PROGRESS
    assert "right_to_work" not in _answers(db, "web:pause")
    with db.transaction() as s:
        assert [
            x.status for x in s.scalars(select(InterviewSession).order_by(InterviewSession.id))
        ] == [
            "paused",
            "active",
        ]


def test_skip_only_optional_questions(db: Database) -> None:
    convo = Conversation(_service(db), "web:skip")
    convo.begin()
    assert "can't be skipped" in convo.send("/skip_question")[0]
    for q in ["motivation", "right_to_work", "years", "shift", "start_date"]:
        convo.send(VALID[q])
    replies = convo.send("skip", "skip_question", 0.9)
    assert replies[0] == "Skipped." and "complete" in replies[1]
    assert _answers(db, "web:skip")["anything_else"].status == "skipped"


def test_repeat_help_and_human_keep_the_question(db: Database) -> None:
    convo = Conversation(_service(db), "web:misc")
    convo.begin()
    assert "Question 1 of 6" in convo.send("/repeat_question")[-1]
    assert "'pause'" in convo.send("help", "help", 0.9)[0]
    replies = convo.send("I want to talk to a human", "human_handoff", 0.9)
    assert "Test Organization" in replies[0] and "Question 1 of 6" in replies[-1]
    with db.transaction() as s:
        handoff = s.scalars(select(HandoffRequest)).one()
        assert handoff.status == "open" and handoff.question_id == "motivation"
    assert _count(db, Answer) == 0


def test_withdraw_needs_confirmation(db: Database) -> None:
    convo = Conversation(_service(db), "web:wd")
    convo.begin()
    assert "withdraw" in convo.send("withdraw", "withdraw", 0.9)[0].lower()
    assert "continue" in convo.send("no")[0].lower()
    assert _app(db, "web:wd").status == Status.IN_PROGRESS
    convo.send("/withdraw")
    replies = convo.send("yes")
    assert "withdrawn" in replies[0]
    assert _app(db, "web:wd").status == Status.WITHDRAWN


def test_no_consent_means_no_questions_and_nothing_personal_stored(db: Database) -> None:
    convo = Conversation(_service(db), "web:refuse")
    convo.start()
    replies = convo.send("no")
    assert "nothing about you is stored" in replies[0]
    assert convo.stage() == Stage.DONE
    assert _count(db, Candidate) == 0 and _count(db, ChannelIdentity) == 0
    assert _count(db, Application) == 0
    with db.transaction() as s:
        record = s.scalars(select(ConsentRecord)).one()
        assert record.granted is False and record.candidate_id is None
    _assert_forgotten_now(db, "web:refuse", "consent_refused")


def _assert_forgotten_now(db: Database, sender: str, reason: str) -> None:
    """The conversation (Rasa's tracker, Redis) is purged at the worker's next run: an
    erasure due now names the sender only sealed, and the tombstone keeps no personal data."""
    from privacy.tombstones import load_sender_ids
    from storage.models import Erasure

    with db.transaction() as s:
        row = s.scalars(select(Erasure)).one()
        assert row.reason == reason and row.status == "pending"
        assert row.due_at <= row.requested_at  # due at once
        assert sender not in (row.sender_ids or "") and sender not in row.subject_hash
        assert sender in load_sender_ids(s, row.sender_ids)


def test_unclear_consent_is_reasked(db: Database) -> None:
    convo = Conversation(_service(db), "web:unclear")
    convo.start()
    replies = convo.send("maybe later")
    assert "yes or a no" in replies[0]
    assert convo.stage() == Stage.CONSENT and _count(db, Candidate) == 0


@pytest.mark.parametrize("answer", ["no", "I'm 15"])
def test_under_16_stops_politely_and_keeps_nothing(db: Database, answer: str) -> None:
    convo = Conversation(_service(db), "web:young")
    convo.start()
    convo.send("yes")
    replies = convo.send(answer)
    assert "nothing you told us has been kept" in replies[0]
    for model in (Candidate, ChannelIdentity, Application, ConsentRecord, InterviewSession):
        assert _count(db, model) == 0, model.__name__
    assert convo.stage() == Stage.DONE
    _assert_forgotten_now(db, "web:young", "under_age")


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("", "didn't get an answer"),
        ("   ", "didn't get an answer"),
        ("🙂🙂🙂", "words"),
        ("x" * 10_000, "10,000"),
    ],
)
def test_bad_free_text_is_reasked_and_loses_nothing(db: Database, text: str, expect: str) -> None:
    convo = Conversation(_service(db), "web:bad")
    convo.begin()
    replies = convo.send(text)
    assert expect in replies[0], replies
    assert "Question 1 of 6" in replies[-1]
    assert _count(db, Answer) == 0


def test_hostile_text_is_stored_verbatim(db: Database) -> None:
    convo = Conversation(_service(db), "web:hostile")
    convo.begin()
    text = "Robert'); DROP TABLE answers;-- <script>alert(1)</script>"
    convo.send(text)
    assert _answers(db, "web:hostile")["motivation"].raw_text == text


def test_payloads_mid_interview_are_not_answers(db: Database) -> None:
    convo = Conversation(_service(db), "web:payload")
    convo.begin()
    replies = convo.send('/start{"job_id":"other"}', "start", 1.0)
    assert "middle of the interview" in replies[0]
    assert "withdraw" in replies[0]  # the way out that works; 'pause' only keeps the place
    assert _count(db, Answer) == 0


def test_unknown_job_lists_open_jobs(db: Database) -> None:
    choice = _service(db).choose_job("web:x", "does-not-exist")
    assert choice.slug is None
    assert "couldn't find" in choice.replies[0].text
    assert any("test-role" in payload for _, payload in choice.replies[0].buttons)


def test_completed_job_cannot_be_started_twice(db: Database) -> None:
    convo = Conversation(_service(db), "web:twice")
    convo.begin()
    for q in VALID:
        convo.send(VALID[q])
    choice = _service(db).choose_job("web:twice", JOB)
    assert choice.slug is None and "already completed" in choice.replies[0].text


def test_running_interview_keeps_its_job_version(db: Database, tmp_path: Path) -> None:
    convo = Conversation(_service(db), "web:version")
    convo.begin()
    convo.send(VALID["motivation"])
    edited = tmp_path / "jobs"
    edited.mkdir()
    source = (Path(__file__).parent / "fixtures" / "jobs" / "test-role.yaml").read_text()
    (edited / "test-role.yaml").write_text(
        source.replace("Do you have the right to work in Testland?", "Can you work in Testland?")
    )
    results = import_jobs(db, edited)
    assert [(r.version, r.status) for r in results] == [(2, "new_version")]
    # The running interview still asks version 1's wording, and finishes on version 1.
    asked = convo.service.prompt("web:version", JOB, Stage.QUESTION)
    assert "Do you have the right to work in Testland?" in asked[0].text
    for q in list(VALID)[1:]:
        convo.send(VALID[q])
    app = _app(db, "web:version")
    assert app.status == Status.COMPLETED
    assert app.job.version == 1
    # A new candidate gets version 2.
    fresh = Conversation(_service(db), "web:version2")
    fresh.begin()
    assert _app(db, "web:version2").job.version == 2


def test_two_messages_at_once_never_duplicate_an_answer(db: Database) -> None:
    service = _service(db)
    convo = Conversation(service, "web:race")
    convo.begin()
    errors: list[BaseException] = []

    def answer(text: str) -> None:
        try:
            service.handle_answer("web:race", JOB, text, MessageNlu())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=answer, args=(f"Motivation answer number {i}.",)) for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    answers = _answers(db, "web:race")
    # Serialised: the first message answered question 1; the second was validated against
    # question 2 (a yes/no) and re-asked — so exactly one answer row, revision 1.
    assert list(answers) == ["motivation"] and answers["motivation"].revision == 1


def test_turn_validates_and_asks_in_one_call(db: Database) -> None:
    """What the action server does per message: handle the requested slot, then ask next."""
    service = _service(db)
    nlu = MessageNlu()
    args = {"consent": None, "age_ok": None, "nlu": nlu}
    first = service.turn("web:turn", JOB, intro_shown=False, slot=None, value=None, **args)
    assert first.next_slot == "consent" and first.slots == {"intro_shown": True}
    assert any("automated interviewer" in r.text for r in first.replies)
    again = service.turn("web:turn", JOB, intro_shown=True, slot="consent", value="hmm", **args)
    assert again.next_slot == "consent" and "yes or a no" in again.replies[0].text
    assert not any("automated interviewer" in r.text for r in again.replies)
    agreed = service.turn("web:turn", JOB, intro_shown=True, slot="consent", value="yes", **args)
    assert agreed.slots["consent"] is True and agreed.next_slot == "age_confirmed"
    args["consent"] = True
    adult = service.turn(
        "web:turn", JOB, intro_shown=True, slot="age_confirmed", value="yes", **args
    )
    assert adult.next_slot == "answer" and "Question 1 of 6" in adult.replies[-1].text
    args["age_ok"] = True
    answered = service.turn(
        "web:turn", JOB, intro_shown=True, slot="answer", value=VALID["motivation"], **args
    )
    assert answered.slots == {"answer": None} and "Question 2 of 6" in answered.replies[-1].text
    knocked = service.turn("web:turn", JOB, intro_shown=True, slot="answer", value="no", **args)
    assert knocked.next_slot is None and "can't take your application" in knocked.replies[0].text
    # A stale value after the end changes nothing.
    stale = service.turn("web:turn", JOB, intro_shown=True, slot="answer", value="x", **args)
    assert stale.next_slot is None and stale.replies == []
