"""Forget a person in Rasa's stores: tracker-store events and Redis keys.

Why this module exists: Rasa keeps every conversation turn (the candidate's own words, their
name, their answers) in its tracker store, outside our schema, keyed only by sender id. The
purge therefore has to reach into Rasa's `events` table and into Redis by sender id; nothing
in `storage/` knows about either.

Rasa's SQLTrackerStore (rasa/core/tracker_store.py, `SQLEvent`) keeps one table `events`
(id, sender_id, type_name, timestamp, intent_name, action_name, data). We declare just that
table with SQLAlchemy Core rather than import Rasa (it lives in another virtual environment).
A tracker database that does not exist yet, or has no `events` table, holds nothing to delete.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    inspect,
)
from sqlalchemy.engine import make_url

from storage.db import normalise_url

log = logging.getLogger(__name__)

_tracker_metadata = MetaData()
EVENTS = Table(
    "events",
    _tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

# Rasa's RedisLockStore (rasa/core/lock_store.py): keys are "lock:<conversation id>", or
# "<prefix>:lock:<conversation id>" when the configured key prefix is alphanumeric (a prefix
# that is not is ignored by Rasa, which then falls back to plain "lock:").
RASA_LOCK_PREFIX = "lock:"
_CHUNK = 500


def delete_tracker_events(
    tracker_url: str, sender_ids: Sequence[str], *, until: datetime | None = None
) -> int:
    """Delete the tracker-store events of these sender ids (those up to `until` when given:
    a sender id reused for a new conversation after an erasure keeps the new one); returns
    the number of rows."""
    ids = sorted({s for s in sender_ids if s})
    if not ids or not tracker_url:
        return 0
    url = normalise_url(tracker_url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return 0
        if not Path(parsed.database).is_file():
            return 0  # Rasa has not written a single turn yet: nothing to delete
        engine = create_engine(url, connect_args={"timeout": 30})
    else:
        engine = create_engine(url, pool_pre_ping=True)
    try:
        if not inspect(engine).has_table(EVENTS.name):
            return 0
        deleted = 0
        with engine.begin() as conn:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                stmt = delete(EVENTS).where(EVENTS.c.sender_id.in_(chunk))
                if until is not None:
                    stmt = stmt.where(EVENTS.c.timestamp <= until.timestamp())
                result = conn.execute(stmt)
                deleted += int(result.rowcount or 0)
        return deleted
    finally:
        engine.dispose()


def rasa_lock_keys(sender_ids: Iterable[str], lock_prefix: str) -> list[str]:
    """The Redis keys Rasa's lock store may use for these conversations."""
    prefixes = [RASA_LOCK_PREFIX]
    bare = lock_prefix.rstrip(":")
    if bare:
        prefixes.append(f"{bare}:{RASA_LOCK_PREFIX}")
    return [p + s for s in sender_ids if s for p in prefixes]


def _glob_escape(text: str) -> str:
    """Escape Redis MATCH glob characters so a prefix is matched literally."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def delete_redis_keys(
    client: object, lock_prefix: str, sender_ids: Sequence[str], candidate_ids: Sequence[str]
) -> int:
    """Delete Rasa's lock keys of the sender ids and every key under our prefix that names
    one of the sender ids or candidate ids. Scans with SCAN (never KEYS: it blocks Redis).
    `client` is a `redis.Redis`. Returns the number of keys deleted."""
    needles = [n for n in (*sender_ids, *candidate_ids) if n]
    if not needles:
        return 0
    doomed: set[bytes | str] = set(rasa_lock_keys(sender_ids, lock_prefix))
    if lock_prefix:
        pattern = _glob_escape(lock_prefix) + "*"
        for key in client.scan_iter(match=pattern, count=500):  # type: ignore[attr-defined]
            text = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
            if any(n in text for n in needles):
                doomed.add(key)
    deleted = 0
    batch = list(doomed)
    for start in range(0, len(batch), _CHUNK):
        deleted += int(client.delete(*batch[start : start + _CHUNK]) or 0)  # type: ignore[attr-defined]
    return deleted


def redis_client(host: str, port: int, db: int) -> object:
    """A Redis client with short timeouts (the purge must not hang on a dead Redis)."""
    import redis

    return redis.Redis(host=host, port=port, db=db, socket_timeout=5, socket_connect_timeout=3)
