"""Proactive messages on push channels (bot.outbox_delivery): delivered once, in order,
retried after a failure, only for the gateway's own channel."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.outbox_delivery import OutboxDelivery
from privacy import outbox
from storage.db import Database
from storage.models import OutboundMessage
from tests.privacy.rights_support import person

TG = "telegram:777"


def _enqueue(db: Database, sender: str, *texts: str) -> None:
    with db.transaction() as s:
        from storage.repositories import CandidateRepository

        candidate = CandidateRepository(s).by_sender(sender)
        for text in texts:
            outbox.enqueue(s, candidate.id, sender, "code", text)


def test_delivered_once_in_order_and_only_own_channel(db: Database) -> None:
    person(db, TG, "web:other-session-01")
    _enqueue(db, TG, "first", "second")
    _enqueue(db, "web:other-session-01", "for the web page")
    got: list[tuple[str, str]] = []

    async def deliver(sender: str, text: str) -> None:
        got.append((sender, text))

    delivery = OutboxDelivery(db, "telegram:", deliver)
    assert asyncio.run(delivery.run_once()) == 2
    assert asyncio.run(delivery.run_once()) == 0
    assert got == [(TG, "first"), (TG, "second")]
    with db.transaction() as s:
        rows = {r.text: r for r in s.scalars(select(OutboundMessage))}
        assert rows["first"].sent_at and rows["second"].sent_at
        assert rows["for the web page"].sent_at is None


def test_failure_is_retried_later_and_keeps_order(db: Database) -> None:
    person(db, TG)
    _enqueue(db, TG, "code 1", "about code 1")
    got: list[str] = []
    fail = {"on": True}

    async def deliver(_sender: str, text: str) -> None:
        if fail["on"]:
            raise ConnectionError("telegram away")
        got.append(text)

    delivery = OutboxDelivery(db, "telegram:", deliver)
    assert asyncio.run(delivery.run_once()) == 0
    with db.transaction() as s:
        attempts = {r.text: r.attempts for r in s.scalars(select(OutboundMessage))}
    assert attempts == {"code 1": 1, "about code 1": 0}  # the second waits behind the first
    fail["on"] = False
    assert asyncio.run(delivery.run_once()) == 2
    assert got == ["code 1", "about code 1"]


def test_background_loop_delivers_and_stops(db: Database) -> None:
    person(db, TG)
    got: list[str] = []

    async def deliver(_sender: str, text: str) -> None:
        got.append(text)

    async def run() -> None:
        delivery = OutboxDelivery(db, "telegram:", deliver, interval_s=0.05)
        delivery.start()
        await asyncio.to_thread(_enqueue, db, TG, "hello")
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.05)
        await delivery.stop()

    asyncio.run(run())
    assert got == ["hello"]
