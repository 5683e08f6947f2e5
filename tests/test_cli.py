"""The `parley` CLI: jobs load/list and interviews show, on a real SQLite database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parley.cli import app
from screening.commands import MessageNlu
from screening.interview import InterviewService
from storage.db import Database
from tests.support import FIXTURE_JOBS, ROOT

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PARLEY_VAR_DIR", str(tmp_path / "var"))
    return tmp_path


def test_jobs_load_is_idempotent_and_versioned(env: Path) -> None:
    jobs = env / "jobs"
    shutil.copytree(ROOT / "jobs", jobs)
    first = runner.invoke(app, ["jobs", "load", str(jobs)])
    assert first.exit_code == 0, first.output
    assert first.output.count("created") == 2
    again = runner.invoke(app, ["jobs", "load", str(jobs)])
    assert again.output.count("unchanged") == 2
    path = jobs / "warehouse-associate.yaml"
    path.write_text(path.read_text().replace("Rotterdam", "Rotterdam-Noord"))
    edited = runner.invoke(app, ["jobs", "load", str(jobs)])
    assert "v2" in edited.output and "new_version" in edited.output
    listed = runner.invoke(app, ["jobs", "list", "--json"])
    rows = {r["id"]: r for r in json.loads(listed.output)}
    assert rows["warehouse-associate"]["version"] == 2
    assert rows["warehouse-associate"]["location"].startswith("Rotterdam-Noord")
    assert rows["backend-engineer"]["version"] == 1


def test_invalid_job_file_names_file_question_and_field(env: Path) -> None:
    bad = env / "bad.yaml"
    text = (FIXTURE_JOBS / "test-role.yaml").read_text().replace("max: 50", "max: -5")
    bad.write_text(text)
    result = runner.invoke(app, ["jobs", "load", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "years" in result.output and "max" in result.output
    assert "nothing was imported" in result.output
    listed = runner.invoke(app, ["jobs", "list", "--json"])
    assert json.loads(listed.output) == []


def test_jobs_load_missing_path(env: Path) -> None:
    result = runner.invoke(app, ["jobs", "load", str(env / "nope")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_interviews_show(env: Path) -> None:
    assert runner.invoke(app, ["jobs", "load", str(FIXTURE_JOBS)]).exit_code == 0
    service = InterviewService(Database(f"sqlite:///{env / 'cli.db'}"))
    nlu = MessageNlu()
    service.handle_consent("web:cli-test", "test-role", "yes", nlu)
    service.handle_age("web:cli-test", "test-role", "yes", nlu)
    service.handle_answer("web:cli-test", "test-role", "Because I like it a lot.", nlu)
    service.handle_answer("web:cli-test", "test-role", "yes", nlu)
    result = runner.invoke(app, ["interviews", "show", "web:cli-test", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report[0]["status"] == "in_progress"
    assert [a["question_id"] for a in report[0]["answers"]] == ["motivation", "right_to_work"]
    assert report[0]["answers"][0]["raw_text"] == "Because I like it a lot."
    by_app = runner.invoke(app, ["interviews", "show", report[0]["application_id"]])
    assert "Test Role" in by_app.output and "motivation" in by_app.output
    missing = runner.invoke(app, ["interviews", "show", "web:nobody"])
    assert missing.exit_code == 1 and "no candidate" in missing.output
