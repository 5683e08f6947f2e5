"""The encrypted file store, on SQLite and PostgreSQL: files are sealed per candidate, bound
to their name, written atomically, names are validated, and a shredded key is reported."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete

from storage.db import Database
from storage.encryption import KeyShredded
from storage.files import FileStore
from storage.models import CandidateKey
from storage.repositories import CandidateRepository
from tests.privacy.crypto_support import legacy_candidate

AUDIO = b"RIFF....WAVEfmt " + b"the candidate said something private" * 100


def _candidate(db: Database, sender: str = "web:files") -> str:
    with db.transaction() as s:
        return CandidateRepository(s).get_or_create(sender).id


@pytest.fixture
def store(db: Database, tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files", db)


def test_write_read_round_trip_encrypted_on_disk(db: Database, store: FileStore) -> None:
    cid = _candidate(db)
    ref = store.write(cid, "recordings/12.wav", AUDIO)
    assert ref == f"{cid}/recordings/12.wav"
    assert store.read(ref) == AUDIO
    on_disk = (store.root / cid / "recordings" / "12.wav").read_bytes()
    assert b"private" not in on_disk and len(on_disk) > len(AUDIO)
    assert (store.root / cid / "recordings" / "12.wav").stat().st_mode & 0o077 == 0
    store.write(cid, "recordings/12.wav", b"replaced")
    assert store.read(ref) == b"replaced"
    assert store.write(cid, "empty.txt", b"") and store.read(f"{cid}/empty.txt") == b""


def test_refs_delete_and_delete_candidate(db: Database, store: FileStore) -> None:
    cid, other = _candidate(db, "web:a"), _candidate(db, "web:b")
    refs = [store.write(cid, n, b"x") for n in ("exports/e1.zip", "recordings/1.wav", "t.txt")]
    kept = store.write(other, "recordings/1.wav", b"y")
    assert store.refs_for(cid) == sorted(refs)
    assert store.refs_for("nobody") == []
    assert store.delete(refs[0]) is True
    assert store.delete(refs[0]) is False
    with pytest.raises(FileNotFoundError):
        store.read(refs[0])
    assert not (store.root / cid / "exports").exists()  # emptied sub-folder removed
    assert store.delete_candidate(cid) == 2
    assert store.refs_for(cid) == [] and not (store.root / cid).exists()
    assert store.delete_candidate(cid) == 0
    assert store.read(kept) == b"y"


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../evil",
        "a/../../b",
        "/etc/passwd",
        "a/b/c.txt",
        ".hidden",
        "recordings/.x",
        "has space.wav",
        "back\\slash",
        "nul\0byte",
        "ü.wav",
        "a" * 300,
        "recordings/",
        "..",
    ],
)
def test_hostile_names_are_refused(db: Database, store: FileStore, name: str) -> None:
    cid = _candidate(db)
    with pytest.raises(ValueError):
        store.write(cid, name, b"x")
    with pytest.raises(ValueError):
        store.read(f"{cid}/{name}")
    assert not any(p.is_file() for p in store.root.rglob("*")) if store.root.exists() else True


@pytest.mark.parametrize("ref", ["", "noslash", "../x/y", "a b/c", "/abs/x"])
def test_malformed_refs_are_refused(store: FileStore, ref: str) -> None:
    with pytest.raises(ValueError):
        store.read(ref)
    with pytest.raises(ValueError):
        store.delete(ref)


def test_unknown_candidate_cannot_write(db: Database, store: FileStore) -> None:
    with pytest.raises(ValueError):
        store.write("0" * 32, "x.txt", b"x")
    with pytest.raises(ValueError):
        store.write("../x", "x.txt", b"x")


def test_file_is_bound_to_its_ref(db: Database, store: FileStore) -> None:
    a, b = _candidate(db, "web:a"), _candidate(db, "web:b")
    ref = store.write(a, "recordings/1.wav", AUDIO)
    store.write(b, "recordings/1.wav", b"b's")
    # Moving a file to another name or over another candidate's file does not decrypt.
    shutil.copy(store.root / a / "recordings" / "1.wav", store.root / a / "recordings" / "2.wav")
    shutil.copy(store.root / a / "recordings" / "1.wav", store.root / b / "recordings" / "1.wav")
    with pytest.raises(KeyShredded):
        store.read(f"{a}/recordings/2.wav")
    with pytest.raises(KeyShredded):
        store.read(f"{b}/recordings/1.wav")
    assert store.read(ref) == AUDIO


def test_shredded_key_makes_files_unreadable(db: Database, store: FileStore) -> None:
    cid = _candidate(db)
    ref = store.write(cid, "recordings/1.wav", AUDIO)
    backup = store.root.parent / "backup.bin"
    shutil.copy(store.root / cid / "recordings" / "1.wav", backup)
    with db.transaction() as s:
        s.execute(delete(CandidateKey).where(CandidateKey.candidate_id == cid))
    with pytest.raises(KeyShredded):
        store.read(ref)
    # A later write makes a new key; the old copy (a backup) stays unreadable.
    store.write(cid, "recordings/2.wav", b"new")
    shutil.copy(backup, store.root / cid / "recordings" / "1.wav")
    with pytest.raises(KeyShredded):
        store.read(ref)
    assert store.read(f"{cid}/recordings/2.wav") == b"new"


def test_legacy_candidate_gets_a_key_at_first_write(db: Database, store: FileStore) -> None:
    cid = legacy_candidate(db, "web:legacy-files")
    ref = store.write(cid, "t.txt", b"hello")
    assert store.read(ref) == b"hello"


def test_large_file_and_concurrent_writers(db: Database, store: FileStore) -> None:
    cid = _candidate(db)
    big = os.urandom(8 * 1024 * 1024)
    ref = store.write(cid, "recordings/big.wav", big)
    assert store.read(ref) == big
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for _ in range(5):
                store.write(cid, "recordings/same.wav", bytes([i]) * 50_000)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    data = store.read(f"{cid}/recordings/same.wav")
    assert len(data) == 50_000 and len(set(data)) == 1  # one whole write, never a mix
    assert sorted(store.refs_for(cid)) == [
        f"{cid}/recordings/big.wav",
        f"{cid}/recordings/same.wav",
    ]
    assert not [p for p in store.root.rglob("*") if p.name.startswith(".tmp-")]
