"""Backups keep data and data keys apart (storage/backup.py), on SQLite and PostgreSQL: the
data backup holds no key and no plaintext, a restore with the key backup reads everything,
an old data backup restored with a key backup made after a purge cannot read the erased
candidate, old key and data backups are pruned, and bad input fails clearly."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from parley.cli import app
from privacy.erasure import erase_candidate
from privacy.purge import run_purge
from privacy.tombstones import SUBJECT_PURPOSE
from storage import backup as backup_mod
from storage.backup import (
    BackupError,
    BackupInputError,
    create_backup,
    prune_backups,
    restore_backup,
)
from storage.db import Database
from storage.encryption import Keyring, MasterKey, MasterKeyMismatch
from storage.files import FileStore
from storage.models import Answer, Candidate, CandidateKey, Erasure
from tests.erasure_support import Person, make_settings, seed_person
from tests.support import create_pg_database, drop_pg_database, pg_url

runner = CliRunner()


def _backend(db: Database) -> str:
    return db.engine.dialect.name


# PostgreSQL backups use pg_dump / pg_restore, installed with PostgreSQL (scripts/ensure-
# services.sh); where they are missing these tests fail with create_backup's own message.
SQLITE_ONLY = pytest.mark.parametrize("db", ["sqlite"], indirect=True)
POSTGRESQL_ONLY = pytest.mark.parametrize("db", ["postgresql"], indirect=True)


@pytest.fixture
def target(db: Database, tmp_path: Path) -> Iterator[str]:
    """Where a restore goes: a new SQLite file, or a new empty PostgreSQL database."""
    if _backend(db) == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'parley.db'}"
        return
    name = create_pg_database("parley_restore")
    try:
        yield pg_url(name)
    finally:
        drop_pg_database(name)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "backups"
    folder.mkdir()
    (tmp_path / "restored").mkdir()
    return folder


def _files(db: Database, tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "var" / "files", db)


def _data_text(db: Database, path: Path) -> bytes:
    """What the data backup holds, as an attacker would see it."""
    if _backend(db) == "sqlite":
        return path.read_bytes()
    assert path.read_bytes().startswith(b"PGDMP")
    done = subprocess.run(["pg_restore", "--file=-", str(path)], capture_output=True, check=True)
    return done.stdout


def _wrapped_keys(db: Database) -> dict[str, str]:
    with db.engine.connect() as conn:
        return dict(conn.execute(select(CandidateKey.candidate_id, CandidateKey.wrapped_key)).all())


def _answer(url: str, person: Person) -> str | None:
    restored = Database(url, Keyring.from_env())
    try:
        with restored.transaction() as s:
            answer = s.get(Answer, person.answer_id)
            return None if answer is None else answer.raw_text
    finally:
        restored.dispose()


def _later(days: int = 31) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def _erase_and_purge(db: Database, tmp_path: Path, person: Person) -> None:
    settings = make_settings(tmp_path, db)
    erase_candidate(db, settings, person.candidate_id)
    report = run_purge(db, settings, _files(db, tmp_path), now=_later())
    assert report.ok and report.purged == 1, report.errors


# --------------------------------------------------------------------------- create


def test_data_backup_holds_no_key_and_no_plaintext(db: Database, tmp_path: Path, out: Path) -> None:
    files = _files(db, tmp_path)
    people = [seed_person(db, files, tag=f"p{i}") for i in range(2)]
    wrapped = _wrapped_keys(db)
    assert set(wrapped) == {p.candidate_id for p in people}

    result = create_backup(db, None, out)

    assert result.backend == _backend(db)
    assert result.candidates == 2 and result.keys == 2
    assert result.data_path.parent == out and result.key_path.parent == out
    assert result.data_path.name.startswith("parley-")
    assert result.key_path.name.startswith("keys-") and result.key_path.suffix == ".json"
    assert result.master_key_id == db.keyring.master.key_id
    data = _data_text(db, result.data_path)
    assert any(p.candidate_id.encode() in data for p in people)  # the data is there…
    for p in people:  # …but neither its keys nor its plaintext
        assert wrapped[p.candidate_id].encode() not in data
        for secret in (p.answer, p.name, p.email):
            assert secret.encode() not in data
    if result.backend == "sqlite":
        with sqlite3.connect(result.data_path) as conn:
            assert conn.execute("SELECT count(*) FROM candidate_keys").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM candidates").fetchone()[0] == 2
        assert not list(out.glob("*-wal")) and not list(out.glob(".*tmp"))

    assert stat.S_IMODE(result.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.data_path.stat().st_mode) == 0o600
    document = json.loads(result.key_path.read_text())
    assert document["format"] == "parley-key-backup"
    assert document["master_key_id"] == db.keyring.master.key_id
    assert {k["candidate_id"]: k["wrapped_key"] for k in document["keys"]} == wrapped
    text = result.key_path.read_text()
    for p in people:  # the key backup names no person either
        for secret in (p.answer, p.name, p.email, *p.senders):
            assert secret not in text


def test_two_backups_in_a_row_get_their_own_files(db: Database, out: Path) -> None:
    first = create_backup(db, None, out)
    second = create_backup(db, None, out)
    assert first.data_path != second.data_path and first.key_path != second.key_path
    assert len(list(out.iterdir())) == 4


@POSTGRESQL_ONLY
def test_postgresql_backup_needs_pg_dump(
    db: Database, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backup_mod.shutil, "which", lambda _name: None)
    with pytest.raises(BackupError, match="pg_dump is not on PATH"):
        create_backup(db, None, out)
    assert list(out.iterdir()) == []


# --------------------------------------------------------------------------- restore


def test_restore_with_the_key_backup_reads_everything(
    db: Database, tmp_path: Path, out: Path, target: str
) -> None:
    files = _files(db, tmp_path)
    people = [seed_person(db, files, tag=f"r{i}") for i in range(2)]
    made = create_backup(db, None, out)

    result = restore_backup(made.data_path, made.key_path, target, keyring=Keyring.from_env())

    assert result.keys_restored == 2 and result.candidates == 2
    assert result.erased_removed == 0 and result.candidates_without_key == 0
    for p in people:
        assert _answer(target, p) == p.answer
    restored = Database(target, Keyring.from_env())
    try:
        with restored.transaction() as s:
            assert {c.name for c in s.scalars(select(Candidate))} == {p.name for p in people}
    finally:
        restored.dispose()


def test_old_data_backup_with_a_new_key_backup_cannot_read_the_erased(
    db: Database, tmp_path: Path, out: Path, target: str
) -> None:
    files = _files(db, tmp_path)
    erased, kept = seed_person(db, files, tag="e"), seed_person(db, files, tag="k")
    old = create_backup(db, None, out)
    _erase_and_purge(db, tmp_path, erased)
    new = create_backup(db, None, out)
    new_keys = json.loads(new.key_path.read_text())
    assert [k["candidate_id"] for k in new_keys["keys"]] == [kept.candidate_id]
    assert len(new_keys["tombstones"]) == 1

    # Even with no tombstone to go by, the erased candidate's data stays sealed: the key
    # is in no key backup made after the purge.
    bare = out / "keys-bare.json"
    bare.write_text(json.dumps({**new_keys, "tombstones": []}))
    result = restore_backup(old.data_path, bare, target, keyring=Keyring.from_env())
    assert result.keys_restored == 1 and result.candidates_without_key == 1
    assert _answer(target, kept) == kept.answer
    assert _answer(target, erased) is None  # the row is there, its text unreadable


def test_restore_removes_candidates_whose_erasure_was_purged(
    db: Database, tmp_path: Path, out: Path, target: str
) -> None:
    files = _files(db, tmp_path)
    erased, kept = seed_person(db, files, tag="e"), seed_person(db, files, tag="k")
    old = create_backup(db, None, out)
    _erase_and_purge(db, tmp_path, erased)
    new = create_backup(db, None, out)

    result = restore_backup(old.data_path, new.key_path, target, keyring=Keyring.from_env())

    assert result.erased_removed == 1 and result.keys_restored == 1
    assert result.tombstones_added == 1
    assert _answer(target, kept) == kept.answer
    restored = Database(target, Keyring.from_env())
    try:
        with restored.transaction() as s:
            assert s.get(Candidate, erased.candidate_id) is None
            assert s.get(Answer, erased.answer_id) is None
            tomb = s.scalars(select(Erasure)).one()
            assert tomb.status == "purged" and tomb.candidate_id is None
    finally:
        restored.dispose()


@SQLITE_ONLY
def test_replacing_a_database_honours_its_purged_erasures(
    db: Database, tmp_path: Path, out: Path
) -> None:
    """Data and keys both from before the purge: the database being replaced knows of the
    purge (its tombstone), so the erased candidate is not revived."""
    files = _files(db, tmp_path)
    erased, kept = seed_person(db, files, tag="e"), seed_person(db, files, tag="k")
    pending = seed_person(db, files, tag="p")
    old = create_backup(db, None, out)
    _erase_and_purge(db, tmp_path, erased)
    erase_candidate(db, make_settings(tmp_path, db), pending.candidate_id)  # not yet due
    live = db.url
    db.dispose()

    with pytest.raises(BackupInputError, match="exists"):
        restore_backup(old.data_path, old.key_path, live, keyring=Keyring.from_env())
    result = restore_backup(
        old.data_path, old.key_path, live, keyring=Keyring.from_env(), replace=True
    )

    assert result.erased_removed == 1 and result.keys_restored == 2
    assert [r.candidate_id for r in result.reapply] == [pending.candidate_id]
    assert _answer(live, kept) == kept.answer
    assert _answer(live, erased) is None
    restored = Database(live, Keyring.from_env())
    try:
        with restored.transaction() as s:
            assert s.get(Candidate, erased.candidate_id) is None
            assert s.scalars(select(Erasure.status)).all() == ["purged"]
    finally:
        restored.dispose()


def test_restore_refuses_a_mismatched_master_key(
    db: Database, tmp_path: Path, out: Path, target: str
) -> None:
    seed_person(db, _files(db, tmp_path))
    made = create_backup(db, None, out)
    other = Keyring(MasterKey.generate())
    with pytest.raises(MasterKeyMismatch, match="key backup"):
        restore_backup(made.data_path, made.key_path, target, keyring=other)
    if _backend(db) == "sqlite":
        assert not Path(target.removeprefix("sqlite:///")).exists()  # nothing written
    # A key backup whose header was edited to the other key id: the keys still do not unwrap.
    forged = out / "keys-forged.json"
    document = json.loads(made.key_path.read_text())
    document["master_key_id"] = other.master.key_id
    for key in document["keys"]:
        key["master_key_id"] = other.master.key_id
    forged.write_text(json.dumps(document))
    with pytest.raises(MasterKeyMismatch, match="could not be unwrapped"):
        restore_backup(made.data_path, forged, target, keyring=other)


@SQLITE_ONLY
def test_restore_refuses_what_is_not_a_backup(db: Database, tmp_path: Path, out: Path) -> None:
    seed_person(db, _files(db, tmp_path))
    made = create_backup(db, None, out)
    keyring = Keyring.from_env()
    to = f"sqlite:///{tmp_path / 'restored' / 'x.db'}"
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(BackupInputError, match="not a Parley data backup"):
        restore_backup(junk, made.key_path, to, keyring=keyring)
    with pytest.raises(BackupInputError, match="not a Parley key backup"):
        restore_backup(made.data_path, junk, to, keyring=keyring)
    with pytest.raises(BackupInputError, match="not a Parley key backup"):
        restore_backup(made.data_path, made.data_path, to, keyring=keyring)
    with pytest.raises(BackupInputError, match="does not exist"):
        restore_backup(tmp_path / "missing.db", made.key_path, to, keyring=keyring)
    # A plain copy of the live database holds the keys: refused (it would revive them).
    plain = tmp_path / "plain-copy.db"
    with sqlite3.connect(db.url.removeprefix("sqlite:///")) as src, sqlite3.connect(plain) as dst:
        src.backup(dst)
    with pytest.raises(BackupInputError, match="plain database copy"):
        restore_backup(plain, made.key_path, to, keyring=keyring)
    with pytest.raises(BackupInputError, match="postgresql"):
        restore_backup(made.data_path, made.key_path, "postgresql://x@127.0.0.1/y", keyring=keyring)
    assert not (tmp_path / "restored" / "x.db").exists()
    assert [p.name for p in (tmp_path / "restored").iterdir()] == []  # no temporary left


# --------------------------------------------------------------------------- prune


def _key_backup(folder: Path, created: datetime) -> Path:
    path = folder / f"keys-{created.strftime('%Y%m%dT%H%M%S.%fZ')}.json"
    path.write_text(
        json.dumps({"format": "parley-key-backup", "version": 1,
                    "created_at": created.isoformat(), "master_key_id": "x", "keys": []})
    )  # fmt: skip
    return path


def test_prune_deletes_backups_older_than_keep_days(out: Path) -> None:
    now = datetime(2030, 6, 1, 12, tzinfo=UTC)
    old = _key_backup(out, now - timedelta(days=31))
    edge = _key_backup(out, now - timedelta(days=29, hours=23))
    new = _key_backup(out, now - timedelta(hours=1))
    old_data = out / "parley-20300101T000000.000000Z.db"
    old_data.write_bytes(b"SQLite format 3\x00")
    new_data = out / "parley-20300601T110000.000000Z.dump"
    new_data.write_bytes(b"PGDMP")
    unknown = out / "keys-unknown.json"
    unknown.write_text("{}")
    odd = out / "parley-latest.db"
    odd.write_bytes(b"SQLite format 3\x00")

    # Old data backups go with old key backups: nothing could open them any more, and they
    # still hold the unencrypted sender ids.
    assert prune_backups(out, 30, now=now) == 2
    assert not old.exists() and not old_data.exists()
    assert edge.exists() and new.exists() and new_data.exists()
    assert unknown.exists() and odd.exists()  # undated files stay
    assert prune_backups(out, 30, now=now) == 0
    assert prune_backups(out, 0, now=now) == 3
    assert new.exists() is False and new_data.exists() is False and unknown.exists()


def test_prune_default_is_the_key_backup_days_setting(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    _key_backup(out, now - timedelta(days=10))
    monkeypatch.delenv("PARLEY_PURGE_AFTER_DAYS", raising=False)
    monkeypatch.delenv("PARLEY_KEY_BACKUP_DAYS", raising=False)
    assert prune_backups(out) == 0  # 30 days
    monkeypatch.setenv("PARLEY_PURGE_AFTER_DAYS", "7")
    monkeypatch.setenv("PARLEY_KEY_BACKUP_DAYS", "12")
    assert prune_backups(out) == 0  # PARLEY_KEY_BACKUP_DAYS wins
    monkeypatch.delenv("PARLEY_KEY_BACKUP_DAYS")
    assert prune_backups(out) == 1  # the purge delay
    monkeypatch.setenv("PARLEY_KEY_BACKUP_DAYS", "soon")
    with pytest.raises(BackupInputError, match="PARLEY_KEY_BACKUP_DAYS"):
        prune_backups(out)


def test_prune_of_a_real_backup(db: Database, out: Path) -> None:
    made = create_backup(db, None, out)
    assert prune_backups(out, 30, now=made.created_at + timedelta(days=29)) == 0
    assert prune_backups(out, 30, now=made.created_at + timedelta(days=31)) == 2
    assert not made.key_path.exists() and not made.data_path.exists()


# --------------------------------------------------------------------------- bad folders


def test_missing_and_unusable_folders_fail_clearly(db: Database, tmp_path: Path) -> None:
    with pytest.raises(BackupInputError, match="does not exist"):
        create_backup(db, None, tmp_path / "nope")
    with pytest.raises(BackupInputError, match="does not exist"):
        prune_backups(tmp_path / "nope", 30)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(BackupInputError, match="not a folder"):
        create_backup(db, None, a_file)


def test_an_unwritable_folder_fails_clearly(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # root ignores the mode; sysfs refuses new files
            folder = Path("/sys")
        with pytest.raises(BackupInputError, match="cannot write to the backup folder"):
            create_backup(db, None, folder)
    finally:
        (tmp_path / "ro").chmod(0o700)


def test_subject_purpose_matches_the_tombstones() -> None:
    assert backup_mod.SUBJECT_PURPOSE == SUBJECT_PURPOSE


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = make_settings(tmp_path, db)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("PARLEY_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("PARLEY_TRACKER_URL", settings.tracker_url)
    monkeypatch.setenv("PARLEY_PROFILE", "embedded")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return settings.var_dir


def test_cli_create_prune_restore(
    db: Database, env: Path, tmp_path: Path, out: Path, target: str
) -> None:
    person = seed_person(db, FileStore(env / "files", db))
    made = runner.invoke(app, ["backup", "create", "--out", str(out), "--json"])
    assert made.exit_code == 0, made.output
    info = json.loads(made.output)
    assert info["keys"] == 1 and Path(info["key_path"]).is_file()

    restored = runner.invoke(
        app, ["backup", "restore", "--data", info["data_path"], "--keys", info["key_path"],
              "--to", target],
    )  # fmt: skip
    assert restored.exit_code == 0, restored.output
    assert "1 data keys" in restored.output and "parley privacy purge" in restored.output
    assert _answer(target, person) == person.answer

    pruned = runner.invoke(app, ["backup", "prune", "--dir", str(out), "--keep-days", "0",
                                 "--json"])  # fmt: skip
    assert pruned.exit_code == 0, pruned.output
    assert json.loads(pruned.output)["removed"] == 2  # the key backup and the data backup


def test_cli_bad_input_exits_2(db: Database, env: Path, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["backup", "create", "--out", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    pruned = runner.invoke(app, ["backup", "prune", "--dir", str(tmp_path / "nope")])
    assert pruned.exit_code == 2
    junk = tmp_path / "junk.txt"
    junk.write_text("junk")
    bad = runner.invoke(app, ["backup", "restore", "--data", str(junk), "--keys", str(junk),
                              "--to", f"sqlite:///{tmp_path / 'x.db'}"])  # fmt: skip
    assert bad.exit_code == 2 and "not a Parley" in bad.output


@SQLITE_ONLY
def test_cli_restore_with_another_master_key_exits_1(
    db: Database, env: Path, tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_person(db, FileStore(env / "files", db))
    made = create_backup(db, None, out)
    monkeypatch.setenv("PARLEY_MASTER_KEY", MasterKey.generate().encoded())
    result = runner.invoke(app, ["backup", "restore", "--data", str(made.data_path), "--keys",
                                 str(made.key_path), "--to",
                                 f"sqlite:///{tmp_path / 'x.db'}"])  # fmt: skip
    assert result.exit_code == 1 and "master key" in result.output
    assert not (tmp_path / "x.db").exists()


@SQLITE_ONLY
def test_cli_restore_replace_reapplies_pending_erasures(
    db: Database, env: Path, tmp_path: Path, out: Path
) -> None:
    """An erasure requested after the backup (not yet due) is re-applied after a restore
    that replaces the database, with its original due date (SQLite: a PostgreSQL target must
    be an empty database)."""
    files = FileStore(env / "files", db)
    pending, kept = seed_person(db, files, tag="p"), seed_person(db, files, tag="k")
    made = create_backup(db, None, out)
    due = erase_candidate(db, make_settings(tmp_path, db), pending.candidate_id).due_at
    live = db.url
    db.dispose()

    result = runner.invoke(app, ["backup", "restore", "--data", str(made.data_path), "--keys",
                                 str(made.key_path), "--to", live, "--replace"])  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Re-applied 1 erasures" in result.output
    restored = Database(live, Keyring.from_env())
    try:
        with restored.transaction() as s:
            erasure = s.scalars(select(Erasure)).one()
            assert erasure.candidate_id == pending.candidate_id and erasure.status == "pending"
            assert abs(erasure.due_at.replace(tzinfo=UTC) - due) < timedelta(seconds=1)
            candidate = s.get(Candidate, pending.candidate_id)
            assert candidate is not None and candidate.erased_at is not None
            assert s.get(Candidate, kept.candidate_id).erased_at is None  # type: ignore[union-attr]
    finally:
        restored.dispose()
