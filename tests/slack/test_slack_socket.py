"""The Slack gateway over Socket Mode (the default): the real slack-sdk websocket client against
the stand-in's `apps.connections.open` and envelope protocol."""

from __future__ import annotations

import asyncio
import json
import time

from parley.slack_standin import (
    TEAM_ID,
    block_actions,
    event_callback,
    home_opened,
    message_event,
    posted_message,
)
from tests.slack.harness_slack import DM, USER, run, slack_env
from tests.web.fake_rasa import FakeRasa


def test_socket_mode_round_trip_button_and_home(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa, mode="socket") as env:
            opened = env.standin.calls_of("apps.connections.open")
            assert [c.token for c in opened] == [env.standin.app_token]
            async with env.http.get(env.service.url + "/healthz") as response:
                assert (await response.json())["mode"] == "socket"
            # No HTTP events endpoint in Socket Mode.
            async with env.http.post(env.service.url + "/slack/events", data=b"{}") as response:
                assert response.status in (404, 405)

            envelope = await env.standin.push(event_callback(message_event(USER, "/start")))
            ack = await env.standin.wait_ack(envelope)
            assert ack == {"envelope_id": envelope}
            await env.standin.wait_posted(1)
            assert rasa.senders() == [f"slack:{TEAM_ID}:{USER}"]
            post = env.standin.calls_of("chat.postMessage")[0]
            assert post.args["channel"] == DM

            press = block_actions(
                USER, "parley_button_1", "no", title="No", message=posted_message(post)
            )
            envelope = await env.standin.push(press, kind="interactive")
            await env.standin.wait_ack(envelope)
            assert (await env.standin.wait_posted(2))[-1] == "Next question after: no"
            await env.settle()
            assert rasa.messages() == ["/start", "no"]
            assert (
                env.standin.calls_of("chat.update")[0].args["blocks"][-1]["elements"][0]["text"]
                == "You chose: *No*"
            )

            envelope = await env.standin.push(event_callback(home_opened(USER)))
            await env.standin.wait_ack(envelope)
            await env.standin.wait_for(lambda: bool(env.standin.calls_of("views.publish")))

    run(scenario())


def test_socket_mode_retries_deduped_and_ack_is_fast(rasa: FakeRasa) -> None:
    rasa.delay = 3.5

    async def scenario() -> None:
        async with slack_env(rasa, mode="socket") as env:
            event = event_callback(message_event(USER, "slow answer"))
            started = time.monotonic()
            first = await env.standin.push(event)
            await env.standin.wait_ack(first)
            assert time.monotonic() - started < 1.0
            for attempt in (1, 2):
                retry = await env.standin.push(event, retry_attempt=attempt)
                await env.standin.wait_ack(retry)
            assert await env.standin.wait_posted(1) == ["Next question after: slow answer"]
            await env.settle()
            assert rasa.messages() == ["slow answer"]
            assert env.stats.duplicates == 2

    run(scenario())


def test_socket_mode_survives_junk_envelopes(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa, mode="socket") as env:
            for text in ["not json", "{broken", "[]", json.dumps({"type": "events_api"})]:
                await env.standin.push_raw(text)
            junk = [
                await env.standin.push({"type": "event_callback", "event": []}),
                await env.standin.push("a string payload"),
                await env.standin.push({"x": 1}, kind="slash_commands"),
                await env.standin.push(
                    {"type": "block_actions", "actions": "no"}, kind="interactive"
                ),
            ]
            for envelope in junk:
                assert await env.standin.wait_ack(envelope) == {"envelope_id": envelope}
            await env.standin.push(event_callback(message_event(USER, "still here")))
            assert await env.standin.wait_posted(1) == ["Next question after: still here"]
            assert env.stats.errors == 0

    run(scenario())


def test_socket_mode_reconnects_when_slack_asks(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa, mode="socket") as env:
            first = env.standin.sockets[0]
            await env.standin.push_raw(json.dumps({"type": "disconnect", "reason": "refresh"}))
            await env.standin.wait_for(
                lambda: (
                    env.standin.sockets == [s for s in env.standin.sockets if s is not first]
                    and len(env.standin.sockets) == 1
                )
            )
            assert len(env.standin.calls_of("apps.connections.open")) == 2
            await asyncio.sleep(0.1)
            await env.standin.push(event_callback(message_event(USER, "after reconnect")))
            assert await env.standin.wait_posted(1) == ["Next question after: after reconnect"]

    run(scenario())
