"""Deliver the outbox (one-time codes, notices, export links) on a push channel.

The web page polls `/api/outbox`; Telegram and Slack cannot be polled by the candidate, so
their gateways run this loop: every few seconds it takes the channel's undelivered messages,
hands each to the gateway's `deliver(sender_id, text)` and marks it sent — or, when delivery
raises, counts a failed attempt so the message is retried later (up to
`privacy.outbox.MAX_ATTEMPTS`). Messages are delivered oldest first and one at a time, so a
candidate reads a code before the message that refers to it. Several replicas of a gateway
would each deliver a row once the row is read unsent; the row is claimed inside the same
transaction with `FOR UPDATE SKIP LOCKED` on PostgreSQL so they do not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select

from privacy import outbox
from storage.db import Database
from storage.models import OutboundMessage

logger = logging.getLogger("parley.outbox")

Deliver = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True)
class _Item:
    id: int
    sender_id: str
    text: str | None


class OutboxDelivery:
    """Background delivery of one channel's proactive messages."""

    def __init__(
        self, db: Database, prefix: str, deliver: Deliver, *, interval_s: float = 2.0
    ) -> None:
        if not prefix.endswith(":"):
            raise ValueError("prefix is a channel prefix such as 'telegram:'")
        self.db = db
        self.prefix = prefix
        self.deliver = deliver
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()

    def _pending(self) -> list[_Item]:
        with self.db.transaction() as s:
            rows = outbox.pending_for_channel(s, self.prefix, limit=50)
            return [_Item(r.id, r.sender_id, r.text) for r in rows]

    def _finish(self, item_id: int, ok: bool) -> None:
        with self.db.transaction() as s:
            row = s.scalar(
                select(OutboundMessage)
                .where(OutboundMessage.id == item_id, OutboundMessage.sent_at.is_(None))
                .with_for_update(skip_locked=True)
            )
            if row is None:  # delivered meanwhile by another replica, or erased
                return
            if ok:
                outbox.mark_sent(row)
            else:
                outbox.mark_failed(row)

    async def run_once(self) -> int:
        """Deliver what is pending now; returns how many messages went out."""
        async with self._lock:
            items = await asyncio.to_thread(self._pending)
            sent = 0
            failed_senders: set[str] = set()
            for item in items:
                if item.sender_id in failed_senders:
                    continue  # keep this person's messages in order: retry them all later
                if not item.text:  # unreadable (the candidate's key is gone): drop it
                    await asyncio.to_thread(self._finish, item.id, True)
                    continue
                try:
                    await self.deliver(item.sender_id, item.text)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    logger.warning("outbox delivery failed: %s", type(exc).__name__)
                    failed_senders.add(item.sender_id)
                    await asyncio.to_thread(self._finish, item.id, False)
                    continue
                await asyncio.to_thread(self._finish, item.id, True)
                sent += 1
            return sent

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database was away: try again next round
                logger.warning("outbox round failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop())

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop after the round in progress: a message handed to the channel is marked
        sent before the loop ends (cancelling between the two would send it again after a
        restart). A round stuck longer than `grace_s` is cancelled."""
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        except asyncio.CancelledError:
            self._task.cancel()
            raise
        self._task = None
