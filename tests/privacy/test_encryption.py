"""Encryption at rest, on SQLite and PostgreSQL: nothing personal is stored in plaintext, the
ORM still reads plain values, tokens are bound to their candidate and column, shredding a
data key makes the data unreadable, and the wrong master key is refused before anything is
touched."""

from __future__ import annotations

import base64
import logging
import shutil
import sqlite3
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, event, select

from parley.settings import Settings
from screening.interview import InterviewService
from storage.db import Database
from storage.encryption import (
    KEY_FILE,
    Keyring,
    KeyShredded,
    MasterKey,
    MasterKeyError,
    MasterKeyMismatch,
    TokenError,
    candidate_cipher,
    column_aad,
    hmac_hex,
    is_token,
    seal,
    seal_legacy,
    system_seal,
    system_unseal,
    unseal,
    unseal_row,
)
from storage.models import (
    Answer,
    AnswerScore,
    Application,
    Candidate,
    CandidateKey,
    Contact,
    Correction,
    PrivacyRequest,
)
from storage.repositories import CandidateRepository
from tests.privacy.crypto_support import (
    checkpoint,
    legacy_candidate,
    new_application,
    raw_column,
    raw_dump,
    raw_update,
    sqlite_path,
)
from tests.test_interview_service import TODAY, VALID, Conversation

NAME = "Zelda Quintessa Marchetti"
EMAIL = "zelda.q.marchetti@example.org"
QUOTE = "coordinated forklift rotas across three warehouses"


def _candidate_with_data(db: Database, sender: str = "web:secret") -> tuple[str, str]:
    """A real interview answer through the service, plus a name, a contact and an AI
    explanation quoting the answer. Returns (candidate id, application id)."""
    convo = Conversation(InterviewService(db, today=TODAY), sender)
    convo.begin()
    convo.send(f"{VALID['motivation']} I {QUOTE}.")
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender)
        assert candidate is not None
        candidate.name = NAME
        s.add(Contact(candidate_id=candidate.id, kind="email", value=EMAIL))
        answer = s.scalars(
            select(Answer).join(Application).where(Application.candidate_id == candidate.id)
        ).one()
        s.add(
            AnswerScore(
                answer_id=answer.id,
                application_id=answer.application_id,
                question_id=answer.question_id,
                answer_revision=1,
                status="scored",
                score=0.8,
                explanation={"summary": "good", "evidence": [QUOTE]},
                model_name="m",
                model_version="1",
                scorer_version="t",
            )
        )
        return candidate.id, answer.application_id


def test_raw_dump_holds_no_plaintext_while_the_orm_reads_it(db: Database) -> None:
    cid, app_id = _candidate_with_data(db)
    dump = raw_dump(db)
    for secret in (VALID["motivation"], QUOTE, NAME, EMAIL):
        assert secret.encode() not in dump, secret
    assert b"pk1:" in dump  # the values are there, sealed

    with db.transaction() as s:
        answer = s.scalars(select(Answer).where(Answer.application_id == app_id)).one()
        assert answer.raw_text == f"{VALID['motivation']} I {QUOTE}."
        assert answer.normalized["value"] == answer.raw_text
        assert s.get(Candidate, cid).name == NAME
        assert s.scalars(select(Contact)).one().value == EMAIL
        score = s.scalars(select(AnswerScore).where(AnswerScore.application_id == app_id)).one()
        assert score.explanation["evidence"] == [QUOTE]
        assert not s.dirty  # unsealing on load leaves nothing to write back
    assert is_token(raw_column(db, Answer.raw_text, Answer.application_id == app_id))


def test_objects_stay_plain_and_clean_after_a_flush(db: Database) -> None:
    cid, _ = _candidate_with_data(db, "web:flush")
    with db.transaction() as s:
        contact = Contact(candidate_id=cid, kind="phone", value="+44 7700 900123")
        s.add(contact)
        s.flush()
        assert contact.value == "+44 7700 900123"
        assert contact not in s.dirty
        contact.value = "+44 7700 900456"
        s.flush()
        assert contact.value == "+44 7700 900456"
    with db.transaction() as s:
        assert s.get(Contact, contact.id).value == "+44 7700 900456"
    assert is_token(raw_column(db, Contact.value, Contact.id == contact.id))


def test_json_and_none_values_round_trip(db: Database) -> None:
    cid, _ = _candidate_with_data(db, "web:json")
    detail = {"a": [1, 2.5, None, True], "ü": "naïve ✓", "nested": {"x": ""}}
    with db.transaction() as s:
        req = PrivacyRequest(
            candidate_id=cid, kind="export", status="open", law="gdpr", channel="web",
            due_at=datetime.now(UTC), detail=detail,
        )  # fmt: skip
        none_req = PrivacyRequest(
            candidate_id=cid, kind="export", status="open", law="gdpr", channel="web",
            due_at=datetime.now(UTC), detail=None,
        )  # fmt: skip
        s.add_all([req, none_req])
    with db.transaction() as s:
        assert s.get(PrivacyRequest, req.id).detail == detail
        assert s.get(PrivacyRequest, none_req.id).detail is None


def test_tokens_are_bound_to_candidate_and_column(db: Database) -> None:
    a, _ = _candidate_with_data(db, "web:alice")
    b, _ = _candidate_with_data(db, "web:bob")
    with db.transaction() as s:
        ca = Contact(candidate_id=a, kind="email", value="alice@example.org")
        cb = Contact(candidate_id=b, kind="email", value="bob@example.org")
        fix = Correction(
            candidate_id=a, target="name", old_value="Old Name", new_value="New Name",
            status="applied",
        )  # fmt: skip
        s.add_all([ca, cb, fix])
    token_a = raw_column(db, Contact.value, Contact.id == ca.id)
    token_b = raw_column(db, Contact.value, Contact.id == cb.id)
    raw_update(db, Contact.__table__, Contact.id == ca.id, value=token_b)
    raw_update(db, Contact.__table__, Contact.id == cb.id, value=token_a)
    old = raw_column(db, Correction.old_value, Correction.id == fix.id)
    new = raw_column(db, Correction.new_value, Correction.id == fix.id)
    raw_update(db, Correction.__table__, Correction.id == fix.id, old_value=new, new_value=old)

    with db.transaction() as s:
        # Unreadable values load as None; the query itself does not fail.
        assert s.get(Contact, ca.id).value is None
        assert s.get(Contact, cb.id).value is None
        swapped = s.get(Correction, fix.id)
        assert (swapped.old_value, swapped.new_value) == (None, None)
        cipher = candidate_cipher(s, a)
        with pytest.raises(TokenError):
            unseal(cipher, token_b, column_aad(a, "contacts", "value"))
        assert unseal(cipher, token_a, column_aad(a, "contacts", "value")) == b"alice@example.org"
        with pytest.raises(TokenError):
            unseal(cipher, token_a, column_aad(a, "contacts", "kind"))


def test_tampered_token_loads_as_none(db: Database) -> None:
    cid, _ = _candidate_with_data(db, "web:tamper")
    with db.transaction() as s:
        contact = Contact(candidate_id=cid, kind="email", value="t@example.org")
        s.add(contact)
    token = raw_column(db, Contact.value, Contact.id == contact.id)
    flipped = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    raw_update(db, Contact.__table__, Contact.id == contact.id, value=flipped)
    with db.transaction() as s:
        assert s.get(Contact, contact.id).value is None


def test_crypto_shredding_makes_every_copy_unreadable(db: Database, tmp_path) -> None:
    cid, app_id = _candidate_with_data(db, "web:shred")
    other, _ = _candidate_with_data(db, "web:keep")
    backup = None
    if (path := sqlite_path(db)) is not None:
        checkpoint(db)
        backup = tmp_path / "backup.db"
        shutil.copy(path, backup)
    token = raw_column(db, Answer.raw_text, Answer.application_id == app_id)

    with db.transaction() as s:
        s.execute(delete(CandidateKey).where(CandidateKey.candidate_id == cid))

    with db.transaction() as s:
        # Loading does not crash: the shredded values read as None; others are untouched.
        answer = s.scalars(select(Answer).where(Answer.application_id == app_id)).one()
        assert answer.raw_text is None and answer.normalized is None
        assert s.get(Candidate, cid).name is None
        assert s.get(Candidate, other).name == NAME
        assert candidate_cipher(s, cid) is None
        with pytest.raises(KeyShredded):
            candidate_cipher(s, cid, required=True)

    if backup is not None:
        # The backup holds only tokens; restored into the live database (whose key row is
        # gone) they stay unreadable.
        data = backup.read_bytes()
        assert VALID["motivation"].encode() not in data and NAME.encode() not in data
        with sqlite3.connect(backup) as conn:
            (old_token,) = conn.execute(
                "SELECT raw_text FROM answers WHERE application_id = ?", (app_id,)
            ).fetchone()
        assert old_token == token
    raw_update(db, Answer.__table__, Answer.application_id == app_id, raw_text=token)
    with db.transaction() as s:
        assert (
            s.scalars(select(Answer).where(Answer.application_id == app_id)).one().raw_text is None
        )


def test_shredding_is_not_undone_by_the_process_cache(db: Database) -> None:
    cid, _ = _candidate_with_data(db, "web:cache")
    with db.transaction() as s:  # warm the per-process key cache
        assert s.get(Candidate, cid).name == NAME
    with db.transaction() as s:
        s.execute(delete(CandidateKey).where(CandidateKey.candidate_id == cid))
        # same session, after the delete: nothing is served from a cache
        s.expire_all()
        assert s.get(Candidate, cid).name is None
    with db.transaction() as s:
        assert s.get(Candidate, cid).name is None


def test_wrong_master_key_is_refused_and_nothing_changes(db: Database) -> None:
    _candidate_with_data(db, "web:mismatch")
    db.dispose()
    before = raw_dump(db)
    configured = db.keyring.master
    wrong = MasterKey.generate()
    with pytest.raises(MasterKeyMismatch) as info:
        Database(db.url, Keyring(wrong))
    message = str(info.value)
    assert wrong.key_id in message and configured.key_id in message
    assert "PARLEY_MASTER_KEY" in message and "Nothing was changed" in message
    for material in (wrong.encoded(), configured.encoded()):
        assert material not in message
    assert raw_dump(db) == before
    # The right key still reads everything.
    again = Database(db.url, Keyring(configured))
    with again.transaction() as s:
        assert s.scalars(select(Contact)).one().value == EMAIL
    again.dispose()


def test_a_data_key_row_under_another_master_key_fails_loudly_on_read(db: Database) -> None:
    cid, _ = _candidate_with_data(db, "web:other-master")
    raw_update(db, CandidateKey.__table__, CandidateKey.candidate_id == cid, master_key_id="0" * 16)
    with db.transaction() as s, pytest.raises(MasterKeyMismatch):
        s.get(Candidate, cid)


def test_legacy_plaintext_is_read_and_sealed(db: Database) -> None:
    cid = legacy_candidate(db, "web:legacy", name="Legacy Lena")
    app_id = new_application(db, cid)
    with db.engine.begin() as conn:  # rows written before encryption existed
        for i, qid in enumerate(["q1", "q2"]):
            conn.execute(
                Answer.__table__.insert().values(
                    application_id=app_id, question_id=qid, question_kind="free_text",
                    status="answered", raw_text=f"old answer {i}",
                    normalized={"value": f"old answer {i}"}, knockout=False, channel="web",
                    revision=1, answered_at=datetime.now(UTC),
                )
            )  # fmt: skip
    with db.transaction() as s:
        rows = s.scalars(select(Answer).order_by(Answer.question_id)).all()
        assert [r.raw_text for r in rows] == ["old answer 0", "old answer 1"]
        assert rows[0].normalized == {"value": "old answer 0"}
        assert s.get(Candidate, cid).name == "Legacy Lena"
        rows[0].status = "answered"
        rows[0].revision = 2  # an unrelated change: the legacy values are sealed with it
    assert is_token(raw_column(db, Answer.raw_text, Answer.question_id == "q1"))
    assert not is_token(raw_column(db, Answer.raw_text, Answer.question_id == "q2"))

    assert seal_legacy(db) == 3  # q2's raw_text and normalized, the candidate's name
    assert seal_legacy(db) == 0
    for qid in ("q1", "q2"):
        assert is_token(raw_column(db, Answer.raw_text, Answer.question_id == qid))
    assert is_token(raw_column(db, Candidate.name, Candidate.id == cid))
    with db.transaction() as s:
        rows = s.scalars(select(Answer).order_by(Answer.question_id)).all()
        assert [r.raw_text for r in rows] == ["old answer 0", "old answer 1"]
        assert s.get(Candidate, cid).name == "Legacy Lena"
        assert s.scalar(select(CandidateKey).where(CandidateKey.candidate_id == cid))


def test_concurrent_first_writes_create_exactly_one_data_key(db: Database) -> None:
    cid = legacy_candidate(db, "web:race")  # exists, but has no data key yet
    app_id = new_application(db, cid)
    threads_n = 8
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            with db.transaction() as s:
                s.add(
                    Answer(
                        application_id=app_id, question_id=f"q{i}", question_kind="free_text",
                        status="answered", raw_text=f"answer number {i}",
                        normalized={"value": i}, channel="web",
                    )
                )  # fmt: skip
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with db.transaction() as s:
        keys = s.scalars(select(CandidateKey).where(CandidateKey.candidate_id == cid)).all()
        assert len(keys) == 1
        rows = s.scalars(select(Answer).where(Answer.application_id == app_id)).all()
        assert sorted(r.raw_text for r in rows) == sorted(
            f"answer number {i}" for i in range(threads_n)
        )


def test_new_candidates_get_a_data_key(db: Database) -> None:
    with db.transaction() as s:
        candidate = CandidateRepository(s).get_or_create("web:newbie")
        plain = Candidate(name="Made Directly")  # any creation path gets a key
        s.add(plain)
    with db.transaction() as s:
        ids = set(s.scalars(select(CandidateKey.candidate_id)))
        assert {candidate.id, plain.id} <= ids
        assert s.get(Candidate, plain.id).name == "Made Directly"


def test_reading_answers_costs_one_key_lookup_per_session(db: Database) -> None:
    _cid, app_id = _candidate_with_data(db, "web:perf")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.transaction() as s:
            rows = s.scalars(select(Answer).where(Answer.application_id == app_id)).all()
            assert rows and all(r.raw_text for r in rows)
            s.scalars(select(AnswerScore)).all()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 3  # answers, one application → key lookup, answer_scores


def test_system_key_seals_and_hashes(db: Database) -> None:
    token = system_seal(db, "web:abc,telegram:123", "erasures.sender_ids")
    assert "web:abc" not in token
    assert system_unseal(db, token, "erasures.sender_ids") == "web:abc,telegram:123"
    with pytest.raises(TokenError):
        system_unseal(db, token, "other.context")
    assert hmac_hex(db, "code", "123456") == hmac_hex(db.keyring, "code", "123456")
    assert hmac_hex(db, "code", "123456") != hmac_hex(db, "export-token", "123456")
    assert len(hmac_hex(db, "code", "123456")) == 64
    other = MasterKey.generate()
    assert other.hmac_hex("code", "123456") != hmac_hex(db, "code", "123456")


# --------------------------------------------------------------------------- master key


def test_seal_primitives_use_fresh_nonces() -> None:
    key = bytes(32)
    a, b = seal(key, b"same", b"aad"), seal(key, b"same", b"aad")
    assert a != b and a.startswith("pk1:")
    assert unseal(key, a, b"aad") == b"same"


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("not base64 at all!!", "not valid base64"),
        (base64.b64encode(bytes(16)).decode(), "16 bytes"),
        (base64.b64encode(bytes(64)).decode(), "64 bytes"),
    ],
)
def test_malformed_master_key_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path, value: str, expect: str
) -> None:
    monkeypatch.setenv("PARLEY_MASTER_KEY", value)
    with pytest.raises(MasterKeyError, match=expect) as info:
        MasterKey.from_env()
    assert "PARLEY_MASTER_KEY" in str(info.value)
    if value.strip():
        assert value.strip() not in str(info.value)  # never echo key material
    monkeypatch.setenv("PARLEY_VAR_DIR", str(tmp_path))
    with pytest.raises(MasterKeyError, match=expect):
        MasterKey.load(Settings())
    assert not (tmp_path / KEY_FILE).exists()  # a bad key never falls back to a file


def test_master_key_accepts_urlsafe_and_unpadded_base64(monkeypatch: pytest.MonkeyPatch) -> None:
    key = MasterKey.generate()
    urlsafe = key.encoded().replace("+", "-").replace("/", "_")
    for variant in (key.encoded(), key.encoded().rstrip("="), urlsafe, f"  {key.encoded()}\n"):
        monkeypatch.setenv("PARLEY_MASTER_KEY", variant)
        assert MasterKey.from_env() == key
    assert key.encoded() not in repr(key)


def test_embedded_key_file_is_generated_once_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("PARLEY_MASTER_KEY", raising=False)
    monkeypatch.setenv("PARLEY_VAR_DIR", str(tmp_path / "var"))
    with caplog.at_level(logging.WARNING, logger="storage.encryption"):
        first = MasterKey.load(Settings())
    path = tmp_path / "var" / KEY_FILE
    assert path.is_file() and (path.stat().st_mode & 0o777) == 0o600
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Production must set PARLEY_MASTER_KEY" in warnings[0]
    assert first.encoded() not in warnings[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="storage.encryption"):
        second = MasterKey.from_env()
    assert second == first and second.path == path
    assert not caplog.records
    path.write_text("garbage\n")
    with pytest.raises(MasterKeyError, match=str(path)):
        MasterKey.from_env()


def test_concurrent_key_file_generation_agrees(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    path = tmp_path / "var" / KEY_FILE
    keys: list[MasterKey] = []
    barrier = threading.Barrier(6)

    def load() -> None:
        barrier.wait(timeout=10)
        keys.append(MasterKey.from_key_file(path))

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(keys) == 6 and all(k == keys[0] for k in keys)
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE]


def test_sessions_carry_the_keyring(db: Database) -> None:
    with db.transaction() as s:
        assert s.info["parley.keyring"] is db.keyring
    assert isinstance(db.keyring, Keyring)


def test_core_rows_can_be_unsealed_for_generic_walks(db: Database) -> None:
    cid, app_id = _candidate_with_data(db, "web:core")
    with db.transaction() as s:
        answers = [
            unseal_row(s, "answers", r._mapping)
            for r in s.execute(select(Answer.__table__).where(Answer.application_id == app_id))
        ]
        assert answers[0]["raw_text"].endswith(f"{QUOTE}.")
        (cand,) = [unseal_row(s, "candidates", r._mapping) for r in s.execute(
            select(Candidate.__table__).where(Candidate.id == cid))]  # fmt: skip
        assert cand["name"] == NAME
        assert unseal_row(s, "jobs", {"id": 1, "title": "x"}) == {"id": 1, "title": "x"}
