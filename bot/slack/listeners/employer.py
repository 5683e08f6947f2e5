"""The employer side's listeners: `/shortlist`, `/parley-admin`, `/parley-override`, the
shortlist's buttons (`employer_*`) and the review modals (`employer_*` callback ids). Each
acknowledges first (or from what it can check without the database) and hands the work to
`EmployerSlack`."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.slack.employer.service import EmployerSlack

EMPLOYER_ID_RE = re.compile(r"^employer_[a-z_]{1,30}$")


def register(app: AsyncApp, employer: EmployerSlack) -> None:
    @app.command("/shortlist")
    async def on_shortlist(ack: AsyncAck, body: dict[str, Any]) -> None:
        await employer.on_shortlist(body, ack)  # acknowledges before any database work

    @app.command("/parley-admin")
    async def on_admin(ack: AsyncAck, body: dict[str, Any]) -> None:
        await employer.on_admin(body, ack)

    @app.command("/parley-override")
    async def on_override(ack: AsyncAck, body: dict[str, Any]) -> None:
        await employer.on_override(body, ack)  # usage problems are answered before any I/O

    @app.action(EMPLOYER_ID_RE)
    async def on_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()  # first: Slack shows an error to the person after 3 s without it
        await employer.on_action(body)

    @app.view(EMPLOYER_ID_RE)
    async def on_view(ack: AsyncAck, body: dict[str, Any]) -> None:
        errors = await employer.on_view_submission(body)
        if errors:
            await ack(response_action="errors", errors=errors)
        else:
            await ack()
