"""The access log against real SQLite and PostgreSQL: an admin's `parley interviews show` is
logged per candidate shown, and a candidate's "which employers viewed my profile" shows the
employer entries only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from parley.cli import app as cli
from privacy import oversight
from privacy.audit import admin_actor, log_employer_read
from screening.reports import NotFound, interview_report
from storage.db import Database
from storage.models import AccessLogEntry, Application, Candidate, PrivacyRequest
from tests.practice_support import Chat
from tests.privacy.oversight_support import (
    JOB,
    VALID,
    application,
    begin,
    candidate,
    count,
    wired,
)


def _log(db: Database) -> list[AccessLogEntry]:
    with db.transaction() as s:
        return list(s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)))


def test_interviews_show_logs_one_admin_read_per_candidate(db: Database) -> None:
    service, _ = wired(db)
    chat = begin(service, "web:shown")
    chat.send(VALID["motivation"])
    begin(service, "web:not-shown")
    app_id = application(db, "web:shown").id

    interview_report(db, "web:shown")
    (entry,) = _log(db)
    assert entry.candidate_id == candidate(db, "web:shown").id
    assert entry.actor == admin_actor() and entry.actor.startswith("admin:")
    assert entry.actor_kind == "admin" and entry.purpose == "interviews show"
    assert app_id in entry.resource and entry.organization_id is None

    interview_report(db, app_id, reason="  ticket 7:\n candidate asked  ")
    assert _log(db)[-1].purpose == "interviews show: ticket 7: candidate asked"
    interview_report(db, app_id, reason="x" * 10_000)  # a huge reason is cut, not refused
    assert len(_log(db)[-1].purpose) <= 300
    assert {e.candidate_id for e in _log(db)} == {candidate(db, "web:shown").id}


def test_reads_that_show_nothing_log_nothing(db: Database) -> None:
    service, _ = wired(db)
    practice = Chat(service, "web:practice-only")
    practice.begin_practice(JOB)
    with db.transaction() as s:
        run_id = s.scalars(select(Application.id)).one()
    for ref in ("web:nobody", run_id, "'; DROP TABLE access_log;--"):
        with pytest.raises(NotFound):
            interview_report(db, ref)
    begin(service, "web:erased")
    cid = candidate(db, "web:erased").id
    with db.transaction() as s:
        person = s.get(Candidate, cid)
        assert person is not None
        person.erased_at = datetime.now(UTC)
    with pytest.raises(NotFound):
        interview_report(db, "web:erased")
    assert _log(db) == []


def test_the_cli_logs_its_read_with_the_reason(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("PARLEY_VAR_DIR", str(tmp_path / "var"))
    service, _ = wired(db)
    begin(service, "web:cli")
    oversight.opt_out(db, "web:cli")
    result = CliRunner().invoke(cli, ["interviews", "show", "web:cli", "--reason", "audit"])
    assert result.exit_code == 0, result.output
    assert "AI scoring: opted out — a person reviews these answers" in result.output
    assert "Waiting for a person: ai opt out" in result.output
    as_json = CliRunner().invoke(cli, ["interviews", "show", "web:cli", "--json"])
    assert json.loads(as_json.output)[0]["ai_scoring"] == "opted_out"
    assert [e.purpose for e in _log(db)] == ["interviews show: audit", "interviews show"]


def test_candidates_see_only_the_employer_entries(db: Database) -> None:
    service, _ = wired(db)
    begin(service, "web:viewed")
    begin(service, "web:someone-else")
    assert "No employer has viewed" in oversight.employers_who_viewed(db, "web:viewed")
    interview_report(db, "web:viewed")  # an admin read: not shown to the candidate
    app_id = application(db, "web:viewed").id
    other_id = application(db, "web:someone-else").id
    with db.transaction() as s:
        mine = s.get(Application, app_id)
        theirs = s.get(Application, other_id)
        assert mine is not None and theirs is not None
        log_employer_read(s, mine, actor="slack:U123", purpose="shortlist review")
        log_employer_read(s, theirs, actor="slack:U123", purpose="someone else's review")
    text = oversight.employers_who_viewed(db, "web:viewed")
    assert "Test Organization" in text and "shortlist review" in text
    assert "viewed your application" in text
    assert "slack:U123" not in text and "admin" not in text and "interviews show" not in text
    assert "someone else" not in text
    assert "nothing stored" in oversight.employers_who_viewed(db, "web:stranger")
    with db.transaction() as s:
        kinds = [r.kind for r in s.scalars(select(PrivacyRequest))]
    assert kinds == ["access_log", "access_log"]
    assert count(db, AccessLogEntry) == 3
