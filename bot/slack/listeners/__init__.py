"""slack-bolt listeners: each registers handlers that only hand work to the `SlackGateway`
(which queues it), so bolt can acknowledge Slack within its 3 seconds."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.gateway import SlackGateway
from bot.slack.listeners import actions, home, messages


def register(app: AsyncApp, gateway: SlackGateway) -> None:
    messages.register(app, gateway)
    home.register(app, gateway)
    actions.register(app, gateway)
