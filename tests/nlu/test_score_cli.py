"""`parley score`: CSV in, CSV out — carried-through columns, malformed rows, bad files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlu.scoring import Scorer
from parley.cli import app

runner = CliRunner()

Q = "What requirement has to be met so that you can use the piggybacking extension?"
REF = "A full-duplex connection is needed, so acknowledgements can ride on data frames."


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(autouse=True)
def _model_loaded(scorer: Scorer) -> None:
    """The CLI uses the process-wide scorer; the session fixture has loaded it already."""


def test_scores_rows_and_carries_columns_through(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", [
        ["id", "question", "reference_answer", "student_answer", "key_points", "cohort"],
        ["a1", Q, REF, "The link must be full duplex so the ACK can be sent with data.",
         "full-duplex connection | acknowledgement sent with a data frame", "2024"],
        ["a2", Q, REF, "", "", "2024"],
        ["a3", Q, REF, "You need a window.", "", "2025"],
    ])  # fmt: skip
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["score", "--input", str(src), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert [r["id"] for r in rows] == ["a1", "a2", "a3"]
    assert [r["cohort"] for r in rows] == ["2024", "2024", "2025"]
    assert list(rows[0])[:6] == ["id", "question", "reference_answer", "student_answer",
                                 "key_points", "cohort"]  # fmt: skip
    assert 0.0 <= float(rows[0]["score"]) <= 1.0
    assert rows[0]["score_status"] == "scored"
    first = json.loads(rows[0]["explanation"])
    assert len(first["key_points_covered"]) + len(first["key_points_missing"]) == 2
    assert rows[1]["score"] == "" and rows[1]["score_status"] == "insufficient_data"
    assert json.loads(rows[1]["explanation"])["needs_review"] is True
    assert "row 2 (line 3): student_answer is empty" in result.stderr
    assert "scored 3/3 rows" in result.stderr


def test_malformed_rows_are_reported_and_others_scored(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "question,reference_answer,student_answer,score\n"
        f'"{Q}","{REF}","Full duplex is required for piggybacking acknowledgements.",1.0\n'
        f'"{Q}","{REF}"\n'
        f'"{Q}","{REF}","a","b","c","d"\n'
        f'"{Q}","{REF}","The channel must be duplex so data and ACKs flow both ways.",0.5\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["score", "-i", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "row 2 (line 3): expected 4 fields, found 2" in result.stderr
    assert "row 3 (line 4): expected 4 fields, found 6" in result.stderr
    assert "kept as 'input_score'" in result.stderr
    rows = read_csv(out)
    assert len(rows) == 4
    assert [r["score_status"] for r in rows] == ["scored", "error", "error", "scored"]
    assert rows[0]["input_score"] == "1.0" and rows[3]["input_score"] == "0.5"
    assert rows[1]["score"] == "" and rows[2]["score"] == ""
    assert float(rows[3]["score"]) >= 0.0
    assert "2 malformed" in result.stderr


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "empty.csv"
    src.write_text("", encoding="utf-8")
    result = runner.invoke(app, ["score", "--input", str(src), "--output", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "empty" in result.stderr


def test_missing_header_is_a_clear_error(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "noheader.csv", [[Q, REF, "Full duplex is needed."]])
    result = runner.invoke(app, ["score", "--input", str(src), "--output", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "missing required column(s): question, student_answer" in result.stderr
    assert not (tmp_path / "o").exists()


def test_header_only_file_gives_header_only_output(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "h.csv", [["question", "reference_answer", "student_answer"]])
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["score", "--input", str(src), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").strip() == (
        "question,reference_answer,student_answer,score,score_status,explanation"
    )


def test_missing_input_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", "--input", str(tmp_path / "nope.csv"),
                                 "--output", str(tmp_path / "o.csv")])  # fmt: skip
    assert result.exit_code == 2
    assert "no such file" in result.stderr
