"""`parley bench gateways --json` runs the real gateways against the stand-ins and reports
the overhead per gateway and mode (the numbers are the benchmark's business, not a test's)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT


def test_bench_gateways_json() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "parley", "bench", "gateways", "--json", "--messages", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["benchmark"] == "gateways" and doc["messages_per_series"] == 5
    modes = {(s["gateway"], s["mode"]) for s in doc["series"]}
    assert modes == {
        ("telegram", "polling"),
        ("telegram", "webhook"),
        ("slack", "socket"),
        ("slack", "http"),
    }
    for series in doc["series"]:
        assert series["messages"] == 5
        overhead, total = series["overhead_ms"], series["total_ms"]
        assert 0 < overhead["p50"] <= overhead["p95"] <= overhead["max"]
        assert overhead["p95"] <= total["p95"]  # the Rasa call was taken out, not added
        assert series["met"] == (overhead["p95"] <= series["target_p95_ms"])
