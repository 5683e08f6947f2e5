"""The real web gateway with the app database and file store attached (export downloads and
outbox delivery), on a free port in a background thread, in front of the stand-in Rasa."""

from __future__ import annotations

from aiohttp import web
from fake_rasa import BackgroundLoop, free_port

from bot.rasa_client import RasaClient
from bot.web.app import create_app, serve
from storage.db import Database
from storage.files import FileStore


class PrivacyGateway:
    def __init__(self, rasa_url: str, db: Database, files: FileStore) -> None:
        self.rasa_url, self.db, self.files = rasa_url, db, files
        self.port = 0
        self._loop: BackgroundLoop | None = None
        self._runner: web.AppRunner | None = None
        self._rasa: RasaClient | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        self._rasa = RasaClient(self.rasa_url, timeout_s=5.0, connect_retries=1)
        app = create_app(self._rasa, db=self.db, files=self.files)
        self.port = free_port()
        self._runner = await serve(app, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._rasa is not None:
            await self._rasa.aclose()

    def start(self) -> PrivacyGateway:
        self._loop = BackgroundLoop()
        self._loop.call(self._start())
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call(self._stop())
            self._loop.close()
            self._loop = None
