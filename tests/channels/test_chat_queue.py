"""Per-conversation ordering for the push gateways (bot.chat_queue.ChatQueues)."""

from __future__ import annotations

import asyncio
import random

from bot.chat_queue import ChatQueues


def test_each_chat_runs_in_order_and_chats_run_in_parallel() -> None:
    async def run() -> tuple[dict[str, list[int]], float]:
        queues = ChatQueues(max_pending=200)
        seen: dict[str, list[int]] = {"a": [], "b": []}
        active: dict[str, int] = {"a": 0, "b": 0}
        overlap = 0
        rng = random.Random(1)

        def job(chat: str, n: int):
            async def go() -> None:
                nonlocal overlap
                active[chat] += 1
                assert active[chat] == 1  # never two jobs of one chat at once
                if active["a"] and active["b"]:
                    overlap += 1
                await asyncio.sleep(rng.random() / 1000)
                seen[chat].append(n)
                active[chat] -= 1

            return go

        for n in range(100):  # 100 messages "in one second" from each of two chats
            assert queues.submit("a", job("a", n))
            assert queues.submit("b", job("b", n))
        await queues.drain(10)
        await queues.close()
        return seen, overlap

    seen, overlap = asyncio.run(run())
    assert seen["a"] == list(range(100)) and seen["b"] == list(range(100))
    assert overlap > 0


def test_a_full_queue_refuses_and_a_failing_job_does_not_stop_the_chat() -> None:
    async def run() -> tuple[list[bool], list[int]]:
        queues = ChatQueues(max_pending=3)
        done: list[int] = []
        gate = asyncio.Event()

        def job(n: int):
            async def go() -> None:
                await gate.wait()
                if n == 1:
                    raise RuntimeError("boom")
                done.append(n)

            return go

        accepted = [queues.submit("a", job(n)) for n in range(6)]
        await asyncio.sleep(0)
        gate.set()
        await queues.drain(5)
        await queues.close()
        assert not queues.submit("a", job(9))  # closed
        return accepted, done

    accepted, done = asyncio.run(run())
    # The first job is taken by the worker at once, so three more fit in the queue.
    assert accepted.count(True) in (3, 4) and accepted[-1] is False
    assert 1 not in done and done == sorted(done) and done[0] == 0
