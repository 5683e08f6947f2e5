"""`parley privacy …` on both backends: references, delete (--now), holds, export, purge,
requests, and the commands' handling of bad input."""

from __future__ import annotations

import getpass
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from parley.cli import app
from storage.db import Database
from storage.files import FileStore
from storage.models import AccessLogEntry, Candidate, Erasure, PrivacyRequest
from tests.erasure_support import Person, make_settings, seed_person

runner = CliRunner()


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = make_settings(tmp_path, db)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("PARLEY_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("PARLEY_TRACKER_URL", settings.tracker_url)
    monkeypatch.setenv("PARLEY_PROFILE", "embedded")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return settings.var_dir


@pytest.fixture
def person(db: Database, env: Path) -> Person:
    return seed_person(db, FileStore(env / "files", db))


MALFORMED = ["", "   ", "x" * 201, "web:a\x00b", "web:ab\nc", "web:abc'; DROP TABLE candidates;--",
             "a b", "web:\u202eabc", "%", "' OR 1=1 --"]  # fmt: skip


def test_malformed_references_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused before the database is touched (so one backend is enough)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PARLEY_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    commands = [["delete"], ["hold", "--reason", "r"], ["release", "--reason", "r"],
                ["export", "--out", "x.zip"]]  # fmt: skip
    for ref in MALFORMED:
        for command in commands:
            result = runner.invoke(app, ["privacy", command[0], ref, *command[1:]])
            assert result.exit_code == 2, (ref, command, result.output)
            assert "candidate" in result.output.lower()
    assert not (tmp_path / "x.zip").exists()


def test_unknown_candidate_exits_1(env: Path) -> None:
    for args in (["delete", "web:nobody"], ["hold", "f" * 32, "--reason", "x"],
                 ["export", "telegram:1", "--out", "x.zip"]):  # fmt: skip
        result = runner.invoke(app, ["privacy", *args])
        assert result.exit_code == 1, result.output
        assert "no such candidate" in result.output


def test_delete_is_scheduled_then_repeated_then_now(db: Database, person: Person) -> None:
    first = runner.invoke(app, ["privacy", "delete", person.senders[1]])
    assert first.exit_code == 0, first.output
    assert "out of use" in first.output and "purge due" in first.output
    again = runner.invoke(app, ["privacy", "delete", person.candidate_id])
    assert again.exit_code == 0 and "Already scheduled" in again.output
    with db.transaction() as s:
        assert len(list(s.scalars(select(Erasure)))) == 1
        kinds = [r.kind for r in s.scalars(select(PrivacyRequest).where(
            PrivacyRequest.channel == "admin"))]  # fmt: skip
        assert kinds == ["erasure"]
    now = runner.invoke(app, ["privacy", "delete", person.senders[0], "--now"])
    assert now.exit_code == 0, now.output
    assert "Purged" in now.output
    with db.transaction() as s:
        assert s.get(Candidate, person.candidate_id) is None
        tomb = s.scalar(select(Erasure))
        assert tomb is not None and tomb.status == "purged" and tomb.reason == "admin"
    gone = runner.invoke(app, ["privacy", "delete", person.senders[0]])
    assert gone.exit_code == 1 and "no such candidate" in gone.output


def test_hold_blocks_delete_now_until_released(db: Database, person: Person) -> None:
    assert runner.invoke(app, ["privacy", "hold", person.senders[0]]).exit_code == 2  # no reason
    blank = runner.invoke(app, ["privacy", "hold", person.senders[0], "--reason", "  "])
    assert blank.exit_code == 2 and "reason" in blank.output
    held = runner.invoke(app, ["privacy", "hold", person.senders[0], "--reason", "Court order 7"])
    assert held.exit_code == 0, held.output
    result = runner.invoke(app, ["privacy", "delete", person.senders[0], "--now"])
    assert result.exit_code == 0 and "legal hold" in result.output
    with db.transaction() as s:
        assert s.get(Candidate, person.candidate_id) is not None
    release = runner.invoke(app, ["privacy", "release", person.candidate_id, "--reason", "over"])
    assert release.exit_code == 0, release.output
    again = runner.invoke(app, ["privacy", "release", person.candidate_id, "--reason", "over"])
    assert again.exit_code == 1 and "no active legal hold" in again.output
    purge = runner.invoke(app, ["privacy", "delete", person.candidate_id, "--now"])
    assert purge.exit_code == 0 and "Purged" in purge.output, purge.output
    with db.transaction() as s:
        assert s.get(Candidate, person.candidate_id) is None


def test_export_writes_the_archive_and_the_access_log(
    db: Database, person: Person, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "export.zip"
    result = runner.invoke(
        app, ["privacy", "export", person.senders[0], "--out", str(out), "--reason", "DSAR 12"]
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        data = json.loads(archive.read("data.json"))
    assert person.name in json.dumps(data, ensure_ascii=False)
    with db.transaction() as s:
        entry = s.scalar(select(AccessLogEntry).where(AccessLogEntry.actor_kind == "admin"))
        assert entry is not None
        assert entry.actor == f"admin:{getpass.getuser()}" and entry.purpose == "DSAR 12"
        assert entry.candidate_id == person.candidate_id and entry.action == "export"


def test_purge_and_requests_json(db: Database, person: Person) -> None:
    with db.transaction() as s:
        for days in (-3, 20):
            s.add(PrivacyRequest(
                candidate_id=person.candidate_id, kind="export", status="open", law="gdpr",
                channel="web", due_at=datetime.now(UTC) + timedelta(days=days),
            ))  # fmt: skip
    listed = runner.invoke(app, ["privacy", "requests", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [r["overdue"] for r in rows] == [True, False]
    text = runner.invoke(app, ["privacy", "requests"]).output
    assert text.startswith("OVERDUE")
    everything = json.loads(runner.invoke(app, ["privacy", "requests", "--json", "--all"]).output)
    assert len(everything) == 3  # the completed access request too
    purge = runner.invoke(app, ["privacy", "purge", "--json"])
    assert purge.exit_code == 0, purge.output
    report = json.loads(purge.output)
    assert report["purged"] == 0 and report["failed"] == []


def test_rotate_key_and_notice_input_errors(env: Path) -> None:
    neither = runner.invoke(app, ["privacy", "rotate-key"])
    assert neither.exit_code == 2 and "exactly one" in neither.output
    bad_file = env / "bad.key"
    bad_file.write_text("not a key")
    bad = runner.invoke(app, ["privacy", "rotate-key", "--new-key-file", str(bad_file)])
    assert bad.exit_code == 2, bad.output
    date = runner.invoke(app, ["privacy", "notice", "publish", "v9", "--effective", "soon"])
    assert date.exit_code == 2 and "YYYY-MM-DD" in date.output
    ok = runner.invoke(app, ["privacy", "notice", "publish", "v9", "--effective", "2026-01-01",
                             "--summary", "Clearer wording"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    dup = runner.invoke(app, ["privacy", "notice", "publish", "v9", "--effective", "2026-01-01"])
    assert dup.exit_code == 2 and "already published" in dup.output


def test_seal_legacy_runs(env: Path) -> None:
    result = runner.invoke(app, ["privacy", "seal-legacy"])
    assert result.exit_code == 0 and "Sealed" in result.output


def test_worker_runs_one_purge(db: Database, person: Person) -> None:
    assert runner.invoke(app, ["privacy", "delete", person.senders[0]]).exit_code == 0
    with db.transaction() as s:
        erasure = s.scalar(select(Erasure))
        assert erasure is not None
        erasure.due_at = datetime.now(UTC) - timedelta(minutes=1)
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    with db.transaction() as s:
        assert s.get(Candidate, person.candidate_id) is None


def test_worker_is_part_of_the_stack_and_ready_once_running(tmp_path: Path) -> None:
    import sys

    from parley.settings import Settings
    from parley.stack import build_supervisor
    from parley.supervisor import Process, Supervisor

    settings = Settings(var_dir=tmp_path / "var")
    names = [p.name for p in build_supervisor(settings).processes]
    assert names[-1] == "worker"
    worker = next(p for p in build_supervisor(settings).processes if p.name == "worker")
    assert worker.argv[-1] == "worker" and worker.health_url == ""
    sleeper = Process("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"], "")
    sup = Supervisor(settings, [sleeper], tmp_path / "log")
    try:
        sup.start(timeout_s=10, echo=lambda _m: None)  # ready without an HTTP endpoint
        assert not sup.exited()
    finally:
        sup.stop()


def test_reviews_list_and_resolve_unblock_automated_rejection(db: Database, person: Person) -> None:
    from privacy.reviews import DECISION_REVIEW, may_reject_automatically, open_review
    from storage.models import Application, HumanReview

    statement = "I <b>do</b> have the permit'; DROP TABLE x;--"
    with db.transaction() as s:
        review = open_review(s, person.candidate_id, DECISION_REVIEW, statement=statement)
        review_id = review.id
    listed = runner.invoke(app, ["privacy", "reviews", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert review_id in [r["id"] for r in rows] and all("statement" not in r for r in rows)
    others = [r["id"] for r in rows if r["id"] != review_id]  # the seeded person's own
    with db.transaction() as s:
        before = len(list(s.scalars(select(AccessLogEntry))))
    shown = runner.invoke(app, ["privacy", "reviews", "--statements", "--reason", "appeal 7"])
    assert shown.exit_code == 0 and statement in shown.output
    with db.transaction() as s:
        entries = list(s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)))
        assert len(entries) > before  # reading statements is logged
        entry = entries[-1]
        assert entry.candidate_id == person.candidate_id and "appeal 7" in entry.purpose
        app_row = s.scalars(
            select(Application).where(Application.candidate_id == person.candidate_id)
        ).first()
        assert app_row is not None and not may_reject_automatically(s, app_row)
    for bad, code in (("abc", 2), ("999999", 1)):
        result = runner.invoke(app, ["privacy", "resolve", bad, "--resolution", "ok"])
        assert result.exit_code == code, result.output
    empty = runner.invoke(app, ["privacy", "resolve", str(review_id), "--resolution", "  "])
    assert empty.exit_code == 2
    done = runner.invoke(
        app, ["privacy", "resolve", str(review_id), "--resolution", "permit checked: advance"]
    )
    assert done.exit_code == 0, done.output
    for other in others:
        assert runner.invoke(app, ["privacy", "resolve", str(other), "--resolution", "seen"])
    again = runner.invoke(app, ["privacy", "resolve", str(review_id), "--resolution", "x"])
    assert again.exit_code == 0 and "already resolved" in again.output
    with db.transaction() as s:
        row = s.get(HumanReview, review_id)
        assert row is not None and row.status == "resolved"
        assert row.resolution == "permit checked: advance"
        assert row.resolved_by == f"admin:{getpass.getuser()}"
        app_row = s.scalars(
            select(Application).where(Application.candidate_id == person.candidate_id)
        ).first()
        assert app_row is not None and may_reject_automatically(s, app_row)
    assert runner.invoke(app, ["privacy", "reviews"]).output.strip() == "No open reviews."
