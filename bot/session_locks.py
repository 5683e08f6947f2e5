"""One lock per conversation, so a sender's messages reach Rasa one at a time, in order.

Every gateway needs this: two quick messages (a double click, Enter pressed twice, a keypad
digit right after a spoken answer) must never race inside Rasa.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

MAX_QUEUED_PER_SESSION = 8


class SessionLocks:
    """One asyncio.Lock per session id, present only while the session has requests in flight.

    The dict therefore stays as small as the number of sessions currently talking, and an
    idle session costs nothing. Waiters on an asyncio.Lock are woken in FIFO order, so a
    session's messages reach Rasa in the order they arrived.
    """

    def __init__(self, max_queued: int = MAX_QUEUED_PER_SESSION) -> None:
        self._entries: dict[str, _LockEntry] = {}
        self._max_queued = max_queued

    def __len__(self) -> int:
        return len(self._entries)

    def busy(self, session: str) -> bool:
        """True when this session already has `max_queued` requests waiting or running."""
        entry = self._entries.get(session)
        return entry is not None and entry.users >= self._max_queued

    @contextlib.asynccontextmanager
    async def hold(self, session: str) -> AsyncIterator[None]:
        entry = self._entries.get(session)
        if entry is None:
            entry = self._entries[session] = _LockEntry(asyncio.Lock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0 and self._entries.get(session) is entry:
                del self._entries[session]


@dataclass
class _LockEntry:
    lock: asyncio.Lock
    users: int = 0
