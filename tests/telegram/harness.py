"""The Telegram test harness: the real gateway (aiogram, our polling loop or webhook) against
the Bot API stand-in (parley/telegram_standin.py) and a fake Rasa that also records the
metadata of each message. The fixtures are in conftest.py.

Each test runs its scenario on its own event loop (`run`); the stand-in and the fake Rasa run
in their own threads, so waiting for them never blocks the gateway.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.linking import ChannelLinker
from bot.outbox_delivery import OutboxDelivery
from bot.rasa_client import RasaClient
from bot.telegram.gateway import TelegramConfig, TelegramGateway, Transcribe
from bot.telegram.server import TelegramService, make_bot
from bot.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH
from parley.telegram_standin import TelegramStandIn
from storage.db import Database
from storage.files import FileStore
from tests.web.fake_rasa import FakeRasa, free_port

JOBS_DIR = Path(__file__).resolve().parent / "jobs"
SECRET = "test-secret_0123456789"
CHAT = 424242


class RecordingRasa(FakeRasa):
    """FakeRasa that also keeps each request's metadata (speech, document), and apart from it
    the message id every request carries (bot/rasa_client.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.metadata: list[dict[str, Any] | None] = []
        self.message_ids: list[str | None] = []

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()  # aiohttp caches the body: the parent reads it again
        metadata = dict(body.get("metadata") or {})
        self.message_ids.append(metadata.pop("message_id", None))
        self.metadata.append(metadata or None)
        return await super()._webhook(request)


def run(coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


@dataclass
class Harness:
    gateway: TelegramGateway
    service: TelegramService
    standin: TelegramStandIn
    rasa: RecordingRasa
    url: str
    http: aiohttp.ClientSession
    kept: list[tuple[str, bytes]] = field(default_factory=list)

    def send(self, update: dict[str, Any]) -> int:
        return self.standin.enqueue(update)

    async def settle(self) -> None:
        """Wait until the stand-in has handed out every update and the gateway handled it."""
        await self.standin.wait_for(lambda: self.standin.pending_updates() == 0, 10, "polling")
        for _ in range(3):  # updates may still be on their way from getUpdates to the queue
            await asyncio.sleep(0.05)
            await self.gateway.drain(20)

    async def post(
        self, body: Any, *, secret: str | None = SECRET, raw: bytes | None = None
    ) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        data = raw if raw is not None else json.dumps(body).encode()
        async with self.http.post(self.url + WEBHOOK_PATH, data=data, headers=headers) as r:
            await r.read()
            return r.status


@asynccontextmanager
async def telegram(
    standin: TelegramStandIn,
    rasa: FakeRasa,
    *,
    db: Database | None = None,
    files: FileStore | None = None,
    mode: str = "polling",
    transcribe: Transcribe | None = None,
    config: TelegramConfig | None = None,
    question: Any = None,
) -> AsyncIterator[Harness]:
    """The gateway for one test (polling or webhook), with the database when given."""
    from screening.spoken import current_question

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bot = make_bot(standin.token, standin.url)
    kept: list[tuple[str, bytes]] = []

    async def db_question(sender: str) -> Any:
        assert db is not None
        return await asyncio.to_thread(current_question, db, sender)

    async def keep(sender: str, wav: bytes) -> str | None:
        kept.append((sender, wav))
        if db is not None and files is not None:
            from privacy.recordings import keep_answer_audio

            return await asyncio.to_thread(keep_answer_audio, db, files, sender, wav)
        return f"kept-{len(kept)}"

    try:
        async with (
            RasaClient(rasa.url, timeout_s=10.0, connect_retries=0) as client,
            aiohttp.ClientSession() as http,
        ):
            gateway = TelegramGateway(
                bot,
                client,
                config=config,
                question=question or (db_question if db is not None else None),
                transcribe=transcribe,
                keep_audio=keep,
                linker=ChannelLinker(db) if db is not None else None,
            )
            outbox = (
                OutboxDelivery(db, "telegram:", gateway.deliver, interval_s=0.2)
                if db is not None
                else None
            )
            service = TelegramService(
                gateway,
                mode=mode,
                port=port,
                webhook_url=url + WEBHOOK_PATH,
                webhook_secret=SECRET,
                outbox=outbox,
                poll_timeout_s=1,
            )
            await service.start()
            try:
                yield Harness(gateway, service, standin, rasa, url, http, kept)  # type: ignore[arg-type]
            finally:
                await service.stop()
    finally:
        await bot.session.close()
