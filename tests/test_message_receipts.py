"""Idempotency by message id: a retried, redelivered or racing message is applied once.

Gateways give every message an id that stays the same on every retry (bot/rasa_client.py);
the interview service writes a receipt in the transaction that applies the message
(storage.models.MessageReceipt). `Form` plays Rasa's form the way actions/interview_form.py
drives the service, including what happens when Rasa loses a turn after the action server
committed it (its tracker never records the new slots), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from screening.commands import MessageNlu
from screening.interview import DUPLICATE_TEXT, InterviewService, Status, TurnResult
from storage.db import Database, make_engine
from storage.migrate import downgrade, upgrade
from storage.models import (
    Answer,
    Application,
    Candidate,
    ChannelIdentity,
    ConsentRecord,
    MessageReceipt,
)

TODAY = date(2026, 11, 22)
JOB = "test-role"
MOTIVATION = "I enjoy logistics work and want to grow with a good team."


@dataclass
class Form:
    """Rasa's memory of one conversation (the form's slots) and the service it calls."""

    service: InterviewService
    sender: str
    slots: dict[str, Any] = field(
        default_factory=lambda: {"consent": None, "age_confirmed": None, "intro_shown": None}
    )
    requested: str | None = None

    def turn(
        self, value: str | None, message_id: str | None = None, intent: str | None = None
    ) -> TurnResult:
        """What the action server computes for one message (nothing is remembered); `intent`
        is what Rasa's NLU recognised, with high confidence."""
        return self.service.turn(
            self.sender,
            JOB,
            consent=self.slots["consent"],
            age_ok=self.slots["age_confirmed"],
            intro_shown=bool(self.slots["intro_shown"]),
            slot=self.requested if value is not None else None,
            value=value,
            nlu=MessageNlu(intent, 0.95 if intent else 0.0),
            message_id=message_id,
        )

    def send(
        self, value: str | None, message_id: str | None = None, intent: str | None = None
    ) -> list[str]:
        """A message whose turn Rasa records (slots and the next requested slot)."""
        result = self.turn(value, message_id, intent)
        self.remember(result)
        return [r.text for r in result.replies]

    def remember(self, result: TurnResult) -> None:
        self.slots.update(result.slots)
        self.requested = result.next_slot

    def begin(self, prefix: str = "m") -> None:
        """Open the form, consent and confirm the age (each message with its own id)."""
        self.send(None)
        self.send("yes", f"{prefix}-consent")
        self.send("yes", f"{prefix}-age")


def service_for(db: Database) -> InterviewService:
    return InterviewService(db, today=TODAY)


def count(db: Database, model: type, *where: Any) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def application_of(db: Database, sender: str) -> Application:
    with db.transaction() as s:
        same_person = ChannelIdentity.candidate_id == Application.candidate_id
        return s.scalars(
            select(Application).join(ChannelIdentity, same_person)
            .where(ChannelIdentity.sender_id == sender)
        ).one()  # fmt: skip


def answers_of(db: Database, sender: str) -> dict[str, Answer]:
    app = application_of(db, sender)
    with db.transaction() as s:
        rows = s.scalars(select(Answer).where(Answer.application_id == app.id)).all()
        return {a.question_id: a for a in rows}


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls on threads released at the same moment; their results in order (an
    exception is returned as the result, so the test can say which one failed)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except BaseException as exc:  # reported by the assertions of the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# --------------------------------------------------------------------------- answers
def test_a_retried_answer_is_stored_once_and_the_next_question_asked(db: Database) -> None:
    form = Form(service_for(db), "web:retry")
    form.begin()
    first = form.turn(MOTIVATION, "tg:1:100")
    assert "Question 2 of 6" in first.replies[-1].text
    # Rasa lost that turn (a replica died): its memory did not change, the gateway retries.
    again = form.turn(MOTIVATION, "tg:1:100")
    assert again.replies[0].text == DUPLICATE_TEXT
    assert "Question 2 of 6" in again.replies[-1].text and again.next_slot == "answer"
    answers = answers_of(db, "web:retry")
    assert list(answers) == ["motivation"] and answers["motivation"].revision == 1
    # Rasa recorded the turn this time, and the channel redelivers the message: the retry
    # now fills the slot of question 2 (a yes/no) — and still changes nothing.
    form.remember(first)
    late = form.send(MOTIVATION, "tg:1:100")
    assert late[0] == DUPLICATE_TEXT and "Question 2 of 6" in late[-1]
    assert list(answers_of(db, "web:retry")) == ["motivation"]
    app = application_of(db, "web:retry")
    assert app.current_index == 1
    assert count(db, MessageReceipt, MessageReceipt.application_id == app.id) == 3


def test_two_replicas_with_the_same_message_at_once_store_one_answer(db: Database) -> None:
    service = service_for(db)
    form = Form(service, "web:race-same")
    form.begin()
    results = together(
        lambda: form.turn(MOTIVATION, "race-1"), lambda: form.turn(MOTIVATION, "race-1")
    )
    assert all(isinstance(r, TurnResult) for r in results), results
    texts = [[r.text for r in result.replies] for result in results]
    # Both say where the interview stands; exactly one of them says it had the message.
    assert all("Question 2 of 6" in t[-1] for t in texts)
    assert sorted(t[0] == DUPLICATE_TEXT for t in texts) == [False, True]
    answers = answers_of(db, "web:race-same")
    assert list(answers) == ["motivation"] and answers["motivation"].revision == 1
    app = application_of(db, "web:race-same")
    assert app.current_index == 1
    assert count(db, MessageReceipt, MessageReceipt.message_id == "race-1") == 1


def test_the_same_text_with_different_ids_is_two_messages(db: Database) -> None:
    form = Form(service_for(db), "web:twice")
    form.begin()
    form.send(MOTIVATION, "a-1")
    assert "go back" in form.send("go back", "a-2", "go_back")[0]
    out = form.send(MOTIVATION, "a-3")  # the same words again, a new message
    assert out[0] != DUPLICATE_TEXT and "Question 2 of 6" in out[-1]
    answers = answers_of(db, "web:twice")
    assert answers["motivation"].revision == 2


def test_without_a_message_id_every_message_is_applied(db: Database) -> None:
    """Old gateways send no id: a repeated message is a new message, as before."""
    form = Form(service_for(db), "web:no-id")
    form.send(None)
    form.send("yes")
    form.send("yes")
    form.send(MOTIVATION)
    out = form.send(MOTIVATION)  # now an answer to question 2 (yes/no): re-asked
    assert DUPLICATE_TEXT not in out and "Question 2 of 6" in out[-1]
    assert list(answers_of(db, "web:no-id")) == ["motivation"]
    assert count(db, MessageReceipt) == 0


@pytest.mark.parametrize("bad", ["", " spaced id", "x" * 129, "naïve", "-leading", "a\nb"])
def test_a_malformed_id_is_no_id(db: Database, bad: str) -> None:
    form = Form(service_for(db), "web:bad-id")
    form.send(None)
    form.send("yes", bad)
    form.send("yes", bad)
    assert application_of(db, "web:bad-id").status == Status.IN_PROGRESS
    assert count(db, MessageReceipt) == 0


def test_a_retried_pause_does_not_resume_the_interview(db: Database) -> None:
    """Without receipts the retry of "pause" would be read as the message that resumes."""
    form = Form(service_for(db), "web:pause")
    form.begin()
    result = form.turn("pause", "p-1", "pause")
    assert "answers are saved" in result.replies[0].text
    again = form.turn("pause", "p-1", "pause")
    assert [r.text for r in again.replies] == [DUPLICATE_TEXT]  # never an empty reply
    assert application_of(db, "web:pause").status == Status.PAUSED
    resumed = form.send("hello", "p-2")
    assert "Welcome back" in resumed[0]
    assert application_of(db, "web:pause").status == Status.IN_PROGRESS


def test_a_retried_last_answer_after_the_end_says_it_was_received(db: Database) -> None:
    form = Form(service_for(db), "web:end")
    form.begin()
    form.send(MOTIVATION, "e-1")
    ended = form.turn("no", "e-2")  # no right to work: the interview ends here
    assert ended.next_slot is None and "can't take your application" in ended.replies[0].text
    retry = form.turn("no", "e-2")  # Rasa lost the turn: its form still asks question 2
    assert [r.text for r in retry.replies] == [DUPLICATE_TEXT] and retry.next_slot is None
    assert application_of(db, "web:end").status == Status.KNOCKED_OUT


# --------------------------------------------------------------------------- consent, age
def test_a_retried_consent_is_not_taken_as_the_age(db: Database) -> None:
    form = Form(service_for(db), "web:consent")
    form.send(None)
    granted = form.turn("yes", "c-1")
    assert granted.slots["consent"] is True and granted.next_slot == "age_confirmed"
    # Lost by Rasa: the form still asks for consent; the retry is recognised.
    lost = form.turn("yes", "c-1")
    assert lost.replies[0].text == DUPLICATE_TEXT and lost.next_slot == "age_confirmed"
    assert "16 years old" in lost.replies[-1].text
    # Recorded by Rasa, then redelivered: the "yes" now fills the age slot — and must not
    # confirm the age (the person never answered that question).
    form.remember(granted)
    redelivered = form.send("yes", "c-1")
    assert redelivered[0] == DUPLICATE_TEXT and "16 years old" in redelivered[-1]
    app = application_of(db, "web:consent")
    assert app.status == Status.AGE_CHECK and app.age_confirmed_at is None
    assert count(db, ConsentRecord, ConsentRecord.granted.is_(True)) == 1
    assert count(db, Application) == 1
    form.send("yes", "c-2")
    assert application_of(db, "web:consent").status == Status.IN_PROGRESS


def test_a_consent_racing_itself_creates_one_person(db: Database) -> None:
    """Two replicas take the first message of a new person at once: one candidate, one
    application, one consent; the other one says it had the message."""
    service = service_for(db)
    form = Form(service, "telegram:77001")
    form.send(None)
    first_message = "tg:77001:5"
    results = together(
        lambda: form.turn("yes", first_message), lambda: form.turn("yes", first_message)
    )
    assert all(isinstance(r, TurnResult) for r in results), results
    firsts = sorted(r.replies[0].text for r in results)
    assert firsts == sorted(["Thank you!", DUPLICATE_TEXT])
    assert all(r.next_slot == "age_confirmed" for r in results)
    assert count(db, Candidate) == 1 and count(db, Application) == 1
    assert count(db, ConsentRecord) == 1 and count(db, MessageReceipt) == 1


def test_a_practice_consent_racing_itself_starts_one_run(db: Database) -> None:
    """Practice runs repeat (no unique application): the person's row lock decides."""
    service = service_for(db)
    form = Form(service, "web:practice-race")
    form.send(None)
    form.send("yes", "first-run")
    with db.transaction() as s:  # an existing person, like any returning candidate
        app = s.scalars(select(Application)).one()
        app.status = Status.WITHDRAWN

    def practice_consent() -> TurnResult:
        return service.turn(
            "web:practice-race", JOB, consent=None, age_ok=None, intro_shown=True,
            slot="consent", value="yes", nlu=MessageNlu(), mode="practice",
            message_id="practice-1",
        )  # fmt: skip

    results = together(practice_consent, practice_consent)
    assert all(isinstance(r, TurnResult) for r in results), results
    assert sorted(r.replies[0].text for r in results) == sorted(["Thank you!", DUPLICATE_TEXT])
    assert count(db, Application, Application.mode == "practice") == 1


def test_a_retried_under_age_answer_is_harmless(db: Database) -> None:
    form = Form(service_for(db), "web:young")
    form.send(None)
    form.send("yes", "y-1")
    ended = form.turn("no", "y-2")
    assert ended.next_slot is None and "nothing you told us" in ended.replies[0].text
    form.remember(ended)
    assert count(db, Candidate) == 0 and count(db, MessageReceipt) == 0
    assert form.turn("no", "y-2").next_slot is None


def test_the_receipt_is_unique_per_application(db: Database) -> None:
    form = Form(service_for(db), "web:unique")
    form.begin()
    app = application_of(db, "web:unique")
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(MessageReceipt(application_id=app.id, message_id="m-age"))
        s.flush()


# --------------------------------------------------------------------------- the action
def _tracker(sender: str, form: Form, value: str, message_id: str) -> Tracker:
    """The tracker Rasa sends with a form validation: the slots, the user event with its
    metadata, and the extracted slot candidate after it."""
    slots = {**form.slots, "job_id": JOB, "requested_slot": form.requested,
             "interview_mode": None, form.requested or "answer": value}  # fmt: skip
    events = [
        {"event": "user", "text": value, "metadata": {"message_id": message_id}},
        {"event": "slot", "name": form.requested, "value": value},
    ]
    latest = {"text": value, "intent": {"name": "inform", "confidence": 0.9}}
    return Tracker(sender, slots, latest, events, False, None,
                   {"name": "interview_form"}, "action_listen")  # fmt: skip


def test_the_form_action_passes_the_message_id(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actions import interview_form

    service = service_for(db)
    monkeypatch.setattr(interview_form, "service", lambda: service)
    form = Form(service, "web:action")
    form.begin()
    action = interview_form.ValidateInterviewForm()
    domain = {"forms": {"interview_form": {"required_slots": ["consent", "age_confirmed"]}}}
    replies: list[list[str]] = []
    for _ in range(2):  # the same message twice (a retry after a lost reply)
        dispatcher = CollectingDispatcher()
        tracker = _tracker("web:action", form, MOTIVATION, "web-7f3a")
        events = _run(action.run(dispatcher, tracker, domain))
        assert SlotSet("requested_slot", "answer") in events
        replies.append([m["text"] for m in dispatcher.messages if m.get("text")])
    assert "Question 2 of 6" in replies[0][-1]
    assert replies[1][0] == DUPLICATE_TEXT and "Question 2 of 6" in replies[1][-1]
    assert list(answers_of(db, "web:action")) == ["motivation"]


def _run(coroutine: Any) -> Any:
    import asyncio

    return asyncio.run(coroutine)


# --------------------------------------------------------------------------- migration
@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    from tests.support import create_pg_database, drop_pg_database, pg_url

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'receipts.db'}"
        return
    name = create_pg_database("parley_receipts")
    try:
        yield pg_url(name)
    finally:
        drop_pg_database(name)


def test_migration_0008_adds_and_removes_the_receipts_table(empty_url: str) -> None:
    upgrade(empty_url, "0007")
    engine = make_engine(empty_url)
    try:
        assert "message_receipts" not in inspect(engine).get_table_names()
        upgrade(empty_url)
        inspector = inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("message_receipts")}
        assert columns == {"id", "application_id", "message_id", "created_at"}
        uniques = [u["column_names"] for u in inspector.get_unique_constraints("message_receipts")]
        assert ["application_id", "message_id"] in uniques
        downgrade(empty_url, "0007")
        assert "message_receipts" not in inspect(engine).get_table_names()
        upgrade(empty_url, "0008")
        with engine.begin() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0008"
    finally:
        engine.dispose()
