"""`parley audit decisions` and `parley audit override` (parley/audit_cli.py) on both
databases, through the typer app itself: the JSON export with its filters and the access
log of opened reasons, exit codes 1 (not found / not allowed) and 2 (bad input), a future
--since that is a note and not an error, and overrides by members with and without the
role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from employers.decisions import DecisionService
from employers.orgs import OrgDirectory
from parley.audit_cli import audit_app, parse_when
from storage.db import Database
from storage.models import AccessLogEntry, ApplicationReview
from tests.employers.employer_support import TEAM, make_application, make_org_member

runner = CliRunner()


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("PARLEY_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PARLEY_DECISION_LOG_DAYS", "30")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return db


def test_decisions_json_with_filters_and_the_access_log(env: Database) -> None:
    make_org_member(env, "test-org", TEAM, "U0RECRUIT", "recruiter")
    boss = OrgDirectory(env).resolve(TEAM, "U0RECRUIT")
    assert boss is not None
    rejected = make_application(env, score=0.3)
    advanced = make_application(env, score=0.9)
    DecisionService(env).reject(boss, rejected, "Too little experience")
    DecisionService(env).advance(boss, advanced)
    result = runner.invoke(audit_app, ["decisions", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["count"] == 2 and data["retention_days"] == 183  # 30 is raised to the floor
    assert [e["decision"] for e in data["entries"]] == ["rejected", "advanced"]
    assert data["entries"][0]["reason"] == "Too little experience"
    assert data["entries"][0]["decided_by"] == "employer:" + boss.actor
    with env.transaction() as s:
        reads = list(s.scalars(select(AccessLogEntry).where(AccessLogEntry.actor_kind == "admin")))
    assert [r.resource for r in reads] == [f"applications:{rejected}"]  # only opened reasons
    one = runner.invoke(audit_app, ["decisions", "--application", advanced, "--json"])
    assert [e["application_id"] for e in json.loads(one.stdout)["entries"]] == [advanced]
    by_job = runner.invoke(audit_app, ["decisions", "--job", "test-role", "--org", "test-org"])
    assert by_job.exit_code == 0 and "2 decision(s)" in by_job.stdout
    assert "reason: Too little experience" in by_job.stdout


def test_a_future_since_is_an_empty_list_with_a_note(env: Database) -> None:
    result = runner.invoke(audit_app, ["decisions", "--since", "2999-01-01", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["entries"] == []
    assert "in the future" in result.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--since", "yesterday"], 2),
        (["--since", "2026-13-45"], 2),
        (["--until", "x" * 5000], 2),
        (["--since", "2026-02-01", "--until", "2026-01-01"], 2),
        (["--job", "<script>"], 2),
        (["--application", "not-an-id"], 2),
        (["--job", "no-such-job"], 1),
        (["--org", "no-such-org"], 1),
        (["--application", "0" * 32], 1),
    ],
)
def test_decisions_bad_input_and_unknown_things(env: Database, args: list[str], code: int) -> None:
    result = runner.invoke(audit_app, ["decisions", *args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.stderr.strip()


def test_parse_when_takes_days_and_times() -> None:
    assert parse_when("2026-01-02", end=True).isoformat() == "2026-01-03T00:00:00+00:00"
    assert parse_when("2026-01-02T10:00", end=False).isoformat() == "2026-01-02T10:00:00+00:00"


def test_override_from_the_terminal(env: Database) -> None:
    make_org_member(env, "test-org", TEAM, "U0RECRUIT", "recruiter")
    make_org_member(env, "test-org", TEAM, "U0VIEWER", "viewer")
    knocked = make_application(env, score=None, knocked_out=True)
    by = f"slack:{TEAM}:U0RECRUIT"
    ok = runner.invoke(
        audit_app, ["override", "knockout", knocked, "--by", by, "--reason", "Checked papers"]
    )
    assert ok.exit_code == 0, ok.output
    assert "Knockout overridden" in ok.stdout
    pinned = runner.invoke(
        audit_app, ["override", "rank", knocked, "--by", by, "--reason", "Top", "--rank", "1"]
    )
    assert pinned.exit_code == 0, pinned.output
    with env.transaction() as s:
        row = s.get(ApplicationReview, knocked)
        assert row is not None and row.pinned_rank == 1 and row.knockout_overridden_at
    viewer = runner.invoke(
        audit_app,
        ["override", "score", knocked, "--by", f"{TEAM}:U0VIEWER", "--reason", "x", "--score", "5"],
    )
    assert viewer.exit_code == 1 and "Viewers" in viewer.stderr
    stranger = runner.invoke(
        audit_app, ["override", "score", knocked, "--by", f"slack:{TEAM}:U0NOBODY",
                    "--reason", "x", "--score", "5"],
    )  # fmt: skip
    assert stranger.exit_code == 1 and "not a member" in stranger.stderr
    gone = runner.invoke(audit_app, ["override", "knockout", "f" * 32, "--by", by, "--reason", "x"])
    assert gone.exit_code == 1


@pytest.mark.parametrize(
    "args",
    [
        ["override", "vibes", "a" * 32, "--by", f"slack:{TEAM}:U1", "--reason", "x"],
        ["override", "knockout", "a" * 32, "--by", "bob", "--reason", "x"],
        ["override", "knockout", "a" * 32, "--by", f"slack:{TEAM}:U1", "--reason", " "],
        ["override", "knockout", "a" * 32, "--by", f"slack:{TEAM}:U1", "--reason", "x" * 2000],
        ["override", "score", "a" * 32, "--by", f"slack:{TEAM}:U1", "--reason", "x"],
        ["override", "score", "a" * 32, "--by", f"slack:{TEAM}:U1", "--reason", "x",
         "--score", "101"],
        ["override", "rank", "a" * 32, "--by", f"slack:{TEAM}:U1", "--reason", "x"],
        ["override", "rank", "a" * 32, "--by", f"slack:{TEAM}:U1", "--reason", "x",
         "--rank", "2", "--clear"],
        ["override", "knockout", "a" * 32, "--by", f"slack:{TEAM}:U1", "--reason", "x",
         "--rank", "2"],
        ["override", "knockout", "../etc", "--by", f"slack:{TEAM}:U1", "--reason", "x"],
    ],
)  # fmt: skip
def test_override_bad_input_is_exit_2(env: Database, args: list[str]) -> None:
    result = runner.invoke(audit_app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
