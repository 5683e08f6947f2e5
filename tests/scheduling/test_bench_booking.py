"""`parley bench booking --json` races candidates for one slot on a throw-away database and
reports the outcome; here on SQLite with 10 attempts (the numbers are the benchmark's; the
outcome — one booking, everyone else offered other times — is the promise)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT


def test_bench_booking_json_on_sqlite() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "parley", "bench", "booking", "--json", "--attempts", "10",
         "--backend", "sqlite"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    doc = json.loads(result.stdout)
    assert doc["benchmark"] == "booking" and doc["backend"] == "sqlite"
    assert (doc["attempts"], doc["booked"], doc["alternatives_offered"], doc["errors"]) == (
        10, 1, 9, 0,
    )  # fmt: skip
    assert doc["error_types"] == {} and doc["active_bookings_for_slot"] == 1
    assert doc["correct"] is True
    assert 0 < doc["p50_ms"] <= doc["p95_ms"] <= doc["max_ms"]
