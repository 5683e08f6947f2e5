"""Helpers for the erasure, purge, hold, retention and privacy CLI tests.

`seed_person` puts one person's name, email and answer text into every place Parley keeps
data: the app database (through the ORM, so sealed columns are sealed), the encrypted file
store, Rasa's tracker store (a real SQLite database with Rasa's `events` schema), Redis and
the log files. `find_traces` then looks for them everywhere: raw SQL over every text/JSON
column of every table in `Base.metadata` (what a database dump shows), the ORM (what the
application can still decrypt), the tracker store, Redis, the file store and the logs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, String, Text, select, text

from parley.settings import Settings
from storage.db import Database
from storage.files import FileStore
from storage.models import (
    AccessLogEntry,
    Answer,
    AnswerScore,
    Application,
    ApplicationReview,
    ApplicationScore,
    Base,
    Candidate,
    ChannelIdentity,
    ConsentRecord,
    Contact,
    Correction,
    EmployerAudit,
    EmployerDecision,
    EmployerNotification,
    ExportArchive,
    HandoffRequest,
    HumanReview,
    InterviewSession,
    Job,
    MessageReceipt,
    OutboundMessage,
    PrivacyRequest,
)
from tests.support import ROOT

RASA_EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER NOT NULL PRIMARY KEY,
    sender_id VARCHAR(255) NOT NULL,
    type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT,
    intent_name VARCHAR(255),
    action_name VARCHAR(255),
    data TEXT
)
"""


def make_settings(tmp_path: Path, db: Database, **overrides: Any) -> Settings:
    var = tmp_path / "var"
    (var / "log").mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {
        "root": ROOT,
        "var_dir": var,
        "database_url": db.url,
        "tracker_url": f"sqlite:///{var / 'rasa-tracker.db'}",
        "lock_prefix": "ptest" + secrets.token_hex(4),
        "profile": "embedded",
        "master_key": os.environ.get("PARLEY_MASTER_KEY", ""),
    }
    values.update(overrides)
    return dataclasses.replace(Settings(), **values)


@dataclass
class Person:
    candidate_id: str
    senders: list[str]
    name: str
    email: str
    answer: str
    application_id: str
    answer_id: int
    files: list[str] = field(default_factory=list)

    @property
    def secrets(self) -> list[str]:
        """What must be gone after the purge (personal data and identifiers)."""
        return [self.name, self.email, self.answer, *self.senders, self.candidate_id]


def new_person(tag: str = "") -> tuple[list[str], str, str, str]:
    token = secrets.token_hex(4)
    senders = [f"web:{tag}w{token}", f"telegram:{int(token, 16)}"]
    name = f"Zelda Quimby-{token}"
    email = f"zelda.{token}@example.org"
    answer = f"I have operated forklifts in Qwertytown for years ({token})"
    return senders, name, email, answer


def seed_person(
    db: Database,
    files: FileStore,
    *,
    status: str = "completed",
    finished_days_ago: float = 1,
    recording_days_ago: float = 1,
    tag: str = "",
) -> Person:
    """A candidate with data in every table that references candidates, and files."""
    senders, name, email, answer = new_person(tag)
    now = datetime.now(UTC)
    with db.transaction() as s:
        job = s.scalar(select(Job).where(Job.slug == "test-role", Job.is_current))
        assert job is not None
        candidate = Candidate(name=name)
        for sender in senders:
            candidate.identities.append(
                ChannelIdentity(sender_id=sender, channel=sender.split(":")[0])
            )
        s.add(candidate)
        s.flush()
        cid = candidate.id
        app = Application(
            candidate_id=cid,
            job_id=job.id,
            status=status,
            current_index=2,
            finished_at=now - timedelta(days=finished_days_ago)
            if status in ("completed", "knocked_out", "withdrawn")
            else None,
        )
        s.add(app)
        s.flush()
        free = Answer(
            application_id=app.id, question_id="motivation", question_kind="free_text",
            status="answered", raw_text=answer, normalized={"value": answer, "display": answer},
            channel="web", answered_at=now - timedelta(days=recording_days_ago),
        )  # fmt: skip
        yes = Answer(
            application_id=app.id, question_id="right_to_work", question_kind="yes_no",
            status="answered", raw_text="yes", normalized={"value": True, "display": "Yes"},
            channel="web",
        )  # fmt: skip
        s.add_all([free, yes])
        s.flush()
        s.add(
            AnswerScore(
                answer_id=free.id, application_id=app.id, question_id="motivation",
                answer_revision=1, status="scored", score=0.8,
                explanation={"summary": f"Mentions: {answer}"}, model_name="m",
                model_version="1", scorer_version="1",
            )
        )  # fmt: skip
        s.add(
            ApplicationScore(
                application_id=app.id, overall=0.8, complete=True,
                breakdown={"questions": [{"question_id": "motivation", "score": 0.8,
                                          "summary": f"Mentions: {answer}"}]},
                model_name="m", model_version="1", scorer_version="1",
            )
        )  # fmt: skip
        s.add(InterviewSession(application_id=app.id, channel="web", status="completed"))
        s.add(ConsentRecord(candidate_id=cid, job_id=job.id, notice_version="v1", granted=True,
                            channel="web"))  # fmt: skip
        s.add(HandoffRequest(candidate_id=cid, application_id=app.id, channel="web"))
        s.add(Contact(candidate_id=cid, kind="email", value=email, verified_at=now))
        s.add(
            PrivacyRequest(
                candidate_id=cid, kind="access", status="completed", law="gdpr", channel="web",
                due_at=now + timedelta(days=30), detail={"note": f"asked by {name}"},
            )
        )  # fmt: skip
        s.add(AccessLogEntry(candidate_id=cid, actor="employer:1", actor_kind="employer",
                             action="view", resource=f"application {app.id}",
                             purpose="screen"))  # fmt: skip
        s.add(HumanReview(candidate_id=cid, application_id=app.id, reason="decision_review",
                          statement=f"I, {name}, disagree"))  # fmt: skip
        s.add(Correction(candidate_id=cid, application_id=app.id, target="profile.name",
                         old_value=name, new_value=name + " Jr", status="applied"))  # fmt: skip
        s.add(OutboundMessage(candidate_id=cid, sender_id=senders[0], kind="notice",
                              text=f"Hello {name}"))  # fmt: skip
        # The employer side: a decision whose (sealed) note names the person, the pipeline
        # standing, a channel notification (no name, by design) and a security-log entry.
        s.add(EmployerDecision(application_id=app.id, candidate_id=cid,
                               organization_id=job.organization_id, kind="rejected",
                               actor="slack:T1:U1",
                               reason=f"{name} lacks {answer[:20]}"))  # fmt: skip
        s.add(ApplicationReview(application_id=app.id, stage="rejected",
                                override_score=0.5, override_by="slack:T1:U1"))  # fmt: skip
        s.add(EmployerNotification(organization_id=job.organization_id, application_id=app.id,
                                   kind="completed", event_key=f"completed:{app.id}",
                                   text=f"Completed: application `{app.id[:8]}`"))  # fmt: skip
        s.add(EmployerAudit(actor="slack:T1:U1", organization_id=job.organization_id,
                            action="reject", job_slug=job.slug, application_id=app.id,
                            outcome="allowed"))  # fmt: skip
        # The idempotency key of a message the person sent (a Telegram chat and message id).
        s.add(MessageReceipt(application_id=app.id, message_id=f"tg:{senders[1][9:]}:42"))
        app_id, answer_id = app.id, free.id
    refs = [
        files.write(cid, f"recordings/{answer_id}.wav", f"RIFF {name} {answer}".encode()),
        files.write(cid, f"transcripts/{answer_id}.txt", answer.encode()),
    ]
    export_ref = files.write(cid, "exports/e1.zip", f"PK {name} {email}".encode())
    with db.transaction() as s:
        s.get(Answer, answer_id).audio_ref = refs[0]  # type: ignore[union-attr]
        s.get(Answer, answer_id).transcript_ref = refs[1]  # type: ignore[union-attr]
        s.add(
            ExportArchive(
                candidate_id=cid, token_hash=secrets.token_hex(32), path=export_ref,
                expires_at=now + timedelta(minutes=30),
            )
        )  # fmt: skip
    refs.append(export_ref)
    return Person(cid, senders, name, email, answer, app_id, answer_id, refs)


def seed_tracker(settings: Settings, person: Person, *, extra_senders: list[str] = ()) -> None:  # type: ignore[assignment]
    """Rasa tracker events (Rasa's own schema) naming the person, for every sender id."""
    path = Path(settings.tracker_url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute(RASA_EVENTS_DDL)
        for sender in [*person.senders, *extra_senders]:
            for type_name, body in (
                ("user", {"event": "user", "text": f"my name is {person.name}"}),
                ("user", {"event": "user", "text": person.answer}),
                ("slot", {"event": "slot", "name": "email", "value": person.email}),
            ):
                conn.execute(
                    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (sender, type_name, 1.0, "inform", json.dumps(body)),
                )


def seed_logs(settings: Settings, person: Person) -> None:
    log = settings.log_dir / "rasa.log"
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("2026-11-23 INFO rasa started\n")
        fh.write(f"2026-11-23 DEBUG Received user message from {person.senders[0]}\n")
        fh.write(f"2026-11-23 DEBUG user said 'My name is {person.name}'\n")
        fh.write(f"2026-11-23 DEBUG slot email = {json.dumps(person.email)}\n")
        fh.write(f"2026-11-23 DEBUG text: {person.answer}\n")
        fh.write(f"2026-11-23 DEBUG conversation {person.senders[1]} locked\n")
        fh.write(f"2026-11-23 INFO candidate {person.candidate_id} updated\n")
        fh.write("2026-11-23 INFO other people's line stays\n")
    (settings.log_dir / "actions.log").write_text(
        f"action_submit for {person.senders[1]}\nok\n", encoding="utf-8"
    )


# --------------------------------------------------------------------------- scans
def _text_columns() -> list[tuple[str, str]]:
    out = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String | Text | JSON):
                out.append((table.name, column.name))
    return out


def db_raw_hits(db: Database, needles: list[str]) -> list[str]:
    """Raw SQL over every text/JSON column (a dump: sealed values show as ciphertext)."""
    hits = []
    with db.engine.connect() as conn:
        for table, column in _text_columns():
            for (value,) in conn.execute(text(f'SELECT "{column}" FROM "{table}"')):
                blob = value if isinstance(value, str) else json.dumps(value)
                hits += [f"{table}.{column}: {n}" for n in needles if n and n in blob]
    return hits


def db_orm_hits(db: Database, needles: list[str]) -> list[str]:
    """Every mapped row through the ORM (sealed values decrypted where the key exists)."""
    hits = []
    with db.transaction() as s:
        for mapper in Base.registry.mappers:
            cls = mapper.class_
            for obj in s.scalars(select(cls)):
                for attr in mapper.column_attrs:
                    value = getattr(obj, attr.key)
                    blob = value if isinstance(value, str) else json.dumps(value, default=str)
                    hits += [f"{cls.__name__}.{attr.key}: {n}" for n in needles if n and n in blob]
    return hits


def tracker_hits(settings: Settings, needles: list[str]) -> list[str]:
    path = Path(settings.tracker_url.removeprefix("sqlite:///"))
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT sender_id, data FROM events").fetchall()
    return [f"events: {n}" for sender, data in rows for n in needles if n in f"{sender} {data}"]


def redis_hits(client: Any, prefixes: list[str], needles: list[str]) -> list[str]:
    hits = []
    for prefix in prefixes:
        for key in client.scan_iter(match=prefix + "*"):
            value = client.get(key) or b""
            blob = (key + b" " + value).decode("utf-8", "replace")
            hits += [f"redis {key!r}: {n}" for n in needles if n in blob]
    return hits


def file_hits(files: FileStore, person: Person) -> list[str]:
    """Files of the person still readable, plus any plaintext under the store's root."""
    hits = []
    for ref in files.refs_for(person.candidate_id):
        blob = files.read(ref).decode("utf-8", "replace")
        hits += [f"file {ref}: {n}" for n in person.secrets if n in blob]
    if files.root.exists():
        for path in files.root.rglob("*"):
            if path.is_file():
                raw = path.read_bytes().decode("utf-8", "replace")
                hits += [f"raw file {path.name}: {n}" for n in person.secrets if n in raw]
            if person.candidate_id in str(path):
                hits.append(f"path {path}")
    return hits


def log_hits(settings: Settings, needles: list[str]) -> list[str]:
    hits = []
    for path in settings.log_dir.rglob("*"):
        if path.is_file():
            body = path.read_text(encoding="utf-8", errors="replace").lower()
            hits += [f"log {path.name}: {n}" for n in needles if n.lower() in body]
    return hits
