"""Direct messages (`message` events). Which ones are answered is the gateway's decision
(`SlackGateway.on_message`): people in DMs yes; bots, edits, deletions and channels no."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack.gateway import SlackGateway


def register(app: AsyncApp, gateway: SlackGateway) -> None:
    @app.event("message")
    async def on_message(body: dict[str, Any]) -> None:
        await gateway.on_message(body)
