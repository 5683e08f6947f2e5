"""Per-conversation FIFO workers for the push gateways (Telegram, Slack).

Why not the web gateway's `SessionLocks`: a web page waits for each reply, so a second message
while one is in flight can be refused with a 429. Telegram and Slack deliver updates on their
own schedule — a person who sends five quick messages expects five answers, in the order sent.
An `asyncio.Lock` does not guarantee that order once anything awaits before the lock is taken,
so each conversation gets a queue and one worker task that runs its jobs one after another.
Different conversations still run concurrently. A queue that grows past `max_pending` refuses
new jobs (the caller tells the person to slow down) so one flooding chat cannot exhaust memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("parley.chat_queue")

Job = Callable[[], Awaitable[None]]


class ChatQueues:
    """Run each conversation's jobs strictly in submission order, conversations in parallel."""

    def __init__(self, max_pending: int = 100) -> None:
        self.max_pending = max_pending
        self._queues: dict[str, asyncio.Queue[Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    def pending(self, key: str) -> int:
        queue = self._queues.get(key)
        return queue.qsize() if queue is not None else 0

    def submit(self, key: str, job: Job) -> bool:
        """Queue `job` for conversation `key`; False when that conversation already has
        `max_pending` jobs waiting (or the queues are closed): nothing was queued."""
        if self._closed:
            return False
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
        if queue.qsize() >= self.max_pending:
            return False
        queue.put_nowait(job)
        worker = self._workers.get(key)
        if worker is None or worker.done():
            self._workers[key] = asyncio.create_task(self._work(key, queue))
        return True

    async def _work(self, key: str, queue: asyncio.Queue[Job]) -> None:
        while True:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                # Idle conversations hold no task and no queue.
                if self._queues.get(key) is queue:
                    del self._queues[key]
                self._workers.pop(key, None)
                return
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one failed message must not stop the conversation
                logger.error("chat job failed: %s", type(exc).__name__)
            finally:
                queue.task_done()

    async def drain(self, timeout_s: float | None = None) -> None:
        """Wait until every queued job has run (tests, and a clean shutdown)."""

        async def _all() -> None:
            while self._workers:
                await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

        await asyncio.wait_for(_all(), timeout_s)

    async def close(self, timeout_s: float = 10.0) -> None:
        """Refuse new jobs, let queued ones finish for up to `timeout_s`, cancel the rest."""
        self._closed = True
        with contextlib.suppress(asyncio.TimeoutError):
            await self.drain(timeout_s)
        for task in list(self._workers.values()):
            task.cancel()
        for task in list(self._workers.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._workers.clear()
        self._queues.clear()
