"""Voluntary self-identification storage (fairness/self_id.py), on SQLite and PostgreSQL.

What must hold: the values are sealed under the candidate's own self-ID key (the database
holds tokens; the candidate's data key cannot open them), only category values are stored,
the export shows them in plain words, erasure and the purge remove row and key, a master key
rotation keeps them readable, and concurrent first answers create one row and one key.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fairness import self_id
from fairness.categories import DECLINED, RACE_ETHNICITY, SEX, UNKNOWN
from privacy import export
from privacy.erasure import erase_candidate
from privacy.keys import generate_master_key, rotate_master_key
from privacy.purge import references, run_purge
from storage.db import Database
from storage.encryption import (
    Keyring,
    TokenError,
    candidate_cipher,
    column_aad,
    is_token,
    keyring_of,
    unseal,
)
from storage.files import FileStore
from storage.models import SelfIdentification, SelfIdKey
from tests.erasure_support import db_raw_hits, make_settings, seed_person
from tests.privacy.crypto_support import raw_column, raw_dump, raw_update


def _count(db: Database, model: type) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def files(db: Database, tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files", db)


def _person(db: Database, files: FileStore, tag: str = "") -> str:
    return seed_person(db, files, tag=tag).candidate_id


def test_values_are_sealed_and_read_back(db: Database, files: FileStore) -> None:
    cid = _person(db, files)
    with db.transaction() as s:
        self_id.save(s, cid, sex="female", race="native_hawaiian_pacific_islander")
    sex_token = raw_column(db, SelfIdentification.sex, SelfIdentification.candidate_id == cid)
    race_token = raw_column(
        db, SelfIdentification.race_ethnicity, SelfIdentification.candidate_id == cid
    )
    assert is_token(sex_token) and is_token(race_token)
    dump = raw_dump(db)
    assert b"native_hawaiian_pacific_islander" not in dump
    assert b"Native Hawaiian" not in dump
    with db.transaction() as s:
        assert self_id.read(s, cid) == ("female", "native_hawaiian_pacific_islander")
        # The ORM does not open them: a loaded row holds the tokens.
        row = s.get(SelfIdentification, cid)
        assert row is not None and is_token(row.sex) and is_token(row.race_ethnicity)
    assert _count(db, SelfIdKey) == 1


def test_the_candidate_data_key_cannot_open_them(db: Database, files: FileStore) -> None:
    cid = _person(db, files)
    with db.transaction() as s:
        self_id.save(s, cid, sex="male", race=DECLINED)
    token = raw_column(db, SelfIdentification.sex, SelfIdentification.candidate_id == cid)
    with db.transaction() as s:
        data_key = candidate_cipher(s, cid, required=True)
        aad = column_aad(cid, "self_identifications", "sex")
        with pytest.raises(TokenError):
            unseal(data_key, token, aad)
        # Nor can the master key unwrap the self-ID key as if it were a data key.
        wrapped = s.scalar(select(SelfIdKey.wrapped_key).where(SelfIdKey.candidate_id == cid))
        with pytest.raises(TokenError):
            keyring_of(s).master.unwrap(wrapped, cid)
        assert keyring_of(s).master.unwrap(wrapped, self_id.key_context(cid))


def test_a_token_moved_to_another_candidate_or_column_does_not_open(
    db: Database, files: FileStore
) -> None:
    alice, bob = _person(db, files, "a"), _person(db, files, "b")
    with db.transaction() as s:
        self_id.save(s, alice, sex="female", race="asian")
        self_id.save(s, bob, sex="male", race="white")
    alice_sex = raw_column(db, SelfIdentification.sex, SelfIdentification.candidate_id == alice)
    table = SelfIdentification.__table__
    raw_update(db, table, SelfIdentification.candidate_id == bob, sex=alice_sex)
    raw_update(db, table, SelfIdentification.candidate_id == alice, race_ethnicity=alice_sex)
    with db.transaction() as s:
        assert self_id.read(s, bob) == (None, "white")
        assert self_id.read(s, alice) == ("female", None)


@pytest.mark.parametrize(
    ("sex", "race"),
    [
        ("Female", ...),  # a label, not the stored value
        ("other", ...),
        ("", ...),
        ("x" * 10_000, ...),
        (..., "female"),
        (..., "white\x00"),
        (..., "<script>alert(1)</script>"),
        ("unknown", ...),  # the audit's grouping, not something a person answers
    ],
)
def test_only_category_values_are_stored(
    db: Database, files: FileStore, sex: object, race: object
) -> None:
    cid = _person(db, files)
    with db.transaction() as s:
        self_id.save(s, cid, sex="male")
    with pytest.raises(self_id.InvalidValue), db.transaction() as s:
        self_id.save(s, cid, sex=sex, race=race)  # type: ignore[arg-type]
    with db.transaction() as s:
        assert self_id.read(s, cid) == ("male", None)


def test_keep_clear_and_overwrite(db: Database, files: FileStore) -> None:
    cid = _person(db, files)
    with db.transaction() as s:
        self_id.save(s, cid, sex="female")
        self_id.save(s, cid, race="two_or_more")  # sex kept
        assert self_id.read(s, cid) == ("female", "two_or_more")
        self_id.save(s, cid, sex=None)
        assert self_id.read(s, cid) == (None, "two_or_more")
        self_id.save(s, cid, sex=DECLINED, race="black")
        assert self_id.read(s, cid) == (DECLINED, "black")
    assert _count(db, SelfIdentification) == 1 and _count(db, SelfIdKey) == 1


def test_delete_removes_row_and_key(db: Database, files: FileStore) -> None:
    cid, other = _person(db, files, "a"), _person(db, files, "b")
    with db.transaction() as s:
        self_id.save(s, cid, sex="female", race="white")
        self_id.save(s, other, sex="male", race="asian")
    token = raw_column(db, SelfIdentification.sex, SelfIdentification.candidate_id == cid)
    with db.transaction() as s:
        assert self_id.delete(s, cid) is True
    with db.transaction() as s:
        assert self_id.delete(s, cid) is False  # twice: nothing left, no error
        assert self_id.read(s, cid) == (None, None)
        assert self_id.read(s, other) == ("male", "asian")
        assert s.get(SelfIdKey, cid) is None and s.get(SelfIdentification, cid) is None
    assert not db_raw_hits(db, [token])


def test_a_shredded_key_reads_as_nothing(db: Database, files: FileStore) -> None:
    cid = _person(db, files)
    with db.transaction() as s:
        self_id.save(s, cid, sex="female", race="white")
    with db.engine.begin() as conn:
        conn.execute(SelfIdKey.__table__.delete())
    with db.transaction() as s:
        assert self_id.read(s, cid) == (None, None)
        assert self_id.for_audit(s, [cid]) == {cid: (UNKNOWN, UNKNOWN)}


def test_for_audit_maps_declined_and_missing_to_unknown(db: Database, files: FileStore) -> None:
    ids = [_person(db, files, str(i)) for i in range(5)]
    with db.transaction() as s:
        self_id.save(s, ids[0], sex="female", race="hispanic_latino")
        self_id.save(s, ids[1], sex=DECLINED, race="asian")
        self_id.save(s, ids[2], sex="male")  # race not answered
        self_id.set_step(s, ids[3], "sex|abc")  # started, answered nothing
        # ids[4]: never asked
    with db.transaction() as s:
        groups = self_id.for_audit(s, [*ids, ids[0], "no-such-candidate"])
    assert groups == {
        ids[0]: ("female", "hispanic_latino"),
        ids[1]: (UNKNOWN, "asian"),
        ids[2]: ("male", UNKNOWN),
        ids[3]: (UNKNOWN, UNKNOWN),
        ids[4]: (UNKNOWN, UNKNOWN),
        "no-such-candidate": (UNKNOWN, UNKNOWN),
    }
    with db.transaction() as s:
        assert self_id.for_audit(s, []) == {}


def test_for_audit_in_batches(db: Database, files: FileStore) -> None:
    ids = [_person(db, files, f"p{i}") for i in range(3)]
    with db.transaction() as s:
        for i, cid in enumerate(ids):
            self_id.save(s, cid, sex=SEX[i % 2], race=RACE_ETHNICITY[i])
    original = self_id._BATCH
    self_id._BATCH = 2  # more ids than one batch holds
    try:
        with db.transaction() as s:
            groups = self_id.for_audit(s, ids)
    finally:
        self_id._BATCH = original
    assert groups == {cid: (SEX[i % 2], RACE_ETHNICITY[i]) for i, cid in enumerate(ids)}


def test_export_shows_the_values_in_plain_words(db: Database, files: FileStore) -> None:
    cid = _person(db, files)
    with db.transaction() as s:
        self_id.save(s, cid, sex=DECLINED, race="american_indian_alaska_native")
    archive = zipfile.ZipFile(io.BytesIO(export.build_archive(db, files, cid)))
    data = json.loads(archive.read("data.json"))
    rows = data["tables"]["self_identifications"]
    assert len(rows) == 1
    assert rows[0]["sex"] == "Prefer not to say"
    assert rows[0]["race_ethnicity"] == "American Indian or Alaska Native"
    keys = data["tables"]["self_id_keys"]
    assert len(keys) == 1 and "wrapped_key" not in keys[0]
    assert "self_id_keys.wrapped_key" in data["excluded_columns"]
    assert "pk1:" not in json.dumps(rows)


def test_export_without_self_identification(db: Database, files: FileStore) -> None:
    cid = _person(db, files)
    data = json.loads(
        zipfile.ZipFile(io.BytesIO(export.build_archive(db, files, cid))).read("data.json")
    )
    assert data["tables"]["self_identifications"] == []
    assert data["tables"]["self_id_keys"] == []


def test_erasure_and_purge_remove_row_and_key(
    db: Database, files: FileStore, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, db)
    person = seed_person(db, files, tag="gone")
    other = seed_person(db, files, tag="kept")
    with db.transaction() as s:
        self_id.save(s, person.candidate_id, sex="female", race="black")
        self_id.save(s, other.candidate_id, sex="male", race="white")
    token = raw_column(
        db, SelfIdentification.sex, SelfIdentification.candidate_id == person.candidate_id
    )
    result = erase_candidate(db, settings, person.candidate_id)
    report = run_purge(
        db,
        settings,
        files,
        now=datetime.now(UTC) + timedelta(days=400),
        erasure_ids=[result.erasure_id],
    )
    assert report.purged == 1, report.to_dict()
    with db.transaction() as s:
        assert references(s, person.candidate_id) == {}
        assert s.get(SelfIdentification, person.candidate_id) is None
        assert s.get(SelfIdKey, person.candidate_id) is None
        assert self_id.read(s, other.candidate_id) == ("male", "white")
    assert not db_raw_hits(db, [token, person.candidate_id])


def test_erasure_removes_the_self_identification_at_once_unless_held(
    db: Database, files: FileStore, tmp_path: Path
) -> None:
    """"Delete everything" takes the self-ID (row and key) out at once, not at the purge; a
    legal hold keeps it with everything else (it may be evidence in a discrimination case)."""
    from privacy.holds import place_hold

    settings = make_settings(tmp_path, db)
    gone = seed_person(db, files, tag="now")
    held = seed_person(db, files, tag="held")
    with db.transaction() as s:
        self_id.save(s, gone.candidate_id, sex="female", race="asian")
        self_id.save(s, held.candidate_id, sex="male", race="white")
    place_hold(db, held.candidate_id, "discrimination claim 2026-17", "admin:legal")
    erase_candidate(db, settings, gone.candidate_id)
    erase_candidate(db, settings, held.candidate_id)
    with db.transaction() as s:
        assert s.get(SelfIdentification, gone.candidate_id) is None
        assert s.get(SelfIdKey, gone.candidate_id) is None
        assert self_id.read(s, held.candidate_id) == ("male", "white")


def test_rotation_rewraps_the_self_id_keys(db: Database, files: FileStore) -> None:
    ids = [_person(db, files, str(i)) for i in range(2)]
    with db.transaction() as s:
        self_id.save(s, ids[0], sex="female", race="asian")
        self_id.save(s, ids[1], sex=DECLINED)
    tokens_before = {
        cid: raw_column(db, SelfIdentification.sex, SelfIdentification.candidate_id == cid)
        for cid in ids
    }
    old = db.keyring.master
    new = generate_master_key()
    count = rotate_master_key(db, new)
    assert count == 4  # two data keys and two self-ID keys
    with db.transaction() as s:
        rows = list(s.scalars(select(SelfIdKey)))
        assert {r.master_key_id for r in rows} == {new.key_id}
        assert all(r.rotated_at is not None for r in rows)
        assert self_id.read(s, ids[0]) == ("female", "asian")
        assert self_id.read(s, ids[1]) == (DECLINED, None)
        for row in rows:  # the old master key no longer unwraps them
            with pytest.raises(TokenError):
                old.unwrap(row.wrapped_key, self_id.key_context(row.candidate_id))
    # A process starting with the new key finds nothing wrapped by another master key.
    Keyring(new).verify(db.engine)
    for cid in ids:  # the sealed values themselves did not change
        assert tokens_before[cid] == raw_column(
            db, SelfIdentification.sex, SelfIdentification.candidate_id == cid
        )


def test_rotation_with_a_foreign_self_id_key_changes_nothing(
    db: Database, files: FileStore
) -> None:
    cid = _person(db, files)
    with db.transaction() as s:
        self_id.save(s, cid, sex="female")
    raw_update(db, SelfIdKey.__table__, SelfIdKey.candidate_id == cid, wrapped_key="AAAA" * 20)
    before = db.keyring.master.key_id
    from storage.encryption import MasterKeyMismatch

    with pytest.raises(MasterKeyMismatch):
        rotate_master_key(db, generate_master_key())
    assert db.keyring.master.key_id == before
    with db.transaction() as s:
        assert {r.master_key_id for r in s.scalars(select(SelfIdKey))} == {before}


def test_two_first_answers_at_once_make_one_row_and_one_key(db: Database, files: FileStore) -> None:
    cid = _person(db, files)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def answer(i: int) -> None:
        try:
            barrier.wait()
            with db.transaction() as s:
                if i % 2:
                    self_id.save(s, cid, sex=SEX[i % 2])
                else:
                    self_id.save(s, cid, race=RACE_ETHNICITY[i])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _count(db, SelfIdentification) == 1 and _count(db, SelfIdKey) == 1
    with db.transaction() as s:
        sex, race = self_id.read(s, cid)
    assert sex == "male" and race in (RACE_ETHNICITY[0], RACE_ETHNICITY[2])


def test_a_stale_step_is_cleared(db: Database, files: FileStore) -> None:
    cid = _person(db, files)
    with db.transaction() as s:
        self_id.set_step(s, cid, "sex|abc")
        assert self_id.pending_step(s, cid) == "sex|abc"
    later = datetime.now(UTC) + self_id.STEP_TTL + timedelta(minutes=1)
    with db.transaction() as s:
        assert self_id.pending_step(s, cid, now=later) is None
    with db.transaction() as s:
        assert s.get(SelfIdentification, cid).step is None  # type: ignore[union-attr]
        with pytest.raises(ValueError):
            self_id.set_step(s, cid, "x" * 21)


def test_export_survives_a_self_id_key_that_does_not_open(db: Database, files: FileStore) -> None:
    cid = _person(db, files)
    with db.transaction() as s:
        self_id.save(s, cid, sex="female", race="white")
    raw_update(db, SelfIdKey.__table__, SelfIdKey.candidate_id == cid, master_key_id="0" * 16)
    data = json.loads(
        zipfile.ZipFile(io.BytesIO(export.build_archive(db, files, cid))).read("data.json")
    )
    row = data["tables"]["self_identifications"][0]
    assert row["sex"] is None and row["race_ethnicity"] is None
    assert data["tables"]["candidates"][0]["id"] == cid  # the rest is exported
