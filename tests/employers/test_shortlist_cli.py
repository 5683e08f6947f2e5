"""`parley shortlist JOB` on both backends: the ranked text and JSON, the chart file, the
access log written as `cli:<OS user>`, and exit codes for bad input (2) and unknown jobs or
organizations (1)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from parley.cli import app
from privacy.audit import admin_actor
from storage.db import Database
from storage.models import AccessLogEntry, Job, Organization
from tests.employers.employer_support import (
    OTHER_JOB,
    make_application,
    make_other_org_job,
    open_human_review,
    set_review,
)

runner = CliRunner()


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("PARLEY_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return db


def logged(db: Database) -> list[tuple[str, str, str]]:
    with db.transaction() as s:
        return [
            (e.actor, e.action, e.resource)
            for e in s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id))
        ]


def test_the_shortlist_in_text_with_flags_and_the_access_log(env: Database) -> None:
    best = make_application(env, score=0.88, name="Ada Lovelace")
    second = make_application(env, score=0.61, questions={"motivation": None})
    open_human_review(env, second, "decision_review")
    knocked = make_application(env, score=None, knocked_out=True)
    overridden = make_application(env, score=0.3)
    set_review(env, overridden, override_score=0.7, override_by="slack:T1:U1")
    result = runner.invoke(app, ["shortlist", "test-role"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Test Role (test-role) — Test Organization")
    assert "status completed · 4 matching · page 1/1" in out
    lines = out.splitlines()
    ranked = [line for line in lines if line[:3].strip().isdigit()]
    assert [line.split()[1] for line in ranked] == [
        best[:8],
        overridden[:8],
        second[:8],
        knocked[:8],
    ]
    assert "  1. " + best[:8] + "  score  88  Ada Lovelace  [completed, new]" in out
    assert "score set by slack:T1:U1 (AI: 30)" in out
    assert "insufficient data; flagged for review; review open: decision_review" in out
    assert "knocked out (right_to_work)" in out
    assert "motivation: 88 [scored] — Covers 3 of 3 key points." in out
    actor = "cli:" + admin_actor().split(":", 1)[1]
    entries = logged(env)
    assert len(entries) == 4
    assert {e[0] for e in entries} == {actor}
    assert {e[2] for e in entries} == {
        f"application:{a}" for a in (best, second, knocked, overridden)
    }


def test_json_paging_filters_and_the_chart(env: Database, tmp_path: Path) -> None:
    ids = [make_application(env, score=s / 100) for s in (90, 80, 70, 60, 50)]
    chart = tmp_path / "scores.png"
    result = runner.invoke(
        app,
        ["shortlist", "test-role", "--top", "4", "--page-size", "3", "--page", "2",
         "--json", "--chart", str(chart)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["total"] == 4 and doc["pages"] == 2 and doc["page"] == 2
    assert doc["cutoff"] == 60 and doc["scores"] == [50, 60, 70, 80, 90]
    assert [r["application_id"] for r in doc["rows"]] == [ids[3]]
    assert doc["query"] == {
        "job": "test-role",
        "top": 4,
        "min_score": None,
        "status": "completed",
        "page": 2,
        "page_size": 3,
    }
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(logged(env)) == 1  # the one row on page 2

    text = runner.invoke(app, ["shortlist", "TEST-ROLE", "--min-score", "75", "--status", "all"])
    assert text.exit_code == 0, text.output
    assert "min 75 · 2 matching · cut-off 75" in text.output
    empty = runner.invoke(app, ["shortlist", "test-role", "--status", "rejected"])
    assert empty.exit_code == 0 and "No applications match." in empty.output


@pytest.mark.parametrize(
    "args",
    [
        ["--top", "0"],
        ["--top", "5000"],
        ["--top", "abc"],
        ["--min-score", "101"],
        ["--min-score", "-1"],
        ["--status", "bogus"],
        ["--page", "0"],
        ["--page-size", "500"],
        ["--page-size", "0"],
    ],
)
def test_bad_options_exit_2_and_read_nothing(env: Database, args: list[str]) -> None:
    make_application(env, score=0.5)
    result = runner.invoke(app, ["shortlist", "test-role", *args])
    assert result.exit_code == 2, result.output
    assert logged(env) == []


@pytest.mark.parametrize("job", ["Bad Job!", "x" * 100, "<!channel>", "../etc", "t"])
def test_a_malformed_job_id_exits_2(env: Database, job: str) -> None:
    result = runner.invoke(app, ["shortlist", job])
    assert result.exit_code == 2
    assert "is not a job id" in result.output


def test_unknown_jobs_and_organizations_exit_1(env: Database) -> None:
    make_other_org_job(env)
    unknown = runner.invoke(app, ["shortlist", "no-such-job"])
    assert unknown.exit_code == 1
    assert "No job `no-such-job`. Jobs: other-role, test-role" in unknown.output
    no_org = runner.invoke(app, ["shortlist", "test-role", "--org", "nobody"])
    assert no_org.exit_code == 1 and "No organization `nobody`" in no_org.output
    wrong_org = runner.invoke(app, ["shortlist", "test-role", "--org", "other-org"])
    assert wrong_org.exit_code == 1
    assert "No job test-role in Other-Org Inc. Your jobs: other-role" in wrong_org.output
    make_application(env, OTHER_JOB, score=0.5)
    theirs = runner.invoke(app, ["shortlist", OTHER_JOB, "--org", "other-org"])
    assert theirs.exit_code == 0 and "1 matching" in theirs.output


def test_a_job_id_in_two_organizations_needs_org(env: Database) -> None:
    make_other_org_job(env)
    with env.transaction() as s:
        other = s.scalar(select(Organization).where(Organization.slug == "other-org"))
        base = s.scalar(select(Job).where(Job.slug == "test-role"))
        assert other is not None and base is not None
        s.add(
            Job(
                organization_id=other.id,
                slug="test-role",
                version=99,
                is_current=False,
                content_hash=secrets.token_hex(16),
                title="Their Test Role",
                location="Elsewhere",
                definition=base.definition,
            )
        )
    make_application(env, score=0.5)
    result = runner.invoke(app, ["shortlist", "test-role"])
    assert result.exit_code == 2
    assert "several organizations (other-org, test-org): give --org" in result.output
    ours = runner.invoke(app, ["shortlist", "test-role", "--org", "test-org"])
    assert ours.exit_code == 0 and "1 matching" in ours.output
