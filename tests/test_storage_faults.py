"""Storage faults: a database that refuses writes or goes away mid-turn.

What must hold: the candidate gets a clear message instead of silence (Rasa says nothing
when an action fails), no slot changes, nothing half-written, and once the database is back
the same message (same id) is stored exactly once.

The faults are the database's own: on PostgreSQL the throw-away database is switched to
read-only (`default_transaction_read_only`, what a fail-over to a replica looks like) or
closed to connections, and its server drops every connection; on SQLite the connections
are opened with `query_only` (what a read-only file does: every transaction, which begins
IMMEDIATE here, is refused). Dropped connections are a server's matter: PostgreSQL only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import event

from screening.catalog import import_jobs
from screening.interview import (
    DUPLICATE_TEXT,
    STORAGE_FAULT_AFTER_SAVE_TEXT,
    STORAGE_FAULT_TEXT,
    InterviewService,
    Status,
    StorageFault,
)
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Answer, Candidate, InterviewSession, MessageReceipt
from tests.support import FIXTURE_JOBS, PG_ADMIN_URL, create_pg_database, drop_pg_database, pg_url
from tests.test_message_receipts import (
    JOB,
    MOTIVATION,
    TODAY,
    Form,
    answers_of,
    application_of,
    count,
    service_for,
)


# --------------------------------------------------------------------------- faults
def _admin(sql: str, *params: Any) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql, params)  # type: ignore[arg-type]


def _drop_connections(db: Database) -> None:
    """The server ends every session of the database (a restart, a fail-over)."""
    _admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        db.engine.url.database,
    )


_QUERY_ONLY: dict[int, bool] = {}


def _sqlite_query_only(db: Database, on: bool) -> None:
    """New SQLite connections of `db` refuse writes while `on` (the pool is emptied)."""
    if id(db) not in _QUERY_ONLY:

        @event.listens_for(db.engine, "connect")
        def _query_only(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            if _QUERY_ONLY.get(id(db)):
                dbapi_conn.execute("PRAGMA query_only = ON")

    _QUERY_ONLY[id(db)] = on
    db.engine.dispose()


@contextmanager
def refusing_writes(db: Database) -> Iterator[None]:
    """The database is read-only while inside; writable again afterwards."""
    sqlite = db.engine.dialect.name == "sqlite"
    name = db.engine.url.database
    if sqlite:
        _sqlite_query_only(db, True)
    else:
        _admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        _drop_connections(db)
    try:
        yield
    finally:
        if sqlite:
            _sqlite_query_only(db, False)
        else:
            _admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
            _drop_connections(db)


def _go_away(db: Database) -> None:
    """The database can no longer be reached at all (not even read)."""
    if db.engine.dialect.name == "sqlite":
        _sqlite_query_only(db, True)
        return
    _admin(f'ALTER DATABASE "{db.engine.url.database}" ALLOW_CONNECTIONS false')
    _drop_connections(db)


def _come_back(db: Database) -> None:
    if db.engine.dialect.name == "sqlite":
        _sqlite_query_only(db, False)
        return
    _admin(f'ALTER DATABASE "{db.engine.url.database}" ALLOW_CONNECTIONS true')


# --------------------------------------------------------------------------- the service
def test_a_refused_answer_is_not_half_written_and_its_retry_is_stored_once(
    db: Database,
) -> None:
    form = Form(service_for(db), "web:readonly")
    form.begin()
    with refusing_writes(db), pytest.raises(StorageFault) as fault:
        form.turn(MOTIVATION, "tg:9:1")
    assert fault.value.saved is False and fault.value.text == STORAGE_FAULT_TEXT
    assert answers_of(db, "web:readonly") == {}
    assert count(db, MessageReceipt, MessageReceipt.message_id == "tg:9:1") == 0
    assert application_of(db, "web:readonly").current_index == 0
    # The database is back; the person (or the gateway) sends the same message again.
    result = form.turn(MOTIVATION, "tg:9:1")
    assert result.replies[0].text != DUPLICATE_TEXT
    assert "Question 2 of 6" in result.replies[-1].text
    form.remember(result)
    assert form.send(MOTIVATION, "tg:9:1")[0] == DUPLICATE_TEXT
    answers = answers_of(db, "web:readonly")
    assert list(answers) == ["motivation"] and answers["motivation"].revision == 1
    assert count(db, MessageReceipt, MessageReceipt.message_id == "tg:9:1") == 1


def test_a_refused_consent_stores_nothing_about_the_person(db: Database) -> None:
    form = Form(service_for(db), "web:readonly-consent")
    form.send(None)
    with refusing_writes(db), pytest.raises(StorageFault) as fault:
        form.turn("yes", "c-1")
    assert fault.value.saved is False
    assert count(db, Candidate) == 0
    result = form.turn("yes", "c-1")
    assert result.slots["consent"] is True and count(db, Candidate) == 1


def test_a_fault_after_the_answer_was_saved_asks_for_repeat(db: Database) -> None:
    """The answer is committed, then the database goes away before the next question is
    read: "send it again" would answer the next question, so the person is asked to say
    'repeat' instead — and that works once the database is back."""
    gone: list[bool] = []

    def after_answer(_application_id: str, _question_id: str) -> None:
        if not gone:
            gone.append(True)
            _go_away(db)

    service = InterviewService(db, today=TODAY, on_answer=after_answer)
    form = Form(service, "web:after-save")
    form.begin()
    try:
        with pytest.raises(StorageFault) as fault:
            form.turn(MOTIVATION, "s-1")
    finally:
        _come_back(db)
    assert fault.value.saved is True and fault.value.text == STORAGE_FAULT_AFTER_SAVE_TEXT
    assert list(answers_of(db, "web:after-save")) == ["motivation"]
    again = form.send("repeat", "s-2", "repeat_question")
    assert again[0] == "Sure, here it is again:" and "Question 2 of 6" in again[-1]


def test_dropped_connections_are_replaced_on_the_next_turn(pg_db: Database) -> None:
    form = Form(service_for(pg_db), "web:dropped")
    form.begin()
    _drop_connections(pg_db)  # every pooled connection is now dead
    out = form.send(MOTIVATION, "d-1")
    assert "Question 2 of 6" in out[-1]
    assert list(answers_of(pg_db, "web:dropped")) == ["motivation"]


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """A PostgreSQL database only: dropped connections need a server."""
    name = create_pg_database("parley_faults")
    try:
        upgrade(pg_url(name))
        database = Database(pg_url(name))
        import_jobs(database, FIXTURE_JOBS)
        try:
            yield database
        finally:
            database.dispose()
    finally:
        drop_pg_database(name)


# --------------------------------------------------------------------------- the actions
def _form_tracker(form: Form, sender: str, value: str, message_id: str) -> Tracker:
    slots = {**form.slots, "job_id": JOB, "requested_slot": form.requested,
             "interview_mode": None, "answer": value}  # fmt: skip
    events = [
        {"event": "user", "text": value, "metadata": {"message_id": message_id}},
        {"event": "slot", "name": "answer", "value": value},
    ]
    latest = {"text": value, "intent": {"name": "inform", "confidence": 0.9}}
    return Tracker(sender, slots, latest, events, False, None,
                   {"name": "interview_form"}, "action_listen")  # fmt: skip


def test_the_form_replies_clearly_and_changes_no_slot(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actions import interview_form

    service = service_for(db)
    monkeypatch.setattr(interview_form, "service", lambda: service)
    form = Form(service, "web:action-fault")
    form.begin()
    action = interview_form.ValidateInterviewForm()
    domain = {"forms": {"interview_form": {"required_slots": ["consent", "age_confirmed"]}}}
    dispatcher = CollectingDispatcher()
    tracker = _form_tracker(form, "web:action-fault", MOTIVATION, "web-1")
    with refusing_writes(db):
        events = asyncio.run(action.run(dispatcher, tracker, domain))
    # The slot Rasa filled with the message is emptied again and stays requested.
    assert events == [SlotSet("answer", None), SlotSet("requested_slot", "answer")]
    assert [m.get("text") for m in dispatcher.messages] == [STORAGE_FAULT_TEXT]
    assert answers_of(db, "web:action-fault") == {}
    # Back: the same message goes through once.
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    assert SlotSet("requested_slot", "answer") in events
    assert "Question 2 of 6" in dispatcher.messages[-1]["text"]
    assert list(answers_of(db, "web:action-fault")) == ["motivation"]


def test_starting_an_interview_replies_clearly_when_storage_refuses(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Any other action (here: resuming a paused interview, which writes a new sitting)."""
    from actions import routing
    from privacy.chat import PrivacyChat
    from storage.files import FileStore
    from tests.erasure_support import make_settings

    service = service_for(db)
    chat = PrivacyChat(db, make_settings(tmp_path, db), FileStore(tmp_path / "files", db))
    monkeypatch.setattr(routing, "service", lambda: service)
    monkeypatch.setattr(routing, "privacy_chat", lambda: chat)
    form = Form(service, "web:resume-fault")
    form.begin()
    form.send("pause", "p-1", "pause")
    sittings = count(db, InterviewSession)
    tracker = Tracker(
        "web:resume-fault", {}, {"text": "/start", "intent": {"name": "start"},
                                 "entities": [{"entity": "job_id", "value": JOB}]},
        [{"event": "user", "text": "/start"}], False, None, {}, "action_listen",
    )  # fmt: skip
    dispatcher = CollectingDispatcher()
    with refusing_writes(db):
        events = asyncio.run(routing.ActionStartInterview().run(dispatcher, tracker, {}))
    assert events == []
    assert [m["text"] for m in dispatcher.messages] == [STORAGE_FAULT_TEXT]
    assert application_of(db, "web:resume-fault").status == Status.PAUSED
    assert count(db, InterviewSession) == sittings
    dispatcher = CollectingDispatcher()
    events = asyncio.run(routing.ActionStartInterview().run(dispatcher, tracker, {}))
    assert SlotSet("job_id", JOB) in events
    assert "Welcome back" in dispatcher.messages[-1]["text"]
    assert count(db, InterviewSession) == sittings + 1


def test_answers_are_not_in_the_fault_log(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    """The warning names the error's class, never the statement or its parameters."""
    form = Form(service_for(db), "web:log")
    form.begin()
    with refusing_writes(db), pytest.raises(StorageFault):
        form.turn(MOTIVATION, "l-1")
    warnings = [r.getMessage() for r in caplog.records if "storage fault" in r.getMessage()]
    assert warnings and all(MOTIVATION not in w and "web:log" not in w for w in warnings)
    assert count(db, Answer) == 0
