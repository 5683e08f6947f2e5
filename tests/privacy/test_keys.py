"""Master key rotation, on SQLite and PostgreSQL: data keys are re-wrapped, no sealed value
changes, the old key stops working, a mismatch aborts with nothing changed, and the embedded
key file is switched safely (a crash mid-switch is recovered at the next start)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from privacy.keys import (
    Rotation,
    generate_master_key,
    read_key_file,
    rotate_key,
    rotate_key_file,
    rotate_master_key,
)
from screening.interview import InterviewService
from storage.db import Database
from storage.encryption import (
    ERASURE_SENDER_IDS,
    KEY_FILE,
    PENDING_KEY_FILE,
    Keyring,
    MasterKey,
    MasterKeyError,
    MasterKeyMismatch,
    system_seal,
    system_unseal,
)
from storage.files import FileStore
from storage.models import Answer, Candidate, CandidateKey, Contact, Erasure
from storage.repositories import CandidateRepository
from tests.privacy.crypto_support import raw_dump, raw_update
from tests.test_interview_service import TODAY, VALID, Conversation


def _populate(db: Database, n: int = 3) -> list[str]:
    ids = []
    for i in range(n):
        sender = f"web:rot{i}"
        convo = Conversation(InterviewService(db, today=TODAY), sender)
        convo.begin()
        convo.send(VALID["motivation"])
        with db.transaction() as s:
            c = CandidateRepository(s).by_sender(sender)
            c.name = f"Person {i}"
            s.add(Contact(candidate_id=c.id, kind="email", value=f"p{i}@example.org"))
            ids.append(c.id)
    return ids


def _tokens(db: Database) -> dict[str, list]:
    with db.engine.connect() as conn:
        return {
            "answers": sorted(conn.execute(select(Answer.raw_text)).scalars()),
            "normalized": sorted(str(x) for x in conn.execute(select(Answer.normalized)).scalars()),
            "names": sorted(conn.execute(select(Candidate.name)).scalars()),
            "contacts": sorted(conn.execute(select(Contact.value)).scalars()),
        }


def _read_all(db: Database) -> tuple[list, list]:
    with db.transaction() as s:
        names = sorted(c.name for c in s.scalars(select(Candidate)))
        answers = sorted(a.raw_text for a in s.scalars(select(Answer)))
    return names, answers


def test_rotate_rewraps_keys_without_touching_data(db: Database, tmp_path: Path) -> None:
    ids = _populate(db)
    files = FileStore(tmp_path / "files", db)
    ref = files.write(ids[0], "recordings/1.wav", b"audio")
    erasure_token = system_seal(db, "web:gone", ERASURE_SENDER_IDS)
    with db.transaction() as s:
        s.add(Erasure(subject_hash="h", reason="request", sender_ids=erasure_token,
                      due_at=datetime.now(UTC)))  # fmt: skip
    before_tokens = _tokens(db)
    before_reads = _read_all(db)
    old = db.keyring.master
    new = generate_master_key()

    assert rotate_master_key(db, new) == 3
    assert _tokens(db) == before_tokens  # no sealed value was re-encrypted
    assert db.keyring.master == new
    with db.transaction() as s:
        rows = s.scalars(select(CandidateKey)).all()
        assert {r.master_key_id for r in rows} == {new.key_id}
        assert all(r.rotated_at is not None for r in rows)
        sealed = s.scalars(select(Erasure)).one().sender_ids
    assert _read_all(db) == before_reads  # this process switched keys
    assert files.read(ref) == b"audio"
    assert system_unseal(db, sealed, ERASURE_SENDER_IDS) == "web:gone"

    fresh = Database(db.url, Keyring(new))
    assert _read_all(fresh) == before_reads
    fresh.dispose()
    with pytest.raises(MasterKeyMismatch) as info:
        Database(db.url, Keyring(old))
    assert new.key_id in str(info.value) and old.key_id in str(info.value)


def test_rotate_aborts_with_nothing_changed_on_a_foreign_key_row(db: Database) -> None:
    ids = _populate(db, 2)
    raw_update(db, CandidateKey.__table__, CandidateKey.candidate_id == ids[1],
               master_key_id="f" * 16)  # fmt: skip
    before = raw_dump(db)
    with pytest.raises(MasterKeyMismatch):
        rotate_master_key(db, generate_master_key())
    assert raw_dump(db) == before


def test_rotate_aborts_when_a_data_key_does_not_unwrap(db: Database) -> None:
    ids = _populate(db, 2)
    with db.engine.connect() as conn:
        wrapped = conn.execute(
            select(CandidateKey.wrapped_key).where(CandidateKey.candidate_id == ids[0])
        ).scalar_one()
    # candidate 1's row now holds candidate 0's wrapped key: bound to the wrong candidate
    raw_update(db, CandidateKey.__table__, CandidateKey.candidate_id == ids[1], wrapped_key=wrapped)
    before = raw_dump(db)
    with pytest.raises(MasterKeyMismatch, match="could not be unwrapped"):
        rotate_master_key(db, generate_master_key())
    assert raw_dump(db) == before


def test_rotate_on_an_empty_database(db: Database) -> None:
    new = generate_master_key()
    assert rotate_master_key(db, new) == 0
    assert db.keyring.master == new


def _file_db(db: Database, var: Path) -> Database:
    """The same database opened with an embedded key file under `var` holding the key."""
    var.mkdir(parents=True, exist_ok=True)
    db.keyring.master.write(var / KEY_FILE)
    db.dispose()
    return Database(db.url, Keyring.from_master(MasterKey.from_file(var / KEY_FILE)))


def test_rotate_key_file_switches_the_file(db: Database, tmp_path: Path) -> None:
    _populate(db, 2)
    before = _read_all(db)
    filed = _file_db(db, tmp_path / "var")
    new = generate_master_key()
    result = rotate_key(filed, new)
    assert result == Rotation(2, result.old_key_id, new.key_id, tmp_path / "var" / KEY_FILE)
    assert read_key_file(tmp_path / "var" / KEY_FILE) == new
    assert not (tmp_path / "var" / PENDING_KEY_FILE).exists()
    assert (tmp_path / "var" / KEY_FILE).stat().st_mode & 0o777 == 0o600
    filed.dispose()
    again = Database(db.url, Keyring.from_master(MasterKey.from_file(tmp_path / "var" / KEY_FILE)))
    assert _read_all(again) == before
    again.dispose()


def test_crash_between_commit_and_rename_is_recovered(db: Database, tmp_path: Path) -> None:
    _populate(db, 2)
    before = _read_all(db)
    var = tmp_path / "var"
    filed = _file_db(db, var)
    new = generate_master_key()
    new.write(var / PENDING_KEY_FILE)  # what rotate_key_file does first …
    rotate_master_key(filed, new)  # … then commits; the process dies before the rename
    filed.dispose()
    assert read_key_file(var / KEY_FILE) != new

    restarted = Database(db.url, Keyring.from_master(MasterKey.from_file(var / KEY_FILE)))
    assert restarted.keyring.master == new
    assert read_key_file(var / KEY_FILE) == new and not (var / PENDING_KEY_FILE).exists()
    assert _read_all(restarted) == before
    restarted.dispose()


def test_crash_before_commit_keeps_the_old_key(db: Database, tmp_path: Path) -> None:
    _populate(db, 1)
    var = tmp_path / "var"
    filed = _file_db(db, var)
    old = filed.keyring.master
    generate_master_key().write(var / PENDING_KEY_FILE)  # written, never committed
    filed.dispose()
    restarted = Database(db.url, Keyring.from_master(MasterKey.from_file(var / KEY_FILE)))
    assert restarted.keyring.master == old
    assert _read_all(restarted)[0] == ["Person 0"]
    # A later rotation overwrites the stale pending file.
    assert rotate_key_file(restarted, generate_master_key()) == 1
    restarted.dispose()


def test_a_running_process_follows_a_rotated_key_file(db: Database, tmp_path: Path) -> None:
    _populate(db, 1)
    var = tmp_path / "var"
    admin = _file_db(db, var)
    server = Database(db.url, Keyring.from_master(MasterKey.from_file(var / KEY_FILE)))
    rotate_key_file(admin, generate_master_key())
    # The server's cached data key is keyed by the old wrapped form: it re-reads the file.
    assert _read_all(server)[0] == ["Person 0"]
    admin.dispose()
    server.dispose()


def test_rotate_key_from_environment_needs_a_new_setting(db: Database) -> None:
    _populate(db, 1)
    new = generate_master_key()
    result = rotate_key(db, new)
    assert result.key_file is None and result.rewrapped == 1 and result.new_key_id == new.key_id


def test_rotate_key_file_refuses_an_environment_key(db: Database) -> None:
    with pytest.raises(ValueError, match="PARLEY_MASTER_KEY"):
        rotate_key_file(db, generate_master_key())


@pytest.mark.parametrize("content", ["", "abc", "A" * 40, "é" * 44])
def test_read_key_file_rejects_malformed_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "k"
    path.write_text(content)
    with pytest.raises(MasterKeyError):
        read_key_file(path)
