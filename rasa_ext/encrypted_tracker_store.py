"""Rasa's SQL tracker store with every event's payload encrypted at rest (AES-256-GCM).

Why: Rasa's tracker store keeps the whole conversation — every answer a candidate typed — as
JSON text. Parley promises that personal data is encrypted at rest, so the `data` column of
each event is sealed here before it is written and opened when a tracker is read. The other
columns (sender id, event type, intent and action names, timestamp) stay readable because
Rasa queries them and because the purge job deletes a candidate's events by sender id.

The key is not the master key: `parley run` derives a tracker key from the master key
(HKDF, purpose "parley/tracker") and hands only that to the Rasa process in
`PARLEY_TRACKER_KEY`. Events written before this store was used (plain JSON) are still read.

This module runs inside Rasa 3.6's own environment (SQLAlchemy 1.4, Python 3.10), so it
imports nothing from Parley's packages.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)
T = TypeVar("T")

KEY_ENV = "PARLEY_TRACKER_KEY"
PREFIX = "pt1:"
NONCE_BYTES = 12


class TrackerKeyError(RuntimeError):
    """The tracker key is missing or malformed: refuse to start rather than store plaintext."""


def load_key(value: str | None = None) -> bytes:
    raw = (value if value is not None else os.environ.get(KEY_ENV, "")).strip()
    if not raw:
        raise TrackerKeyError(
            f"{KEY_ENV} is not set. Start Rasa through `parley run` (it derives the tracker "
            "key from the master key), or set it to the base64 of 32 bytes."
        )
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise TrackerKeyError(f"{KEY_ENV} is not valid base64.") from None
    if len(key) != 32:
        raise TrackerKeyError(f"{KEY_ENV} must decode to 32 bytes, not {len(key)}.")
    return key


class EventCipher:
    """Seals one event payload; the sender id is associated data, so an event copied into
    another conversation does not decrypt."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, sender_id: str, plaintext: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), sender_id.encode("utf-8"))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, sender_id: str, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before encryption was switched on
        blob = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode("ascii"))
        plain = self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], sender_id.encode())
        return plain.decode("utf-8")


class TrackerStoreUnavailable(BaseException):
    """The tracker store could not be read or written, even after retries.

    A BaseException on purpose: Rasa wraps every tracker store in `FailSafeTrackerStore`,
    which turns any Exception from `retrieve` into "no conversation yet" (the person's
    interview silently restarts, and the next message is taken for something else) and any
    Exception from `save` into a save to memory (the turn is lost from the database). The
    fault tests caught both when PostgreSQL connections were killed mid-turn. This one passes
    through: the request fails, nothing is saved, and the gateway resends the message with
    the same id (its receipt keeps it from being applied twice)."""


RETRIES = 3
RETRY_PAUSE_S = 0.2


async def _steadily(work: Callable[[], T]) -> T:
    """Run `work` (one database round trip), again after a database error: a killed or
    dropped connection is replaced by the pool on the next try."""
    import sqlalchemy.exc

    for attempt in range(1, RETRIES + 1):
        try:
            return work()
        except sqlalchemy.exc.DBAPIError as exc:
            if attempt == RETRIES:
                raise TrackerStoreUnavailable(type(exc).__name__) from exc
            logger.warning("tracker store: %s; trying again", type(exc).__name__)
            await asyncio.sleep(RETRY_PAUSE_S * attempt)
    raise AssertionError("unreachable")


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """`endpoints.yml`: `tracker_store: {type: rasa_ext.encrypted_tracker_store.
    EncryptedSQLTrackerStore, url: <SQLAlchemy URL>}`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Fail before connecting: a missing key must stop the server, never degrade it.
        self._cipher = EventCipher(load_key())
        super().__init__(*args, **kwargs)
        self._reconnecting_engine()

    def _reconnecting_engine(self) -> None:
        """The same engine with `pool_pre_ping`: a pooled connection the database dropped
        (PostgreSQL restarted, a connection killed, a fail-over) is replaced before use,
        instead of failing the next turn. Rasa's own engine has no such check. It costs one
        round trip per checkout."""
        import sqlalchemy as sa
        from rasa.core.tracker_store import create_engine_kwargs

        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        return await _steadily(
            lambda: self._retrieve_once(sender_id, fetch_events_from_all_sessions)
        )

    def _retrieve_once(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [json.loads(self._cipher.open(sender_id, row.data)) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """As SQLTrackerStore.save, with the payload sealed."""
        await self.stream_events(tracker)
        # Safe to run again: the events to add are counted against what is stored.
        await _steadily(lambda: self._save_once(tracker))

    def _save_once(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data: dict[str, Any] = event.as_dict()
                intent = data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=intent,
                        action_name=data.get("name"),
                        data=self._cipher.seal(tracker.sender_id, json.dumps(data)),
                    )
                )
            session.commit()
