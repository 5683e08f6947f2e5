"""The Slack gateway over the HTTP Events API, against the Slack stand-in and a fake Rasa:
conversation round trips, buttons, the App Home, and every way a request can be refused."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from parley.slack_standin import (
    TEAM_ID,
    block_actions,
    event_callback,
    home_opened,
    message_event,
    posted_message,
)
from tests.slack.harness_slack import DM, OTHER, USER, Env, run, slack_env
from tests.web.fake_rasa import FakeRasa

SENDER = f"slack:{TEAM_ID}:{USER}"


async def get_json(env: Env, path: str) -> tuple[int, Any]:
    async with env.http.get(env.service.url + path) as response:
        return response.status, await response.json()


def test_dm_round_trip_with_buttons(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa) as env:
            status, _ = await env.post(event_callback(message_event(USER, "/start job_backend")))
            assert status == 200
            await env.standin.wait_posted(1)
            await env.settle()
            assert rasa.requests[0].sender == SENDER
            assert rasa.messages() == ['/start{"job_id":"backend"}']
            (post,) = env.standin.calls_of("chat.postMessage")
            assert post.args["channel"] == DM
            assert post.args["text"] == "Question 1?"
            assert post.args["unfurl_links"] is False
            section, actions = post.args["blocks"]
            assert section == {"type": "section", "text": {"type": "mrkdwn", "text": "Question 1?"}}
            assert actions["type"] == "actions"
            assert [
                (b["action_id"], b["text"]["text"], b["value"]) for b in actions["elements"]
            ] == [
                ("parley_button_0", "Yes", "yes"),
                ("parley_button_1", "No", "no"),
            ]

            # Typed text: passed through verbatim.
            await env.post(event_callback(message_event(USER, "Five years of Go")))
            assert await env.standin.wait_posted(2) == [
                "Question 1?",
                "Next question after: Five years of Go",
            ]

    run(scenario())


def test_button_press_updates_message_and_answers(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa) as env:
            await env.post(event_callback(message_event(USER, "/start")))
            await env.standin.wait_posted(1)
            post = env.standin.calls_of("chat.postMessage")[0]
            message = posted_message(post)
            press = block_actions(USER, "parley_button_0", "yes", title="Yes", message=message)
            started = time.monotonic()
            status, _ = await env.post(press)
            assert status == 200 and time.monotonic() - started < 3
            await env.standin.wait_posted(2)
            await env.settle()
            assert rasa.messages() == ["/start", "yes"]
            (update,) = env.standin.calls_of("chat.update")
            assert update.args["channel"] == DM and update.args["ts"] == message["ts"]
            blocks = update.args["blocks"]
            assert all(b["type"] != "actions" for b in blocks)  # buttons removed
            assert blocks[0]["text"]["text"] == "Question 1?"
            assert blocks[-1]["elements"][0]["text"] == "You chose: *Yes*"
            assert env.standin.posted()[-1] == "Next question after: yes"

            # The other button of the same (answered) message, pressed before the update
            # arrived: ignored.
            other = block_actions(USER, "parley_button_1", "no", title="No", message=message)
            assert (await env.post(other))[0] == 200
            await env.settle()
            assert rasa.messages() == ["/start", "yes"]
            assert len(env.standin.calls_of("chat.update")) == 1

    run(scenario())


def test_button_payloads_go_through_inbound_prepare(rasa: FakeRasa) -> None:
    """A forged payload like `/restart` in a button value is not passed to Rasa as an intent."""

    async def scenario() -> None:
        async with slack_env(rasa) as env:
            await env.post(event_callback(message_event(USER, "/start")))
            await env.standin.wait_posted(1)
            message = posted_message(env.standin.calls_of("chat.postMessage")[0])
            await env.post(block_actions(USER, "parley_button_0", "/restart", message=message))
            await env.standin.wait_posted(2)
            await env.settle()
            assert rasa.messages() == ["/start"]
            assert "I don't know the command /restart" in env.standin.posted()[-1]

    run(scenario())


def test_app_home_published_and_start_button(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa) as env:
            status, _ = await env.post(event_callback(home_opened(OTHER)))
            assert status == 200
            await env.standin.wait_for(lambda: bool(env.standin.calls_of("views.publish")))
            (publish,) = env.standin.calls_of("views.publish")
            assert publish.args["user_id"] == OTHER
            view = publish.args["view"]
            assert view["type"] == "home"
            text = json.dumps(view)
            assert "automated screening interviewer" in text and "/delete" in text
            (button,) = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
            assert button["text"]["text"] == "Start / continue my application"

            # Opening the Messages tab is not the Home tab: nothing published.
            await env.post(event_callback(home_opened(OTHER, tab="messages")))
            await env.settle()
            assert len(env.standin.calls_of("views.publish")) == 1

            press = block_actions(OTHER, button["action_id"], button["value"], title="Start")
            status, _ = await env.post(press)
            assert status == 200
            await env.standin.wait_posted(1)
            await env.settle()
            (opened,) = env.standin.calls_of("conversations.open")
            assert opened.args["users"] == OTHER
            channel = opened.response["channel"]["id"]
            assert rasa.messages() == ["/start"]
            assert rasa.senders() == [f"slack:{TEAM_ID}:{OTHER}"]
            assert env.standin.posted(channel) == ["Question 1?"]

    run(scenario())


def test_healthz_reports_team_bot_and_mode(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa) as env:
            status, body = await get_json(env, "/healthz")
            assert status == 200
            assert body == {
                "status": "ok",
                "team": "Parley Test",
                "team_id": TEAM_ID,
                "bot": "@parley",
                "mode": "http",
            }

    run(scenario())


def test_ack_within_three_seconds_when_rasa_is_slow(rasa: FakeRasa) -> None:
    rasa.delay = 3.5

    async def scenario() -> None:
        async with slack_env(rasa) as env:
            started = time.monotonic()
            status, _ = await env.post(event_callback(message_event(USER, "hello")))
            acked = time.monotonic() - started
            assert status == 200 and acked < 1.0, acked
            assert await env.standin.wait_posted(1) == ["Next question after: hello"]
            # A button press is acknowledged at once too, while Rasa takes its time.
            message = {"type": "message", "ts": "1700000000.000001", "text": "Q", "blocks": []}
            press = block_actions(USER, "parley_button_0", "yes", title="Yes", message=message)
            started = time.monotonic()
            status, _ = await env.post(press)
            acked = time.monotonic() - started
            assert status == 200 and acked < 1.0, acked
            assert (await env.standin.wait_posted(2))[-1] == "Next question after: yes"

    run(scenario())


def test_retries_and_duplicate_event_ids_get_one_reply(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa) as env:
            event = event_callback(message_event(USER, "only once"))
            now = int(time.time())
            assert (await env.post(event, timestamp=now))[0] == 200
            # Slack's retries: same event, new timestamp and signature, X-Slack-Retry-Num.
            for attempt in (1, 2, 3):
                status, _ = await env.post(event, retry_num=attempt, timestamp=now + 10 * attempt)
                assert status == 200
            # And a plain duplicate delivery.
            assert (await env.post(event, timestamp=now - 10))[0] == 200
            await env.standin.wait_posted(1)
            await env.settle()
            assert rasa.messages() == ["only once"]
            assert env.standin.posted() == ["Next question after: only once"]
            assert env.stats.duplicates == 4

    run(scenario())


def test_forged_unsigned_stale_and_replayed_requests_are_refused(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa) as env:
            event = event_callback(message_event(USER, "forged"))
            assert (await env.post(event, secret="not-the-secret"))[0] == 401
            assert (await env.post(event, headers={}))[0] == 401
            assert (await env.post(event, headers={"X-Slack-Signature": "v0=abc"}))[0] == 401
            ts_only = {"X-Slack-Request-Timestamp": str(int(time.time()))}
            assert (await env.post(event, headers=ts_only))[0] == 401
            bad_ts = {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}
            assert (await env.post(event, headers=bad_ts))[0] == 401
            assert (await env.post(event, timestamp=int(time.time()) - 301))[0] == 401
            assert (await env.post(event, timestamp=int(time.time()) + 301))[0] == 401
            # A real request answered once; the identical bytes and headers again: 401.
            body = json.dumps(event_callback(message_event(USER, "real"))).encode()
            headers = env.standin.headers(body)
            assert (await env.post(None, raw=body, headers=headers))[0] == 200
            assert (await env.post(None, raw=body, headers=headers))[0] == 401
            # The body changed under a valid signature: 401.
            tampered = body.replace(b"real", b"fake")
            assert (await env.post(None, raw=tampered, headers=headers))[0] == 401
            await env.standin.wait_posted(1)
            await env.settle()
            assert rasa.messages() == ["real"]
            assert env.standin.posted() == ["Next question after: real"]

    run(scenario())


def test_malformed_bodies(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa) as env:
            for raw, expected in [
                (b"{not json", 400),
                (b"\xff\xfe\x00", 400),
                (b"", 400),
                (b"[1, 2, 3]", 200),  # valid JSON, not a payload: acknowledged and dropped
                (b'{"type": "event_callback", "event": "x"}', 200),
                (b'{"type": "event_callback", "team_id": 5, "event_id": [], "event": {}}', 200),
            ]:
                status, _ = await env.post(None, raw=raw, headers=env.standin.headers(raw))
                assert status == expected, raw
            big = b'{"x": "' + b"a" * 300_000 + b'"}'
            status, _ = await env.post(None, raw=big, headers=env.standin.headers(big))
            assert status == 413
            form = b"nopayload=1"
            async with env.http.post(
                env.events_url,
                data=form,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    **env.standin.headers(form),
                },
            ) as response:
                assert response.status == 400
            challenge = {"type": "url_verification", "challenge": "abc123", "token": "t"}
            status, text = await env.post(challenge)
            assert status == 200 and json.loads(text) == {"challenge": "abc123"}
            await env.settle()
            assert rasa.messages() == []
            assert env.standin.calls_of("chat.postMessage") == []
            assert env.stats.errors == 0

    run(scenario())


def test_bots_edits_files_and_channels(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa) as env:
            await env.post(event_callback(message_event(USER, "I am a bot", bot_id="B0OTHER")))
            await env.post(event_callback(message_event(USER, "bot", subtype="bot_message")))
            await env.post(
                event_callback(
                    message_event(USER, "in a channel", channel="C0GENERAL", channel_type="channel")
                )
            )
            await env.post(
                event_callback(
                    {
                        "type": "message",
                        "subtype": "message_deleted",
                        "channel": DM,
                        "channel_type": "im",
                        "ts": "1.000001",
                    }
                )
            )
            await env.settle()
            assert env.standin.posted() == []
            await env.post(
                event_callback(
                    message_event(
                        USER, "", subtype="file_share", files=[{"id": "F1", "name": "cv.pdf"}]
                    )
                )
            )
            await env.post(
                event_callback(
                    {
                        "type": "message",
                        "subtype": "message_changed",
                        "channel": DM,
                        "channel_type": "im",
                        "ts": "1.000002",
                        "message": {"user": USER, "text": "edited answer"},
                    }
                )
            )
            # Our own chat.update also arrives as message_changed: never answered.
            await env.post(
                event_callback(
                    {
                        "type": "message",
                        "subtype": "message_changed",
                        "channel": DM,
                        "channel_type": "im",
                        "ts": "1.000003",
                        "message": {"bot_id": "B0PARLEYBOT", "text": "Question 1?"},
                    }
                )
            )
            posted = await env.standin.wait_posted(2)
            await env.settle()
            assert "type your answer" in posted[0]
            assert "not edits" in posted[1]
            assert len(env.standin.posted()) == 2
            assert rasa.messages() == []

    run(scenario())


def test_rasa_down_gives_friendly_message(rasa: FakeRasa) -> None:
    rasa.fail = True

    async def scenario() -> None:
        async with slack_env(rasa) as env:
            await env.post(event_callback(message_event(USER, "hello")))
            (text,) = await env.standin.wait_posted(1)
            assert "temporarily unavailable" in text and "saved" in text

    run(scenario())


def test_rate_limited_post_is_retried(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa) as env:
            await env.post(event_callback(message_event(USER, "first")))
            await env.standin.wait_posted(1)
            env.standin.ratelimit(1, retry_after_s=0)
            await env.post(event_callback(message_event(USER, "hello")))
            assert (await env.standin.wait_posted(2))[-1] == "Next question after: hello"
            limited = [c for c in env.standin.calls if c.status == 429]
            assert [c.method for c in limited] == ["chat.postMessage"]

    run(scenario())


def test_concurrent_messages_are_all_answered_one_at_a_time(rasa: FakeRasa) -> None:
    rasa.delay = 0.01

    async def scenario() -> None:
        async with slack_env(rasa) as env:
            texts = [f"answer {n}" for n in range(40)]
            now = int(time.time())
            await asyncio.gather(
                *[
                    env.post(event_callback(message_event(USER, text)), timestamp=now - n)
                    for n, text in enumerate(texts)
                ]
            )
            await env.standin.wait_posted(40, timeout=20)
            await env.settle()
            assert sorted(rasa.messages()) == sorted(texts)
            assert rasa.overlaps == []  # never two of one person's messages in Rasa at once
            other = event_callback(message_event(OTHER, "someone else"))
            await env.post(other)
            await env.standin.wait_posted(41)

    run(scenario())


def test_answered_in_order_of_delivery(rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa) as env:
            for n in range(20):
                await env.post(event_callback(message_event(USER, f"m{n}")))
            await env.standin.wait_posted(20)
            assert rasa.messages() == [f"m{n}" for n in range(20)]
            assert env.standin.posted() == [f"Next question after: m{n}" for n in range(20)]

    run(scenario())


def test_a_flood_is_told_to_slow_down(rasa: FakeRasa) -> None:
    rasa.delay = 0.3

    async def scenario() -> None:
        async with slack_env(rasa, max_pending=3) as env:
            for n in range(8):
                await env.post(event_callback(message_event(USER, f"flood {n}")))
            await env.standin.wait_for(lambda: any("faster" in t for t in env.standin.posted()))
            await env.settle()
            handled = rasa.messages()
            assert handled == [f"flood {n}" for n in range(len(handled))]  # a prefix, in order
            assert 3 <= len(handled) < 8

    run(scenario())
