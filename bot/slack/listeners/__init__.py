"""slack-bolt listeners: each registers handlers that only hand work to the `SlackGateway`
(which queues it), so bolt can acknowledge Slack within its 3 seconds. The employer side's
listeners (`employer.py`: `/shortlist`, `/parley-admin`, its buttons and modals) hand work to
`bot.slack.employer.service.EmployerSlack` the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from bot.slack.gateway import SlackGateway
from bot.slack.listeners import actions, home, messages

if TYPE_CHECKING:
    from bot.slack.employer.service import EmployerSlack


def register(app: AsyncApp, gateway: SlackGateway, employer: EmployerSlack | None = None) -> None:
    messages.register(app, gateway)
    home.register(app, gateway)
    actions.register(app, gateway)
    if employer is not None:  # the employer side needs the database
        from bot.slack.listeners import employer as employer_listeners

        employer_listeners.register(app, employer)
