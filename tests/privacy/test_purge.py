"""The purge job: after delete + purge nothing of the person is left anywhere.

Every place is seeded first and the test asserts the data WAS findable before the purge, so a
clean scan afterwards proves the purge removed it (not that the scan was blind).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select, text

from privacy import log_scrub
from privacy.erasure import erase_candidate
from privacy.purge import references, referencing_columns, run_purge
from privacy.tombstones import ErasureStatus
from privacy.tracker import delete_tracker_events
from storage.db import Database
from storage.files import FileStore
from storage.models import Candidate, CandidateKey, Erasure
from tests.erasure_support import (
    RASA_EVENTS_DDL,
    db_orm_hits,
    db_raw_hits,
    file_hits,
    log_hits,
    make_settings,
    redis_hits,
    seed_logs,
    seed_person,
    seed_tracker,
    tracker_hits,
)
from tests.support import create_pg_database, drop_pg_database, pg_url


@pytest.fixture
def redis_client():  # type: ignore[no-untyped-def]
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (scripts/ensure-services.sh starts it)")
    yield client
    client.close()


def _later(days: int = 31) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def test_delete_and_purge_leave_no_trace_anywhere(
    db: Database, tmp_path: Path, redis_client: redis.Redis
) -> None:
    settings = make_settings(tmp_path, db, profile="prod")
    files = FileStore(settings.files_dir, db)
    person = seed_person(db, files)
    other = seed_person(db, files, tag="other")
    seed_tracker(settings, person, extra_senders=[])
    seed_tracker(settings, other)
    seed_logs(settings, person)
    prefix = settings.lock_prefix
    rasa_prefix = f"{prefix}:lock:"
    try:
        for sender in person.senders:
            redis_client.set(rasa_prefix + sender, f'{{"conversation_id": "{sender}"}}')
        redis_client.set(f"{prefix}:session:{person.candidate_id}", person.name)
        redis_client.set(f"{prefix}:lock:{other.senders[0]}", "other")
        redis_client.set(f"{prefix}:session:{other.candidate_id}", other.name)
        everywhere = person.secrets

        # Findable before: the test must be able to see what it later says is gone.
        assert db_raw_hits(db, [*person.senders, person.candidate_id])
        orm_before = db_orm_hits(db, [person.name, person.email, person.answer])
        assert {h.split(":")[0] for h in orm_before} >= {
            "Candidate.name", "Contact.value", "Answer.raw_text", "AnswerScore.explanation",
            "ApplicationScore.breakdown", "Correction.old_value", "HumanReview.statement",
            "OutboundMessage.text", "PrivacyRequest.detail",
        }  # fmt: skip
        assert tracker_hits(settings, [person.name, person.email, person.answer, *person.senders])
        assert redis_hits(redis_client, [prefix], [person.name, *person.senders])
        assert file_hits(files, person)
        assert log_hits(settings, [person.name, person.email, person.answer, *person.senders])
        # A database dump never shows the answer text, the name or the email in plaintext.
        assert not db_raw_hits(db, [person.name, person.email, person.answer])

        result = erase_candidate(db, settings, person.candidate_id)
        assert not result.held and not result.already_scheduled
        report = run_purge(db, settings, files, now=_later())
        assert report.ok, report.errors
        assert report.purged == 1
        assert report.tracker_events == 6 and report.redis_keys == 3
        assert report.log_lines >= 6

        assert db_raw_hits(db, everywhere) == []
        assert db_orm_hits(db, everywhere) == []
        assert tracker_hits(settings, everywhere) == []
        assert redis_hits(redis_client, [prefix, "lock:"], everywhere) == []
        assert file_hits(files, person) == []
        assert log_hits(settings, everywhere) == []
        with db.transaction() as s:
            assert references(s, person.candidate_id) == {}

        # The other person is untouched everywhere.
        assert tracker_hits(settings, [other.name]) and file_hits(files, other)
        assert redis_client.get(f"{prefix}:session:{other.candidate_id}") is not None
        assert db_orm_hits(db, [other.name, other.answer])
        log_text = (settings.log_dir / "rasa.log").read_text()
        assert "other people's line stays" in log_text and "rasa started" in log_text

        # The tombstone: a keyed hash, the dates, nothing personal.
        with db.transaction() as s:
            tomb = s.scalar(select(Erasure))
            assert tomb is not None
            assert tomb.status == ErasureStatus.PURGED and tomb.purged_at is not None
            assert tomb.candidate_id is None and tomb.sender_ids is None
            assert person.candidate_id not in tomb.subject_hash
            assert len(tomb.subject_hash) == 64
            assert s.get(CandidateKey, person.candidate_id) is None  # crypto-shredded
    finally:
        for key in redis_client.scan_iter(match=f"{prefix}*"):
            redis_client.delete(key)
        for sender in person.senders + other.senders:
            redis_client.delete(f"lock:{sender}")


def test_purge_waits_for_the_due_date(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db)
    files = FileStore(settings.files_dir, db)
    person = seed_person(db, files)
    result = erase_candidate(db, settings, person.candidate_id)
    assert result.due_at > datetime.now(UTC) + timedelta(days=29)
    report = run_purge(db, settings, files)
    assert report.purged == 0
    with db.transaction() as s:
        assert s.get(Candidate, person.candidate_id) is not None
    assert run_purge(db, settings, files, now=result.due_at).purged == 1


def test_two_concurrent_purge_runs_never_double_process(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db)
    files = FileStore(settings.files_dir, db)
    people = [seed_person(db, files, tag=f"c{i}") for i in range(4)]
    for p in people:
        erase_candidate(db, settings, p.candidate_id)
    when = _later()
    reports = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        reports.append(run_purge(db, settings, files, now=when))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(reports) == 2
    assert all(r.ok for r in reports), [r.errors for r in reports]
    assert sum(r.purged for r in reports) == 4
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Candidate)) == 0
        statuses = list(s.scalars(select(Erasure.status)))
        assert statuses == ["purged"] * 4
    assert run_purge(db, settings, files, now=when).purged == 0  # nothing left to do


def test_a_row_left_behind_fails_the_purge_loudly(db: Database, tmp_path: Path) -> None:
    """The check after the delete is real: a second (stale) erasures row still naming the
    candidate is found by introspection, and the whole erasure is rolled back."""
    settings = make_settings(tmp_path, db)
    files = FileStore(settings.files_dir, db)
    person = seed_person(db, files)
    result = erase_candidate(db, settings, person.candidate_id)
    with db.transaction() as s:
        s.add(
            Erasure(
                candidate_id=person.candidate_id, subject_hash="x" * 64, reason="request",
                due_at=_later(400), status="cancelled",
            )
        )  # fmt: skip
    report = run_purge(db, settings, files, now=_later())
    assert report.failed == [result.erasure_id]
    assert "erasures.candidate_id" in report.errors[0]
    with db.transaction() as s:
        assert s.get(Candidate, person.candidate_id) is not None  # rolled back
        assert s.get(Erasure, result.erasure_id).status == "pending"  # type: ignore[union-attr]


def test_referencing_columns_are_introspected() -> None:
    names = {f"{c.table.name}.{c.name}" for c in referencing_columns()}
    assert {"applications.candidate_id", "contacts.candidate_id", "candidate_keys.candidate_id",
            "erasures.candidate_id", "legal_holds.candidate_id",
            "candidates.id"} <= names  # fmt: skip


def test_tracker_purge_on_postgresql_and_missing_sqlite(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "tracker.db"
    assert delete_tracker_events(f"sqlite:///{missing}", ["web:x"]) == 0
    assert not missing.exists()  # a missing tracker store is not created
    name = create_pg_database("parley_tracker")
    try:
        url = pg_url(name)
        assert delete_tracker_events(url, ["web:x"]) == 0  # no events table yet
        engine = Database(url).engine
        with engine.begin() as conn:
            conn.execute(text(RASA_EVENTS_DDL.replace("INTEGER NOT NULL PRIMARY KEY",
                                                      "SERIAL PRIMARY KEY")))  # fmt: skip
            for sender in ("web:x", "web:x", "telegram:9", "web:keep"):
                conn.execute(
                    text(
                        "INSERT INTO events (sender_id, type_name, data) VALUES (:s, 'user', '{}')"
                    ),
                    {"s": sender},
                )
        engine.dispose()
        assert delete_tracker_events(url, ["web:x", "telegram:9"]) == 3
        engine = Database(url).engine
        with engine.connect() as conn:
            assert conn.execute(text("SELECT sender_id FROM events")).scalars().all() == [
                "web:keep"
            ]
        engine.dispose()
    finally:
        drop_pg_database(name)


def test_log_scrub_keeps_length_and_open_append_handles(tmp_path: Path) -> None:
    log = tmp_path / "rasa.log"
    writer = open(log, "a", encoding="utf-8")  # noqa: SIM115 - a running process's handle
    try:
        writer.write("keep 1\nsecret web:abc here\nshort web:abc\nkeep 2\n")
        writer.flush()
        size = log.stat().st_size
        assert log_scrub.scrub_logs(tmp_path, {"web:abc"}) == 2
        assert log.stat().st_size == size
        writer.write("appended later\n")
        writer.flush()
    finally:
        writer.close()
    lines = log.read_text().splitlines()
    assert lines[0] == "keep 1" and lines[3] == "keep 2" and lines[4] == "appended later"
    assert "web:abc" not in log.read_text()
    assert lines[1].startswith("[redacted") and len(lines[2]) == len("short web:abc")
    assert log_scrub.scrub_logs(tmp_path, {"web:abc"}) == 0  # idempotent
