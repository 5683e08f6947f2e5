"""`parley audit bias` and `parley audit publish` on both backends: the JSON numbers, the
terminal table, the HTML report and the public summary files, and clear exit codes for bad
input (2) and unknown jobs (1)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parley.cli import app
from storage.db import Database
from tests.fairness.audit_support import Person, seed
from tests.fairness.test_audit_data import POPULATION

runner = CliRunner()


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("PARLEY_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("PARLEY_AUDIT_SUMMARY_URL", raising=False)
    monkeypatch.delenv("PARLEY_PUBLIC_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return db


def _groups(out: dict, dimension: str, kind: str) -> dict[str, dict]:
    table = next(t for t in out["tables"] if t["dimension"] == dimension and t["kind"] == kind)
    return {g["category"]: g for g in table["groups"]}


def test_bias_json_has_the_rates_ratios_and_metadata(env: Database) -> None:
    seed(env, POPULATION)
    result = runner.invoke(app, ["audit", "bias", "test-role", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    sex = _groups(out, "sex", "selection")
    assert sex["female"]["rate"] == pytest.approx(0.5)
    assert sex["female"]["impact_ratio"] == pytest.approx(0.7)
    assert sex["female"]["below_four_fifths"] is True
    scoring = _groups(out, "sex", "scoring")
    assert scoring["male"]["rate"] == pytest.approx(4 / 7)
    inter = _groups(out, "intersection", "selection")
    assert inter["male|asian"]["rate"] == pytest.approx(1.0)
    meta = out["metadata"]
    assert meta["jobs"] == ["Test Role (test-role)"]
    assert meta["model_versions"] == ["test-model 1"]
    assert meta["scorer_versions"] == ["1"]
    assert "threshold" in meta["selection_rule"].lower()
    assert meta["since"] is None and meta["until"] == date.today().isoformat()


def test_bias_text_and_html_report(env: Database, tmp_path: Path) -> None:
    seed(env, POPULATION)
    report = tmp_path / "out" / "audit.html"
    result = runner.invoke(app, ["audit", "bias", "--all", "--html", str(report)])
    assert result.exit_code == 0, result.output
    assert "BELOW 4/5ths" in result.output
    assert "Applications counted: 15" in result.output
    page = report.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert "<svg" in page and "test-model 1" in page
    assert f"HTML report written to {report}" in result.output


def test_publish_writes_the_summary_where_the_notice_points(env: Database, tmp_path: Path) -> None:
    seed(env, POPULATION[:6])
    result = runner.invoke(app, ["audit", "publish", "--all"])
    assert result.exit_code == 0, result.output
    page = tmp_path / "var" / "public" / "audit-summary.html"
    text = page.read_text(encoding="utf-8")
    assert "Bias audit summary" in text and "<svg" in text
    assert "6 applications counted" in result.output
    assert "/audit-summary" in result.output
    # Publishing again replaces the page in one step.
    seed(env, POPULATION[6:8])
    assert runner.invoke(app, ["audit", "publish", "--all"]).exit_code == 0
    assert page.read_text(encoding="utf-8") != text
    assert not [p for p in page.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_job_without_self_identification_says_so(env: Database) -> None:
    seed(env, [Person(None, None, 0.9)])
    result = runner.invoke(app, ["audit", "bias", "test-role", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["total"] == 1
    assert any("self-identified" in n for n in out["notes"])


def test_future_dates_give_an_empty_audit_with_a_note(env: Database) -> None:
    seed(env, POPULATION[:2])
    future = (date.today() + timedelta(days=5)).isoformat()
    result = runner.invoke(app, ["audit", "bias", "test-role", "--since", future, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["total"] == 0
    assert any("in the future" in n for n in out["notes"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "bias"], "Give a job id"),
        (["audit", "bias", "test-role", "--all"], "not both"),
        (["audit", "bias", "test-role", "--since", "yesterday"], "--since must be a date"),
        (["audit", "bias", "test-role", "--until", "2026-02-30"], "--until must be a date"),
        (["audit", "bias", "test-role", "--since", "2026-05-01", "--until", "2026-04-01"], "after"),
        (["audit", "bias", "<script>alert(1)</script>"], "Not a job id"),
        (["audit", "bias", "x" * 5000], "Not a job id"),
        (["audit", "bias", ""], "Give a job id"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    env: Database, args: list[str], message: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_an_unknown_job_exits_1_and_lists_the_jobs(env: Database) -> None:
    result = runner.invoke(app, ["audit", "bias", "no-such-job"])
    assert result.exit_code == 1
    assert "No job `no-such-job`" in result.output and "test-role" in result.output


def test_an_html_path_that_is_a_directory_is_refused(env: Database, tmp_path: Path) -> None:
    seed(env, POPULATION[:2])
    result = runner.invoke(app, ["audit", "bias", "test-role", "--html", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a directory" in result.output
