"""Data export (GDPR art. 20): every table that references the candidate, found by
introspection, plus transcripts and recordings; short-lived download links."""

from __future__ import annotations

import io
import json
import os
import secrets
import stat
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, Table, Text, insert, select

from privacy.export import (
    CandidateNotFound,
    LinkExpired,
    LinkInvalid,
    NotVerified,
    build_archive,
    create_link,
    open_link,
    purge_expired,
    referencing_tables,
    send_link,
    write_export,
)
from privacy.verification import RequestNotFound, check_code, send_code
from storage.db import Database
from storage.files import FileStore
from storage.models import (
    Answer,
    Application,
    Base,
    Candidate,
    ExportArchive,
    Interviewer,
    Organization,
    PrivacyRequest,
)
from tests.privacy.rights_support import (
    any_job_id,
    code_from_outbox,
    open_export,
    outbox_texts,
    person,
    settings_for,
)

WEB = "web:alice-session-0001"
TELEGRAM = "telegram:424242"


def archive_of(data: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        files = {name: zf.read(name) for name in zf.namelist()}
    return json.loads(files["data.json"]), files


# --------------------------------------------------------------------------- introspection
def tables_about_candidates() -> list[Table]:
    """Independently of the code under test: `candidates`, every table with a candidate_id
    column, and every table with a foreign key into one of those — to a fixed point."""
    found = {"candidates"}
    changed = True
    while changed:
        changed = False
        for table in Base.metadata.tables.values():
            if table.name in found:
                continue
            if "candidate_id" in table.c or any(
                fk.column.table.name in found for fk in table.foreign_keys
            ):
                found.add(table.name)
                changed = True
    return [t for t in Base.metadata.sorted_tables if t.name in found]


def _value(column: Any, tag: str) -> Any:
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, Float):
        return 0.5
    if isinstance(kind, DateTime):
        return datetime.now(UTC) + timedelta(days=1)
    if isinstance(kind, JSON):
        return {"tag": tag, "items": [1, 2]}
    if isinstance(kind, String) and kind.length:
        return f"{secrets.token_hex(4)}{tag}"[: kind.length]
    if isinstance(kind, String | Text):
        return f"{secrets.token_hex(4)} {tag}"
    raise AssertionError(f"no test value for {column}")


def fill_every_table(db: Database, candidate_id: str, tag: str) -> dict[str, set[tuple]]:
    """Insert at least one row about the candidate into every table that references
    candidates; returns table name → primary keys of the candidate's rows."""
    classes = {m.local_table.name: m.class_ for m in Base.registry.mappers}
    keys: dict[str, set[tuple]] = {}
    with db.transaction() as s:
        job_id = any_job_id(db)
        org_id = s.scalar(select(Organization.id))
        # Bookings name an interviewer (not a candidate's data: the employer's person).
        interviewer = Interviewer(organization_id=org_id, slug=f"iv-{tag}"[:64], name="Iv",
                                  timezone="UTC", working_hours={"mon": [["09:00", "17:00"]]})
        s.add(interviewer)
        s.flush()
        for table in tables_about_candidates():
            pk_cols = list(table.primary_key.columns)
            existing = []
            if table.name == "candidates":
                existing = [(candidate_id,)]
            elif "candidate_id" in table.c and table.c.candidate_id.primary_key:
                existing = [
                    tuple(r)
                    for r in s.execute(select(*pk_cols).where(table.c.candidate_id == candidate_id))
                ]
            if existing:  # candidates and candidate_keys: created with the candidate
                keys[table.name] = set(existing)
                continue
            values: dict[str, Any] = {}
            for col in table.columns:
                fks = list(col.foreign_keys)
                if fks:
                    target = fks[0].column.table.name
                    if target == "candidates":
                        values[col.name] = candidate_id
                    elif target in keys:
                        values[col.name] = next(iter(keys[target]))[0]
                    elif target == "jobs":
                        values[col.name] = job_id
                    elif target == "organizations":
                        values[col.name] = org_id
                    elif target == "interviewers":
                        values[col.name] = interviewer.id
                    else:
                        raise AssertionError(f"unexpected foreign key {col}")
                elif col.name == "candidate_id":
                    values[col.name] = candidate_id
                elif (
                    col.primary_key and (col.autoincrement is True or col.default is not None)
                ) or (col.primary_key and isinstance(col.type, Integer)):
                    continue
                else:
                    values[col.name] = _value(col, f"{tag}-{table.name}.{col.name}")
            cls = classes.get(table.name)
            if cls is not None:
                mapper = cls.__mapper__
                obj = cls(**{mapper.get_property_by_column(table.c[k]).key: v
                             for k, v in values.items()})  # fmt: skip
                s.add(obj)
                s.flush()
                pk = tuple(mapper.primary_key_from_instance(obj))
            else:
                result = s.execute(insert(table).values(**values))
                pk = tuple(result.inserted_primary_key)
            keys[table.name] = {pk}
    return keys


def test_export_holds_every_table_that_references_the_candidate(db: Database, tmp_path):
    """A table added later is exported without anyone remembering to: both the export and
    this test find the tables by walking `Base.metadata`."""
    tables = tables_about_candidates()
    assert {t.name for t in referencing_tables()} == {t.name for t in tables}
    assert len(tables) >= 15  # sanity: the privacy schema is there
    alice, bob = person(db, WEB), person(db, "web:bob-session-00001")
    alice_keys = fill_every_table(db, alice, "alice")
    bob_keys = fill_every_table(db, bob, "bob")
    data, _files = archive_of(build_archive(db, FileStore(tmp_path / "files", db), alice))
    assert data["candidate_id"] == alice
    for table in tables:
        assert table.name in data["tables"], table.name
        rows = data["tables"][table.name]
        pk_names = [c.name for c in table.primary_key.columns]
        exported = {tuple(row[n] for n in pk_names) for row in rows}
        assert alice_keys[table.name] <= exported, table.name
        assert not (bob_keys[table.name] & exported), f"{table.name} leaks the other candidate"
        for row in rows:
            assert "bob" not in json.dumps(row), table.name
    # Sealed values are decrypted; the three secrets are not there.
    text = json.dumps(data)
    assert "alice-answers.raw_text" in text and "alice-contacts.value" in text
    for secret in ("wrapped_key", "code_hash", "token_hash"):
        assert all(secret not in row for rows in data["tables"].values() for row in rows)
    assert set(data["excluded_columns"]) == {
        "candidate_keys.wrapped_key",
        "privacy_requests.code_hash",
        "export_archives.token_hash",
        "channel_link_codes.code_hash",
        "self_id_keys.wrapped_key",
    }


def test_export_of_a_candidate_with_no_data(db: Database, tmp_path) -> None:
    cid = person(db, WEB)
    data, files = archive_of(build_archive(db, FileStore(tmp_path / "files", db), cid))
    assert set(files) == {"README.txt", "data.json"}
    assert "article 20" in files["README.txt"].decode()
    assert [r["id"] for r in data["tables"]["candidates"]] == [cid]
    assert [r["sender_id"] for r in data["tables"]["channel_identities"]] == [WEB]
    assert data["tables"]["answers"] == [] and data["tables"]["applications"] == []
    assert data["jobs"] == []
    datetime.fromisoformat(data["generated_at"])
    datetime.fromisoformat(data["tables"]["candidates"][0]["created_at"])


def test_unknown_candidate(db: Database, tmp_path) -> None:
    with pytest.raises(CandidateNotFound):
        build_archive(db, FileStore(tmp_path / "files", db), "0" * 32)


def test_answers_transcripts_recordings_and_questions(db: Database, tmp_path) -> None:
    files = FileStore(tmp_path / "files", db)
    cid = person(db, WEB)
    job_id = any_job_id(db, "test-role")
    with db.transaction() as s:
        app = Application(candidate_id=cid, job_id=job_id, status="completed")
        s.add(app)
        s.flush()
        s.add(Answer(application_id=app.id, question_id="motivation", question_kind="free_text",
                     status="answered", raw_text="I love teamwork ünd growth", channel="web",
                     normalized={"value": "I love teamwork ünd growth"}))  # fmt: skip
        app_id = app.id
    with db.transaction() as s:
        answer = s.scalar(select(Answer).where(Answer.application_id == app_id))
        answer_id = answer.id
    audio = files.write(cid, f"recordings/{answer_id}.wav", b"RIFF\x00fake-audio")
    transcript = files.write(cid, f"transcripts/{answer_id}.txt", b"Spoken words")
    files.write(cid, "exports/old.zip", b"an earlier archive")
    with db.transaction() as s:
        answer = s.get(Answer, answer_id)
        answer.audio_ref, answer.transcript_ref = audio, transcript
    data, out = archive_of(build_archive(db, files, cid))
    assert out[f"recordings/{answer_id}.wav"] == b"RIFF\x00fake-audio"
    text = out[f"transcripts/{app_id}/motivation.txt"].decode()
    assert "Why do you want this job?" in text and "Spoken words" in text
    assert not any(name.startswith("exports") or "old.zip" in name for name in out)
    (job,) = data["jobs"]
    assert job["slug"] == "test-role"
    prompts = {q["id"]: q["prompt"] for q in job["questions"]}
    assert prompts["motivation"] == "Why do you want this job?"
    (row,) = data["tables"]["answers"]
    assert row["raw_text"] == "I love teamwork ünd growth"
    assert row["normalized"] == {"value": "I love teamwork ünd growth"}


def test_write_export_for_the_admin_cli(db: Database, tmp_path) -> None:
    cid = person(db, WEB)
    out = write_export(db, FileStore(tmp_path / "files", db), cid, tmp_path / "out" / "a.zip")
    assert out == tmp_path / "out" / "a.zip"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    data, _ = archive_of(out.read_bytes())
    assert data["candidate_id"] == cid
    assert [p.name for p in out.parent.iterdir()] == ["a.zip"]  # no temporary leftovers


# --------------------------------------------------------------------------- links
def verified_request(db: Database, tmp_path, sender: str = WEB, other: str = TELEGRAM) -> str:
    request_id = open_export(db, sender)
    assert send_code(db, settings_for(tmp_path), request_id, sender) is not None
    assert check_code(db, request_id, code_from_outbox(db, other), sender_id=sender).status == "ok"
    return request_id


def token_of(url: str) -> str:
    assert url.startswith("https://parley.example/export/")
    return url.rsplit("/", 1)[1]


def test_link_downloads_the_archive_and_stores_only_a_hash(db: Database, tmp_path) -> None:
    files = FileStore(tmp_path / "files", db)
    cid = person(db, WEB, TELEGRAM)
    request_id = verified_request(db, tmp_path)
    url = create_link(db, files, settings_for(tmp_path), cid, request_id)
    token = token_of(url)
    assert len(token) == 43  # token_urlsafe(32): 256 random bits
    data, _ = archive_of(open_link(db, files, token))
    assert data["candidate_id"] == cid
    archive_of(open_link(db, files, token))  # may be downloaded again until it expires
    with db.transaction() as s:
        row = s.scalar(select(ExportArchive).where(ExportArchive.candidate_id == cid))
        assert row.downloads == 2 and row.request_id == request_id
        assert token not in json.dumps({c.name: str(getattr(row, c.key, "")) for c in
                                        ExportArchive.__table__.columns})  # fmt: skip
        assert len(row.token_hash) == 64 and row.path.startswith(f"{cid}/exports/")
        request = s.get(PrivacyRequest, request_id)
        assert request.status == "completed" and request.detail["archive_id"] == row.id
    # The stored archive is encrypted (not a readable ZIP on disk).
    on_disk = (tmp_path / "files" / row.path).read_bytes()
    assert not zipfile.is_zipfile(io.BytesIO(on_disk))
    assert b"data.json" not in on_disk and cid.encode() not in on_disk


def test_random_and_malformed_tokens_are_invalid(db: Database, tmp_path) -> None:
    files = FileStore(tmp_path / "files", db)
    cid = person(db, WEB, TELEGRAM)
    create_link(db, files, settings_for(tmp_path), cid, verified_request(db, tmp_path))
    for _ in range(50):
        with pytest.raises(LinkInvalid):
            open_link(db, files, secrets.token_urlsafe(32))
    for bad in ("", "x", "../../etc/passwd", "a" * 42, "a" * 44, "a" * 10_000, "é" * 43,
                "%2e%2e", "A" * 42 + "="):  # fmt: skip
        with pytest.raises(LinkInvalid):
            open_link(db, files, bad)


def test_link_expires_and_the_archive_is_deleted(db: Database, tmp_path) -> None:
    files = FileStore(tmp_path / "files", db)
    cid = person(db, WEB, TELEGRAM)
    token = token_of(create_link(db, files, settings_for(tmp_path), cid, None))
    with db.transaction() as s:
        row = s.scalar(select(ExportArchive).where(ExportArchive.candidate_id == cid))
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        path = row.path
    assert files.refs_for(cid) == [path]
    with pytest.raises(LinkExpired):
        open_link(db, files, token)
    assert files.refs_for(cid) == []
    with pytest.raises(LinkExpired):
        open_link(db, files, token)  # still "expired", not "unknown"


def test_link_lifetime_follows_the_setting(db: Database, tmp_path) -> None:
    files = FileStore(tmp_path / "files", db)
    cid = person(db, WEB)
    create_link(db, files, settings_for(tmp_path, export_link_minutes=5), cid, None)
    with db.transaction() as s:
        row = s.scalar(select(ExportArchive).where(ExportArchive.candidate_id == cid))
        expires = row.expires_at.replace(tzinfo=row.expires_at.tzinfo or UTC)
    assert timedelta(minutes=4) < expires - datetime.now(UTC) <= timedelta(minutes=5)


def test_purge_expired_deletes_old_archives(db: Database, tmp_path) -> None:
    files = FileStore(tmp_path / "files", db)
    cid = person(db, WEB)
    create_link(db, files, settings_for(tmp_path), cid, None)
    assert purge_expired(db, files) == 0
    assert purge_expired(db, files, now=datetime.now(UTC) + timedelta(hours=1)) == 1
    assert files.refs_for(cid) == []


def test_a_new_link_replaces_the_old_one(db: Database, tmp_path) -> None:
    files = FileStore(tmp_path / "files", db)
    cid = person(db, WEB)
    first = token_of(create_link(db, files, settings_for(tmp_path), cid, None))
    second = token_of(create_link(db, files, settings_for(tmp_path), cid, None))
    with pytest.raises(LinkExpired):
        open_link(db, files, first)
    archive_of(open_link(db, files, second))
    assert len(files.refs_for(cid)) == 1


def test_a_link_needs_the_candidates_own_verified_request(db: Database, tmp_path) -> None:
    files = FileStore(tmp_path / "files", db)
    alice = person(db, WEB, TELEGRAM)
    mallory = person(db, "web:mallory-session-01", "telegram:666")
    unverified = open_export(db, WEB)
    with pytest.raises(NotVerified):
        create_link(db, files, settings_for(tmp_path), alice, unverified)
    verified = verified_request(db, tmp_path)
    # Mallory's candidate id with Alice's verified request: refused.
    with pytest.raises(RequestNotFound):
        create_link(db, files, settings_for(tmp_path), mallory, verified)
    # Mallory's own verified request cannot produce Alice's archive either.
    mallory_request = verified_request(db, tmp_path, "web:mallory-session-01", "telegram:666")
    url = create_link(db, files, settings_for(tmp_path), mallory, mallory_request)
    data, _ = archive_of(open_link(db, files, token_of(url)))
    assert data["candidate_id"] == mallory and alice not in json.dumps(data)
    assert files.refs_for(alice) == []
    # A completed request cannot be used twice.
    create_link(db, files, settings_for(tmp_path), alice, verified)
    with pytest.raises(NotVerified):
        create_link(db, files, settings_for(tmp_path), alice, verified)


def test_erased_candidate_link_is_expired(db: Database, tmp_path) -> None:
    files = FileStore(tmp_path / "files", db)
    cid = person(db, WEB)
    token = token_of(create_link(db, files, settings_for(tmp_path), cid, None))
    with db.transaction() as s:
        s.get(Candidate, cid).erased_at = datetime.now(UTC)
    with pytest.raises(LinkExpired):
        open_link(db, files, token)
    assert files.refs_for(cid) == []


def test_send_link_delivers_through_the_outbox_not_the_reply(db: Database, tmp_path) -> None:
    files = FileStore(tmp_path / "files", db)
    cid = person(db, WEB, TELEGRAM)
    request_id = verified_request(db, tmp_path)
    reply = send_link(db, files, settings_for(tmp_path), cid, request_id, WEB)
    assert "export/" not in reply and "30 minutes" in reply
    (message,) = outbox_texts(db, WEB)
    url = message.split()[message.split().index("ready:") + 1]
    archive_of(open_link(db, files, token_of(url)))
