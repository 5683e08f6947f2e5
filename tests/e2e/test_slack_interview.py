"""A full interview on Slack, end to end: Slack stand-in (Socket Mode) → the real slack-bolt
gateway → real Rasa and action servers → database rows; then the same candidate links the web
chat with a one-time code and sees the same application there."""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest
from sqlalchemy import select

from bot.linking import ChannelLinker
from bot.rasa_client import RasaClient
from bot.slack.server import SlackConfig, SlackService
from bot.web.app import open_storage
from parley.slack_standin import (
    TEAM_ID,
    SlackStandIn,
    block_actions,
    event_callback,
    message_event,
    posted_message,
)
from storage.models import Answer, Application, ChannelIdentity, ConsentRecord
from tests.e2e.conftest import Stack
from tests.e2e.test_interview_rest import VALID

pytestmark = pytest.mark.e2e


def _rows(stack: Stack, sender: str) -> tuple[Application, dict[str, Answer], int]:
    with stack.db.transaction() as s:
        candidate = s.scalar(
            select(ChannelIdentity.candidate_id).where(ChannelIdentity.sender_id == sender)
        )
        app = s.scalars(select(Application).where(Application.candidate_id == candidate)).one()
        answers = {
            a.question_id: a
            for a in s.scalars(select(Answer).where(Answer.application_id == app.id))
        }
        consents = len(
            s.scalars(select(ConsentRecord).where(ConsentRecord.candidate_id == candidate)).all()
        )
        return app, answers, consents


def test_full_interview_on_slack_and_link_to_the_web_chat(stack: Stack) -> None:
    user = "U" + secrets.token_hex(5).upper()
    sender = f"slack:{TEAM_ID}:{user}"
    db, _files = open_storage(stack.settings)

    async def scenario() -> None:
        standin = await SlackStandIn().start()
        config = SlackConfig(
            bot_token=standin.bot_token,
            app_token=standin.app_token,
            mode="socket",
            api_url=standin.api_url,
            port=0,
            outbox_interval_s=0.2,
        )
        async with RasaClient(stack.settings.rasa_url) as rasa:
            service = SlackService(config, rasa, db=db, linker=ChannelLinker(db))
            await service.start()
            try:
                await standin.wait_connected()
                seen = 0

                async def say(text: str) -> list[str]:
                    nonlocal seen
                    await standin.push(event_callback(message_event(user, text)))
                    await standin.wait_for(lambda: len(standin.posted()) > seen, 60)
                    await asyncio.sleep(0.3)  # a turn may post several messages
                    await service.gateway.queues.drain(60)
                    new = standin.posted()[seen:]
                    seen = len(standin.posted())
                    return new

                intro = await say("/start test-role")
                assert any("Test Role" in t for t in intro), intro
                # Consent by pressing the Block Kit button, as a candidate would.
                post = standin.calls_of("chat.postMessage")[-1]
                blocks = json.dumps(post.args.get("blocks"))
                assert "parley_button_0" in blocks
                await standin.push(
                    block_actions(
                        user, "parley_button_0", "yes", title="Yes", message=posted_message(post)
                    ),
                    kind="interactive",
                )
                await standin.wait_for(lambda: len(standin.posted()) > seen, 60)
                await asyncio.sleep(0.3)
                await service.gateway.queues.drain(60)
                seen = len(standin.posted())
                assert standin.calls_of("chat.update"), "the pressed message was updated"
                await say("yes")  # 16 or older
                last: list[str] = []
                for _, text in VALID:
                    last = await say(text)
                assert any("Thank" in t or "thank" in t for t in last), last

                # Link the web chat to this application with a one-time code.
                issued = await say("/link")
                code = issued[-1].split("code is ", 1)[1].split(".", 1)[0]
                web = stack.http.post(
                    stack.settings.web_url + "api/messages",
                    json={"session": "linked-" + secrets.token_hex(6), "text": f"/link {code}"},
                )
                texts = [m["text"] for m in web.json()["messages"]]
                assert "now linked" in texts[0] and "Slack" in texts[0], texts
                # The Slack DM hears about the new link through the outbox.
                await standin.wait_for(
                    lambda: any("was just linked" in t for t in standin.posted()), 30
                )
            finally:
                await service.stop()
                await standin.stop()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 600))
        app, answers, consents = _rows(stack, sender)
        assert app.status == "completed" and consents >= 1
        assert set(answers) == {q for q, _ in VALID}
        assert answers["motivation"].raw_text == VALID[0][1]
        assert answers["years"].normalized["value"] == 6
        assert {a.channel for a in answers.values()} == {"slack"}
    finally:
        db.dispose()
