"""Presses on the buttons under Rasa's replies (`parley_button_<n>`)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.slack.gateway import SlackGateway
from bot.slack.render import BUTTON_PREFIX

BUTTON_ACTION_RE = re.compile("^" + re.escape(BUTTON_PREFIX) + r"\d{1,4}$")


def register(app: AsyncApp, gateway: SlackGateway) -> None:
    @app.action(BUTTON_ACTION_RE)
    async def on_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()  # first: the work (chat.update, Rasa) runs in the person's queue
        await gateway.on_button(body)
