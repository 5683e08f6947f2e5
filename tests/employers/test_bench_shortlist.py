"""`parley bench shortlist --json` seeds a throw-away database, sends signed `/shortlist`
commands through the real Slack gateway to the stand-in and reports the timings; here on
SQLite and PostgreSQL with 40 applications (the numbers are the benchmark's; what is checked
is that every run was acknowledged, the page with the top-ranked candidate reached the DM and
the chart was shared)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests.support import ROOT


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bench_shortlist_json(backend: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "parley", "bench", "shortlist", "--json", "--applications",
         "40", "--runs", "3", "--backend", backend],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    doc = json.loads(result.stdout)
    assert doc["benchmark"] == "shortlist" and doc["backend"] == backend
    assert doc["applications"] == 40
    for key in ("ack_ms", "first_page_ms", "chart_ms"):
        stats = doc[key]
        assert not any(math.isnan(v) for v in stats.values()), key
        assert 0 < stats["p50"] <= stats["p95"] <= stats["max"]
        assert doc["cold_ms"][key] > 0
    assert doc["targets"] == {"ack_ms": 3000.0, "first_page_ms": 1000.0}
    assert doc["met"] is (
        doc["ack_ms"]["p95"] <= 3000.0 and doc["first_page_ms"]["p95"] <= 1000.0
    )


def test_bench_shortlist_refuses_a_single_run() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "parley", "bench", "shortlist", "--runs", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and "runs" in result.stderr
