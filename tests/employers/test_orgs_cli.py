"""`parley orgs …` on both backends: linking workspaces, channels and members from the
terminal, the exit codes for bad input (2) and not found / refused (1), and the audit rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from employers.orgs import OrgDirectory
from parley.cli import app
from storage.db import Database
from storage.models import EmployerAudit, Organization, OrgMember

runner = CliRunner()
TEAM = "T0CLI001"


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("PARLEY_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return db


def _orgs(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["orgs", *args])
    return result.exit_code, result.output


def test_link_add_list_and_remove_from_the_terminal(env: Database) -> None:
    code, out = _orgs("list", "--json")
    assert code == 0
    assert json.loads(out) == [
        {"slug": "test-org", "name": "Test Organization", "workspaces": [], "members": 0}
    ]
    assert "slack: not linked" in _orgs("list")[1]
    code, out = _orgs("link-slack", "test-org", TEAM, "--channel", "C0HIRING")
    assert (code, out.strip()) == (
        0,
        f"workspace {TEAM} linked to test-org (notifications: C0HIRING)",
    )
    code, out = _orgs("add-member", TEAM, "U0ADMIN1", "--role", "admin")
    assert (code, out.strip()) == (0, "U0ADMIN1 added to Test Organization as admin")
    code, out = _orgs("add-member", TEAM, "U0ADMIN1", "--role", "admin")
    assert code == 0 and "already admin" in out
    assert _orgs("add-member", TEAM, "U0VIEW01", "--role", "viewer")[0] == 0
    code, out = _orgs("list")
    assert code == 0 and "members: 2" in out and f"{TEAM} → #C0HIRING" in out
    code, out = _orgs("members", "test-org", "--json")
    rows = json.loads(out)
    assert code == 0 and [(r["user_id"], r["role"]) for r in rows] == [
        ("U0ADMIN1", "admin"), ("U0VIEW01", "viewer"),
    ]  # fmt: skip
    assert all(r["added_by"].startswith("admin:") for r in rows)
    code, out = _orgs("members", "test-org")
    assert code == 0 and "U0VIEW01" in out and "viewer" in out
    employer = OrgDirectory(env).resolve(TEAM, "U0VIEW01")
    assert employer is not None and employer.role == "viewer"

    # The operator may remove the last admin (the repair path Slack refuses).
    assert _orgs("remove-member", TEAM, "U0ADMIN1") == (0, "U0ADMIN1 removed\n")
    code, out = _orgs("remove-member", TEAM, "U0ADMIN1")
    assert code == 1 and "not a member" in out
    assert _orgs("channel", TEAM, "off") == (0, f"notifications of workspace {TEAM}: off\n")
    assert _orgs("channel", TEAM, "C0NEWCHAN")[0] == 0
    assert json.loads(_orgs("list", "--json")[1])[0]["workspaces"] == [
        {"team_id": TEAM, "channel": "C0NEWCHAN"}
    ]
    assert _orgs("unlink-slack", TEAM) == (0, f"workspace {TEAM} unlinked\n")
    assert _orgs("unlink-slack", TEAM)[0] == 1
    assert OrgDirectory(env).resolve(TEAM, "U0VIEW01") is None
    with env.transaction() as s:
        assert s.scalars(select(OrgMember)).all() == []
        audits = s.scalars(select(EmployerAudit).order_by(EmployerAudit.id)).all()
        org_id = s.scalars(select(Organization.id)).one()
    assert [a.action for a in audits] == [
        "link_slack", "add_member", "add_member", "add_member", "remove_member",
        "channel", "channel", "unlink_slack",
    ]  # fmt: skip
    assert {a.outcome for a in audits} == {"allowed"}
    assert all(a.actor.startswith("admin:") and a.organization_id == org_id for a in audits)
    assert audits[1].detail == "add U0ADMIN1 admin"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["link-slack", "no-such-org", TEAM], 1, "no organization 'no-such-org'"),
        (["link-slack", "test-org", "t0lower"], 2, "not a Slack workspace id"),
        (["link-slack", "test-org", "T" + "9" * 5000], 2, "not a Slack workspace id"),
        (["link-slack", "test-org", TEAM, "--channel", "#hiring"], 2, "not a Slack channel id"),
        (["link-slack", "other-org", "T0LINKED"], 1, "already linked to test-org"),
        (["add-member", "T0NOTLNK", "U0ANA001", "--role", "viewer"], 1, "not linked"),
        (["add-member", "T0LINKED", "U0ANA001", "--role", "boss"], 2, "unknown role 'boss'"),
        (["add-member", "T0LINKED", "<@U0ANA001>", "--role", "viewer"], 2, "not a Slack user id"),
        (["add-member", "T0LINKED", "", "--role", "viewer"], 2, "not a Slack user id"),
        (
            ["add-member", "T0LINKED", "U0'; DROP TABLE org_members;--", "--role", "viewer"],
            2,
            "not a Slack user id",
        ),
        (["remove-member", "T0LINKED", "U0NOBODY"], 1, "not a member"),
        (["remove-member", "T0LINKED", "nobody"], 2, "not a Slack user id"),
        (["members", "no-such-org"], 1, "no organization"),
        (["channel", "T0NOTLNK", "C0HIRING"], 1, "not linked"),
        (["channel", "T0LINKED", "hiring"], 2, "not a Slack channel id"),
        (["unlink-slack", "T0NOTLNK"], 1, "not linked"),
        (["unlink-slack", "bad team"], 2, "not a Slack workspace id"),
    ],
)
def test_bad_input_and_unknown_things_exit_with_clear_messages(
    env: Database, args: list[str], code: int, message: str
) -> None:
    with env.transaction() as s:
        s.add(Organization(slug="other-org", name="Other Organization"))
    OrgDirectory(env).link_workspace("test-org", "T0LINKED")
    result, out = _orgs(*args)
    assert result == code, out
    assert message in out
    with env.transaction() as s:
        assert s.scalars(select(OrgMember)).all() == []
        assert s.scalars(select(EmployerAudit)).all() == []  # nothing done, nothing audited
    assert OrgDirectory(env).organization_of_team("T0LINKED")[1] == "test-org"  # type: ignore[index]


def test_orgs_without_a_subcommand_shows_help(env: Database) -> None:
    result = runner.invoke(app, ["orgs"])
    for command in ("list", "link-slack", "unlink-slack", "channel", "members", "add-member",
                    "remove-member"):  # fmt: skip
        assert command in result.output
