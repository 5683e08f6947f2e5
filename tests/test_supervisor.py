"""Process supervision details that the end-to-end tests rely on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from parley.supervisor import prepare_sqlite_tracker


def test_sqlite_tracker_store_is_put_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "tracker.db"
    prepare_sqlite_tracker(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_non_sqlite_tracker_is_left_alone(tmp_path: Path) -> None:
    prepare_sqlite_tracker("postgresql://postgres@127.0.0.1:5432/x")
    assert list(tmp_path.iterdir()) == []
