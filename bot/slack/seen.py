"""Have we handled this already? For event retries, replayed requests and double presses.

Slack delivers an event again when it did not get our acknowledgement in time (and sometimes
twice anyway), so every event id, action and request signature is recorded for a while and a
second delivery is acknowledged without doing anything. One process keeps the record in
memory; the production profile, which may run several gateway replicas, keeps it in Redis
(`SET key 1 NX EX ttl`: atomic, so exactly one replica wins). When Redis is unreachable the
gateway falls back to its own memory rather than dropping people's messages.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any, Protocol

logger = logging.getLogger("parley.slack")

DEFAULT_TTL_S = 3600.0  # Slack retries for about five minutes; an hour leaves a wide margin


class Seen(Protocol):
    async def first_time(self, key: str, ttl_s: float = DEFAULT_TTL_S) -> bool:
        """True exactly once per key within `ttl_s`; records the key."""
        ...

    async def close(self) -> None: ...


class MemorySeen:
    """In-process record with expiry, bounded so a flood of unique keys cannot exhaust memory
    (the oldest entries go first)."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, float] = OrderedDict()

    async def first_time(self, key: str, ttl_s: float = DEFAULT_TTL_S) -> bool:
        now = time.monotonic()
        self._expire(now)
        expires = self._entries.get(key)
        if expires is not None and expires > now:
            return False
        self._entries[key] = now + ttl_s
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return True

    def _expire(self, now: float) -> None:
        # Entries are mostly in expiry order (same TTL); stop at the first live one.
        while self._entries:
            key, expires = next(iter(self._entries.items()))
            if expires > now:
                break
            del self._entries[key]

    async def close(self) -> None:
        self._entries.clear()


class RedisSeen:
    """Shared record in Redis for several replicas; memory when Redis is away."""

    PREFIX = "parley:slack:seen:"

    def __init__(self, client: Any, fallback: MemorySeen | None = None) -> None:
        self._redis = client
        self._fallback = fallback or MemorySeen()

    @classmethod
    def from_settings(cls, settings: Any) -> RedisSeen:
        return cls(client(settings.redis_host, settings.redis_port, settings.redis_db))

    async def first_time(self, key: str, ttl_s: float = DEFAULT_TTL_S) -> bool:
        try:
            created = await self._redis.set(self.PREFIX + key, b"1", nx=True, ex=max(1, int(ttl_s)))
        except Exception as exc:
            logger.warning("redis unavailable for slack dedupe: %s", type(exc).__name__)
            return await self._fallback.first_time(key, ttl_s)
        return bool(created)

    async def close(self) -> None:
        await self._redis.aclose()


def client(host: str, port: int, db: int = 0) -> Any:
    """A Redis client that fails fast: the check runs before Slack's 3-second acknowledgement,
    so no retries with backoff and sub-second timeouts (then the memory fallback decides)."""
    import redis.asyncio as redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(
        host=host,
        port=port,
        db=db,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )


def seen_for(settings: Any) -> Seen:
    """Redis in the production profile (replicas share it), memory otherwise."""
    if getattr(settings, "profile", "") == "prod":
        return RedisSeen.from_settings(settings)
    return MemorySeen()
