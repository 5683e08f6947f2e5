"""The App Home tab: published whenever a person opens it, and its "Start / continue my
application" button, which continues the interview in the person's DM."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.slack.gateway import SlackGateway
from bot.slack.render import HOME_START_ACTION


def register(app: AsyncApp, gateway: SlackGateway) -> None:
    @app.event("app_home_opened")
    async def on_home_opened(body: dict[str, Any]) -> None:
        await gateway.on_home_opened(body)

    @app.action(HOME_START_ACTION)
    async def on_home_start(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()  # first: Slack shows an error to the person after 3 s without it
        await gateway.on_home_start(body)
