"""Fixtures for the Slack gateway tests: the real gateway (`SlackService`) between the Slack
stand-in (parley/slack_standin.py) and a fake Rasa (tests/web/fake_rasa.py).

Each test runs on its own event loop (`run`); the stand-in and the gateway share it, the fake
Rasa has its own thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.rasa_client import RasaClient
from bot.slack.server import SlackConfig, SlackService
from parley.slack_standin import TEAM_ID, SlackStandIn, slash_command
from tests.web.fake_rasa import FakeRasa

USER = "U0CANDIDATE1"
OTHER = "U0CANDIDATE2"
DM = "D0CANDIDATE1"


def run(coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


@dataclass
class Env:
    standin: SlackStandIn
    service: SlackService
    rasa: FakeRasa
    http: aiohttp.ClientSession

    @property
    def events_url(self) -> str:
        return self.service.url + "/slack/events"

    @property
    def stats(self) -> Any:
        return self.service.gateway.stats

    async def post(self, payload: Any, **kw: Any) -> tuple[int, str]:
        return await self.standin.post_event(self.http, self.events_url, payload, **kw)

    async def command(
        self, user: str, command: str, text: str = "", *, team_id: str = TEAM_ID, **kw: Any
    ) -> tuple[int, str]:
        """A slash command as Slack posts it (form-encoded, signed unless `headers`)."""
        fields = slash_command(user, command, text, team_id=team_id)
        return await self.standin.post_form(self.http, self.events_url, fields, **kw)

    @property
    def employer(self) -> Any:
        """The employer side (`EmployerSlack`; only with a database)."""
        return self.service.employer

    async def settle(self) -> None:
        """Let queued work finish (bolt runs listeners in the background)."""
        for _ in range(3):
            await asyncio.sleep(0.05)
            await self.service.gateway.queues.drain(10)
            if self.service.employer is not None:
                await self.service.employer.drain(10)


@asynccontextmanager
async def slack_env(
    rasa: FakeRasa,
    *,
    mode: str = "http",
    db: Any = None,
    linker: Any = None,
    start: bool = True,
    **config: Any,
) -> AsyncIterator[Env]:
    """A started gateway (`start=False`: the test calls `env.service.start()` itself)."""
    standin = await SlackStandIn().start()
    settings = SlackConfig(
        bot_token=standin.bot_token,
        app_token=standin.app_token if mode == "socket" else "",
        signing_secret=standin.signing_secret,
        mode=mode,
        api_url=standin.api_url,
        port=0,
        outbox_interval_s=0.1,
        ping_interval_s=5.0,
    )
    settings = dataclasses.replace(settings, **config)
    service: SlackService | None = None
    try:
        async with (
            RasaClient(rasa.url, timeout_s=10.0, connect_retries=0) as client,
            aiohttp.ClientSession() as http,
        ):
            service = SlackService(settings, client, db=db, linker=linker)
            if start:
                await service.start()
            if start and mode == "socket":
                await standin.wait_connected()
            yield Env(standin, service, rasa, http)
    finally:
        if service is not None:
            await service.stop()
        await standin.stop()
