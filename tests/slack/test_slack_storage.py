"""The Slack gateway with the real database (SQLite and PostgreSQL): `/link` from another
channel, outbox delivery into the DM, and the process refusing a wrong token (exit 3)."""

from __future__ import annotations

import dataclasses
import logging
import threading

import pytest
from sqlalchemy import select

from bot.linking import ChannelLinker
from bot.slack.server import run_slack_gateway
from parley.settings import Settings
from parley.slack_standin import TEAM_ID, SlackStandIn, event_callback, message_event
from privacy import outbox
from screening import channel_links
from storage.db import Database
from storage.models import OutboundMessage
from tests.privacy.rights_support import person
from tests.slack.harness_slack import USER, run, slack_env
from tests.web.fake_rasa import BackgroundLoop, FakeRasa

SENDER = f"slack:{TEAM_ID}:{USER}"


def test_link_from_web_then_resume_in_slack(db: Database, rasa: FakeRasa) -> None:
    web_sender = "web:link-session-0001"
    person(db, web_sender)
    code = channel_links.issue_code(db, web_sender).code

    async def scenario() -> None:
        async with slack_env(rasa, db=db, linker=ChannelLinker(db)) as env:
            await env.post(event_callback(message_event(USER, "/link ZZZZ-ZZZZ")))
            (wrong,) = await env.standin.wait_posted(1)
            assert "isn't right" in wrong
            await env.post(event_callback(message_event(USER, f"/link {code}")))
            posted = await env.standin.wait_posted(3)
            await env.settle()
            assert "now linked" in posted[1]
            assert posted[2] == "Question 1?"  # the application continues here
            # The codes never reached Rasa; only the resume did, as the Slack sender.
            assert rasa.messages() == ["/start"]
            assert rasa.senders() == [SENDER]

    run(scenario())


def test_outbox_messages_are_delivered_to_the_dm(db: Database, rasa: FakeRasa) -> None:
    candidate = person(db, SENDER)
    with db.transaction() as s:
        outbox.enqueue(s, candidate, SENDER, "code", "Your code is 123 456.")
        outbox.enqueue(s, candidate, SENDER, "notice", "Second <b>& last</b>")
        outbox.enqueue(s, candidate, "web:someone-else-01", "code", "not for Slack")

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            posted = await env.standin.wait_posted(2)
            assert posted == ["Your code is 123 456.", "Second &lt;b&gt;&amp; last&lt;/b&gt;"]
            (opened,) = env.standin.calls_of("conversations.open")
            assert opened.args["users"] == USER
            channel = opened.response["channel"]["id"]
            assert env.standin.posted(channel) == posted

    run(scenario())
    with db.transaction() as s:
        rows = {r.sender_id: r for r in s.scalars(select(OutboundMessage))}
        assert rows[SENDER].sent_at is not None
        assert rows["web:someone-else-01"].sent_at is None


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_outbox_delivery_failure_is_retried(db: Database, rasa: FakeRasa) -> None:
    candidate = person(db, SENDER)
    with db.transaction() as s:
        outbox.enqueue(s, candidate, SENDER, "code", "Your code is 654 321.")

    async def scenario() -> None:
        async with slack_env(rasa, db=db, start=False) as env:
            env.standin.fail("chat.postMessage", "channel_not_found")
            await env.service.start()
            assert await env.standin.wait_posted(1) == ["Your code is 654 321."]
            assert env.stats.api_errors == {"channel_not_found": 1}

    run(scenario())
    with db.transaction() as s:
        row = s.scalars(select(OutboundMessage)).one()
        assert row.sent_at is not None and row.attempts == 2


def test_wrong_token_exits_3_with_one_clear_line(
    caplog: pytest.LogCaptureFixture, tmp_path
) -> None:
    loop = BackgroundLoop()
    standin = loop.call(SlackStandIn().start())
    try:
        settings = dataclasses.replace(
            Settings(root=tmp_path),
            var_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'never-opened.db'}",
            slack_bot_token="xoxb-wrong",
            slack_app_token=standin.app_token,
            slack_api_url=standin.api_url,
            slack_port=0,
        )
        caplog.set_level(logging.INFO, logger="parley.slack")
        with pytest.raises(SystemExit) as exited:
            run_slack_gateway(settings)
        assert exited.value.code == 3
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert lines == [
            "Slack bot token was rejected (invalid_auth): check PARLEY_SLACK_BOT_TOKEN"
        ]
        assert [c.method for c in standin.calls] == ["auth.test"]
        assert not (tmp_path / "never-opened.db").exists()
    finally:
        loop.call(standin.stop())
        loop.close()
    assert threading.active_count() >= 1


def test_unreachable_web_api_exits_1_with_one_clear_line(
    caplog: pytest.LogCaptureFixture, tmp_path
) -> None:
    from tests.web.fake_rasa import free_port

    url = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    settings = dataclasses.replace(
        Settings(root=tmp_path),
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'never-opened.db'}",
        slack_bot_token="xoxb-any",
        slack_app_token="xapp-any",
        slack_api_url=url,
        slack_port=0,
    )
    caplog.set_level(logging.INFO, logger="parley.slack")
    with pytest.raises(SystemExit) as exited:
        run_slack_gateway(settings)
    assert exited.value.code == 1
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and "cannot reach Slack's Web API" in lines[0]
    assert "PARLEY_SLACK_API_URL" in lines[0]
    assert not (tmp_path / "never-opened.db").exists()
