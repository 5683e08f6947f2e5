"""Organizations' notifications (interview completed, a candidate asked for a person or a
review, bookings made / changed / cancelled) posted to each organization's Slack channel.

Why a loop here and the events in `employers.notifications`: what is worth telling and the
"each event once" rule (a unique event key) belong to the capability; this loop only turns
the pending rows into `chat.postMessage` calls and records the outcome. A refusal (the bot
is not in the channel, the channel was archived) is recorded with Slack's error code and
retried later a few times before the row is given up; after one failure the other rows for
that channel wait for the next round, so a broken channel costs one call per round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.render import plain
from storage.db import Database

logger = logging.getLogger("parley.slack.employer")


@dataclass
class NotifyStats:
    rounds: int = 0
    sent: int = 0
    failed: int = 0


class EmployerNotifications:
    """Collect and deliver employer notifications every `interval_s` seconds."""

    def __init__(self, db: Database, client: AsyncWebClient, *, interval_s: float = 5.0) -> None:
        self.db = db
        self.client = client
        self.interval_s = interval_s
        self.stats = NotifyStats()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()

    async def run_once(self) -> int:
        """Collect new events, then deliver what is pending; returns how many went out."""
        from employers import notifications

        async with self._lock:
            self.stats.rounds += 1
            round_ = notifications.delivery_round(self.db)
            if not await asyncio.to_thread(round_.__enter__):
                # Another Slack gateway replica is posting this round.
                await asyncio.to_thread(round_.__exit__, None, None, None)
                return 0
            try:
                return await self._deliver()
            finally:
                await asyncio.to_thread(round_.__exit__, None, None, None)

    async def _deliver(self) -> int:
        from employers import notifications

        await asyncio.to_thread(notifications.collect, self.db)
        items = await asyncio.to_thread(notifications.pending, self.db)
        sent = 0
        broken: set[str] = set()
        for notification_id, channel, text in items:
            if channel in broken:
                continue
            outgoing = plain(text)
            try:
                await self.client.chat_postMessage(
                    channel=channel,
                    text=outgoing.text,
                    blocks=outgoing.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except SlackApiError as exc:
                code = str(exc.response.get("error", "unknown")) if exc.response else "unknown"
                await self._failed(notification_id, channel, code[:100], broken)
                continue
            except Exception as exc:  # network trouble: retried next round
                await self._failed(notification_id, channel, type(exc).__name__, broken)
                continue
            await asyncio.to_thread(
                notifications.mark_sent, self.db, notification_id, channel=channel
            )
            self.stats.sent += 1
            sent += 1
        return sent

    async def _failed(
        self, notification_id: int, channel: str, code: str, broken: set[str]
    ) -> None:
        from employers import notifications

        broken.add(channel)
        self.stats.failed += 1
        logger.warning("employer notification %s not delivered: %s", notification_id, code)
        await asyncio.to_thread(notifications.mark_failed, self.db, notification_id, code)

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.ensure_future(self._loop())

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup: try again next round
                logger.error("employer notifications failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop after the round in progress, so a message posted is also marked sent (a
        cancel between the two would post it again after a restart); a round stuck longer
        than `grace_s` is cancelled."""
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
