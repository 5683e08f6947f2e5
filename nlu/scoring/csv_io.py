"""`parley score`: score every row of a CSV of graded or ungraded answers, streaming.

Why its own module: the CLI must work on any CSV of the documented shape, including large files
and files with broken rows, so reading, validating and writing live here, testable without the
CLI. Every input row is written back, in order, with every column carried through unchanged,
plus `score` (empty unless scored), `score_status` and `explanation` (JSON). A malformed row is
reported with its row number and written back with status `error`; the other rows are scored.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from nlu.scoring.scorer import AnswerScore, ScoreInput, Scorer

REQUIRED = ("question", "student_answer")
ONE_OF = ("reference_answer", "key_points")
OUTPUT_COLUMNS = ("score", "score_status", "explanation")
KEY_POINT_SEPARATOR = "|"
CHUNK = 512  # rows read, scored and written at a time


class CsvInputError(ValueError):
    """The file cannot be scored at all (empty, no usable header)."""


@dataclass
class CsvReport:
    """What happened: counts, and one message per problem row."""

    rows: int = 0
    scored: int = 0
    insufficient: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)


@dataclass
class _Row:
    number: int  # 1-based data row number (header excluded)
    line: int  # first physical line of the record in the file
    fields: list[str]
    item: ScoreInput | None
    error: str | None = None
    warning: str | None = None


def _open_csv(path: Path) -> TextIO:
    return path.open(encoding="utf-8-sig", newline="", errors="replace")


def _records(fh: TextIO) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(first line, fields or None, csv error or None) per record; blank lines skipped."""
    reader = csv.reader(fh)
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, None, f"unreadable CSV record ({exc})"
            continue
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        yield start, record, None


def count_rows(path: Path) -> int:
    """Number of data rows (records after the header), for progress reporting."""
    with _open_csv(path) as fh:
        return max(0, sum(1 for _ in _records(fh)) - 1)


def _column_index(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(name.strip().lower(), i)
    return index


def _check_header(header: list[str]) -> dict[str, int]:
    index = _column_index(header)
    missing = [c for c in REQUIRED if c not in index]
    if not any(c in index for c in ONE_OF):
        missing.append(" or ".join(ONE_OF))
    if missing:
        shown = ", ".join(h.strip() for h in header[:8]) + (", …" if len(header) > 8 else "")
        raise CsvInputError(
            f"missing required column(s): {', '.join(missing)}. The first row must be a header "
            f"with question, reference_answer, student_answer (optional key_points, separated "
            f"by '{KEY_POINT_SEPARATOR}'); found: {shown or '(nothing)'}"
        )
    return index


def _parse(
    number: int, line: int, record: list[str], header: list[str], idx: dict[str, int]
) -> _Row:
    where = f"row {number} (line {line})"
    if len(record) != len(header):
        problem = f"{where}: expected {len(header)} fields, found {len(record)}"
        return _Row(number, line, record, None, error=problem)

    def get(name: str) -> str:
        return record[idx[name]] if name in idx else ""

    points = tuple(p.strip() for p in get("key_points").split(KEY_POINT_SEPARATOR) if p.strip())
    confidence: float | None = None
    warning = None
    raw_conf = get("transcript_confidence").strip()
    if raw_conf:
        try:
            confidence = float(raw_conf)
        except ValueError:
            warning = f"{where}: transcript_confidence {raw_conf!r} is not a number; ignored"
    answer = get("student_answer")
    if not answer.strip():
        warning = f"{where}: student_answer is empty (not scored: insufficient_data)"
    elif not (get("question").strip() or get("reference_answer").strip() or points):
        warning = f"{where}: no question, reference_answer or key_points to score against"
    item = ScoreInput(
        question=get("question"),
        reference_answer=get("reference_answer"),
        key_points=points,
        answer=answer,
        transcript_confidence=confidence,
    )
    return _Row(number, line, record, item, warning=warning)


def _output_fields(row: _Row, width: int, result: AnswerScore | None) -> list[str]:
    fields = (row.fields + [""] * width)[:width]
    if result is None:
        doc = {"status": "error", "score": None, "reason": row.error, "needs_review": True}
        return [*fields, "", "error", json.dumps(doc, ensure_ascii=False)]
    score = "" if result.score is None else f"{result.score:.4f}"
    explanation = json.dumps(result.explanation(), ensure_ascii=False)
    return [*fields, score, result.status, explanation]


def score_csv(
    input_path: Path,
    output_path: Path,
    scorer_factory: Callable[[], Scorer],
    batch_size: int = 128,
    progress: Callable[[str], None] | None = None,
    progress_every_s: float = 2.0,
) -> CsvReport:
    """Score `input_path` into `output_path`; raises CsvInputError if nothing can be scored."""
    csv.field_size_limit(sys.maxsize)
    say = progress or (lambda _msg: None)
    if not input_path.is_file():
        raise CsvInputError(f"{input_path}: no such file")
    with _open_csv(input_path) as fh:
        records = _records(fh)
        first = next(records, None)
        if first is None:
            raise CsvInputError(f"{input_path}: the file is empty (no header row)")
        _line, header, err = first
        if header is None:
            raise CsvInputError(f"{input_path}: the header row cannot be read ({err})")
        idx = _check_header(header)
        report = CsvReport()
        out_header = list(header)
        for col in OUTPUT_COLUMNS:
            if col in idx:
                out_header[idx[col]] = f"input_{header[idx[col]].strip()}"
                report.renamed[header[idx[col]]] = out_header[idx[col]]
        total = count_rows(input_path)
        scorer = scorer_factory()
        started = last = time.monotonic()
        with output_path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([*out_header, *OUTPUT_COLUMNS])
            chunk: list[_Row] = []

            def flush() -> None:
                nonlocal last
                items = [r.item for r in chunk if r.item is not None]
                results = iter(scorer.score_batch(items, batch_size=batch_size))
                for row in chunk:
                    result = next(results) if row.item is not None else None
                    if row.error:
                        report.errors += 1
                        report.problems.append(row.error)
                    if row.warning:
                        report.problems.append(row.warning)
                    if result is not None:
                        report.scored += result.status == "scored"
                        report.insufficient += result.status == "insufficient_data"
                    writer.writerow(_output_fields(row, len(header), result))
                chunk.clear()
                now = time.monotonic()
                if now - last >= progress_every_s or report.rows == total:
                    rate = report.rows / max(now - started, 1e-9)
                    say(f"scored {report.rows}/{total} rows ({rate:.0f} rows/s)")
                    last = now

            for number, (line, record, error) in enumerate(records, start=1):
                report.rows += 1
                if record is None:
                    chunk.append(
                        _Row(number, line, [], None, error=f"row {number} (line {line}): {error}")
                    )
                else:
                    chunk.append(_parse(number, line, record, header, idx))
                if len(chunk) >= CHUNK:
                    flush()
            if chunk:
                flush()
    return report
