"""Several Slack gateway replicas: only one posts employer notifications at a time."""

from __future__ import annotations

from employers.notifications import delivery_round
from storage.db import Database


def test_one_replica_posts_a_round_at_a_time(db: Database) -> None:
    other = Database(db.url)  # a second gateway process: its own engine and connections
    try:
        with delivery_round(db) as first:
            assert first is True
            with delivery_round(other) as second:
                # PostgreSQL: the other replica skips the round; SQLite is one process's.
                assert second is (db.engine.dialect.name != "postgresql")
        with delivery_round(other) as again:
            assert again is True  # released when the round ended
    finally:
        other.dispose()


def test_a_round_that_fails_releases_the_lock(db: Database) -> None:
    other = Database(db.url)
    try:
        try:
            with delivery_round(db) as got:
                assert got
                raise RuntimeError("Slack went away mid-round")
        except RuntimeError:
            pass
        with delivery_round(other) as after:
            assert after is True
    finally:
        other.dispose()
