"""A stand-in for Rasa's REST channel, and helpers to run aiohttp servers in background threads.

Only for testing the web gateway in isolation; the real Rasa is exercised by the e2e tests.
The stand-in replies deterministically:

* `/start...`  -> "Question 1?" with Yes and No buttons (payloads "yes" and "no", as
  Parley's real yes/no questions send)
* anything else -> "Next question after: <text>"

It can be told to fail (HTTP 500) or to be slow, and it records every request, flagging any
request that arrives while another one from the same sender is still being answered.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.rasa_client import RasaClient
from bot.web.app import create_app, serve

Reply = list[dict[str, Any]]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BackgroundLoop:
    """An asyncio event loop running in a daemon thread; `call()` runs a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True, name="test-loop")
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


@dataclass
class Recorded:
    sender: str
    message: str
    started: float
    finished: float = 0.0


def default_replies(sender: str, message: str) -> Reply:
    if message.startswith("/start"):
        return [
            {
                "text": "Question 1?",
                "buttons": [
                    {"title": "Yes", "payload": "yes"},
                    {"title": "No", "payload": "no"},
                ],
            }
        ]
    return [{"text": f"Next question after: {message}"}]


class FakeRasa:
    """POST /webhooks/rest/webhook on a free 127.0.0.1 port, in its own thread and loop."""

    def __init__(self, responder: Callable[[str, str], Reply] = default_replies) -> None:
        self.responder = responder
        self.fail = False  # answer HTTP 500
        self.delay = 0.0  # seconds to wait before answering
        self.requests: list[Recorded] = []
        self.overlaps: list[str] = []  # senders that had two requests in flight at once
        self._active: set[str] = set()
        self._lock = threading.Lock()
        self._loop: BackgroundLoop | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def messages(self) -> list[str]:
        with self._lock:
            return [r.message for r in self.requests]

    def senders(self) -> list[str]:
        with self._lock:
            return [r.sender for r in self.requests]

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        sender, message = str(body["sender"]), str(body["message"])
        record = Recorded(sender, message, time.monotonic())
        with self._lock:
            if sender in self._active:
                self.overlaps.append(sender)
            self._active.add(sender)
            self.requests.append(record)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.fail:
                return web.json_response({"error": "boom"}, status=500)
            return web.json_response(self.responder(sender, message))
        finally:
            with self._lock:
                self._active.discard(sender)
                record.finished = time.monotonic()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        await web.SockSite(self._runner, sock).start()

    def start(self) -> FakeRasa:
        self._loop = BackgroundLoop()
        self._loop.call(self._start())
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._runner is not None:
            self._loop.call(self._runner.cleanup())
        self._loop.close()
        self._loop = None


class Gateway:
    """The real web gateway (bot.web.app) on a free port, in its own thread and loop."""

    def __init__(
        self,
        rasa_url: str,
        *,
        rasa_timeout_s: float = 30.0,
        title: str = "Parley",
        public_dir: Path | None = None,
    ):
        self.rasa_url = rasa_url
        self.public_dir = public_dir
        self.rasa_timeout_s = rasa_timeout_s
        self.title = title
        self.port = 0
        self.app: web.Application | None = None
        self._loop: BackgroundLoop | None = None
        self._runner: web.AppRunner | None = None
        self._rasa: RasaClient | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        self._rasa = RasaClient(self.rasa_url, timeout_s=self.rasa_timeout_s, connect_retries=1)
        self.app = create_app(self._rasa, title=self.title, public_dir=self.public_dir)
        self.port = free_port()
        self._runner = await serve(self.app, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._rasa is not None:
            await self._rasa.aclose()

    def start(self) -> Gateway:
        self._loop = BackgroundLoop()
        self._loop.call(self._start())
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        self._loop.call(self._stop())
        self._loop.close()
        self._loop = None
