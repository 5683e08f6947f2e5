"""A per-conversation lock for several Rasa replicas: atomic, owned, renewed (prod profile).

Why not Rasa's RedisLockStore: its ticket lock reads the whole lock from Redis, changes it
and writes it back, so two replicas can interleave (rasa#9213: not atomic across replicas).
Worse, found by the fault tests (tests/faults): when a replica dies holding a ticket, the
next message for that person waits for the dead ticket to expire — and its own ticket, issued
at about the same time, expires with it. The waiter then finds a lock without tickets and
spins forever: that person's conversation hangs until the gateway gives up. Its waiters
also poll once a second, which adds up to a second to a queued message.

This lock is one Redis key per conversation: `SET key <owner token> NX PX <lifetime>` takes
it (atomic), a Lua compare-and-delete releases only one's own lock, and a task renews it
every third of the lifetime while the turn runs, so a slow turn keeps its lock while a dead
replica's lock lapses within `lifetime` (TICKET_LOCK_LIFETIME seconds, `parley run` sets 15).
Waiters poll every 20 ms. Gateways route each person to one replica (bot/replicas.py), so
queues per conversation are short; message order is kept by the gateways, which send one
message per person at a time.

endpoints.prod.yml: `lock_store: {type: rasa_ext.lock_store.AtomicRedisLockStore, url, port,
db, key_prefix}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

logger = logging.getLogger(__name__)

POLL_S = 0.02
# The longest a message waits for its conversation's lock before Rasa answers with an error
# (the gateway then resends once, with the same message id): a dead holder's lock lapses
# after `lifetime`, so waiting a little longer than that is always enough.
WAIT_FACTOR = 1.5

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's lock store interface over one atomic, owned, renewed Redis key per
    conversation."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # built by Rasa from endpoints.yml
            extra = dict(endpoint_config.kwargs or {})
            kwargs = {"host": endpoint_config.url or "localhost", **extra, **kwargs}
            kwargs.pop("type", None)
        super().__init__(**kwargs)
        self._release = self.red.register_script(_RELEASE)
        self._renew = self.red.register_script(_RENEW)

    def _key(self, conversation_id: str) -> str:
        return f"{self.key_prefix}conv:{conversation_id}"

    @contextlib.asynccontextmanager
    async def lock(  # type: ignore[override]
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_S,
    ) -> AsyncIterator[TicketLock]:
        key = self._key(conversation_id)
        token = secrets.token_hex(16)
        lifetime_ms = max(1000, int(lock_lifetime * 1000))
        deadline = asyncio.get_running_loop().time() + lock_lifetime * WAIT_FACTOR
        while not await asyncio.to_thread(self.red.set, key, token, nx=True, px=lifetime_ms):
            if asyncio.get_running_loop().time() > deadline:
                raise LockError(f"conversation lock still held after {lock_lifetime:.0f} s")
            await asyncio.sleep(min(POLL_S, wait_time_in_seconds or POLL_S))
        renewer = asyncio.create_task(self._keep(key, token, lifetime_ms))
        try:
            yield TicketLock(conversation_id)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            try:
                await asyncio.to_thread(self._release, keys=[key], args=[token])
            except Exception as exc:  # Redis away: the key lapses after `lifetime`
                logger.warning("could not release a conversation lock: %s", type(exc).__name__)

    async def _keep(self, key: str, token: str, lifetime_ms: int) -> None:
        """Renew the lock while the turn runs (a slow action server keeps it)."""
        while True:
            await asyncio.sleep(lifetime_ms / 3000)
            try:
                renewed = await asyncio.to_thread(
                    self._renew, keys=[key], args=[token, lifetime_ms]
                )
            except Exception as exc:  # Redis restarting: try again next period
                logger.warning("could not renew a conversation lock: %s", type(exc).__name__)
                continue
            if not renewed:  # lost it (Redis restarted empty): the turn goes on unlocked
                logger.warning("a conversation lock lapsed during a turn")
                return
