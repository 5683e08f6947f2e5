"""Units of the Slack gateway: rendering within Slack's limits, the canonical payload form, the
"seen" records (memory and Redis, shared by replicas) and request signatures."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
import redis.asyncio as aioredis

from bot.rasa_client import BotMessage, Button
from bot.slack import payloads, render
from bot.slack.seen import MemorySeen, RedisSeen
from bot.slack.seen import client as seen_client
from parley.slack_standin import block_actions, event_callback, message_event, sign
from tests.slack.harness_slack import run
from tests.web.fake_rasa import free_port


def test_long_replies_are_split_within_limits() -> None:
    paragraph = ("word " * 500).strip()  # 2,499 characters
    text = "\n\n".join([paragraph] * 60)  # about 150,000 characters
    values = render.ButtonValues()
    out = render.render(BotMessage(text=text, buttons=[Button("Yes", "yes")]), values)
    assert len(out) == 2  # 60 sections: 40 in the first message, 20 in the second
    for outgoing in out:
        assert len(outgoing.blocks) <= 50 and len(outgoing.text) <= 3000
        for block in outgoing.blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
    assert out[-1].blocks[-1]["type"] == "actions"  # buttons follow the last part
    joined = " ".join(b["text"]["text"] for o in out for b in o.blocks if b["type"] == "section")
    assert joined.split() == text.split()  # nothing lost, words never cut


def test_one_huge_word_is_cut_and_escaped() -> None:
    pieces = render.split_text(render.escape("<" * 4000))
    assert all(len(p) <= 3000 for p in pieces) and "".join(pieces) == "&lt;" * 4000


def test_mentions_cannot_be_formed() -> None:
    (out,) = render.render(BotMessage(text="Hi <!channel> & <@U123>"), render.ButtonValues())
    assert out.text == "Hi &lt;!channel&gt; &amp; &lt;@U123&gt;"


def test_long_button_payloads_go_by_reference() -> None:
    values = render.ButtonValues()
    payload = '/start{"job_id":"' + "x" * 3000 + '"}'
    (out,) = render.render(BotMessage(text="Pick", buttons=[Button("T" * 100, payload)]), values)
    (button,) = out.blocks[-1]["elements"]
    assert len(button["value"]) <= 2000 and button["value"].startswith(render.REF_PREFIX)
    assert len(button["text"]["text"]) <= 75
    assert values.payload_for(button["value"]) == payload
    assert values.payload_for(render.REF_PREFIX + "unknown") is None
    # A short payload that merely looks like a reference is never confused with one.
    assert values.value_for(render.REF_PREFIX + "x").startswith(render.REF_PREFIX)


def test_many_buttons_use_several_action_blocks() -> None:
    buttons = [Button(f"Job {n}", f"/start job_{n}") for n in range(30)]
    (out,) = render.render(BotMessage(text="Jobs", buttons=buttons), render.ButtonValues())
    actions = [b for b in out.blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [25, 5]
    ids = [e["action_id"] for a in actions for e in a["elements"]]
    assert len(set(ids)) == 30


def test_canonical_form_keeps_only_what_parley_uses() -> None:
    body = event_callback(message_event("U0ABC", "hi", attachments=[{"x": 1}]))
    body["authorizations"] = "not a list"
    clean = payloads.canonical(body)
    assert clean is not None
    assert set(clean) == {"type", "team_id", "event_id", "event", "api_app_id", "event_time"}
    assert clean["event"]["text"] == "hi" and "attachments" not in clean["event"]
    press = block_actions("U0ABC", "parley_button_0", "yes", message={"ts": "1.000001"})
    press["message"]["blocks"] = [{"type": "section", "text": {"type": "mrkdwn", "text": "Q"}}, 5]
    clean = payloads.canonical(press)
    assert clean is not None and clean["message"]["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Q"}}
    ]
    assert payloads.canonical(block_actions("U0ABC", "someone_elses_action", "x")) is None
    assert payloads.canonical(block_actions("not-a-user", "parley_button_0", "x")) is None
    assert payloads.canonical(event_callback({"type": "reaction_added", "user": "U0ABC"})) is None
    assert payloads.canonical(["list"]) is None


def test_signature_rules() -> None:
    secret, body, now = "s3cret", b'{"a":1}', time.time()
    ts = str(int(now))
    good = sign(secret, body, ts)
    assert payloads.verify_signature(secret, body, ts, good, now) is None
    assert payloads.verify_signature(secret, body + b" ", ts, good, now) == "bad signature"
    assert payloads.verify_signature("other", body, ts, good, now) == "bad signature"
    assert payloads.verify_signature(secret, body, ts, None, now) == "unsigned"
    assert payloads.verify_signature(secret, body, "１２３", good, now) == "bad timestamp"
    assert payloads.verify_signature(secret, body, ts, good, now + 301) == "stale timestamp"
    assert payloads.verify_signature(secret, body, ts, "v0=é", now) == "bad signature"


def test_memory_seen_expires_and_is_bounded() -> None:
    async def scenario() -> None:
        seen = MemorySeen(max_entries=3)
        assert await seen.first_time("a", 0.05)
        assert not await seen.first_time("a", 0.05)
        await asyncio.sleep(0.06)
        assert await seen.first_time("a")
        for key in "bcd":
            assert await seen.first_time(key)
        assert len(seen._entries) == 3

    run(scenario())


def _redis_or_fail() -> aioredis.Redis:
    import redis

    try:
        redis.Redis(socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.fail("Redis is not running on 127.0.0.1:6379: run scripts/ensure-services.sh")
    return aioredis.Redis()


def test_redis_seen_is_shared_by_replicas() -> None:
    _redis_or_fail()

    async def scenario() -> None:
        a, b = RedisSeen(aioredis.Redis()), RedisSeen(aioredis.Redis())
        key = "test:" + secrets.token_hex(8)
        try:
            results = await asyncio.gather(*[r.first_time(key, 30) for r in (a, b, a, b)])
            assert sorted(results) == [False, False, False, True]
            assert await a._redis.ttl(RedisSeen.PREFIX + key) > 0
        finally:
            await a._redis.delete(RedisSeen.PREFIX + key)
            await a.close()
            await b.close()

    run(scenario())


def test_redis_seen_falls_back_to_memory_when_redis_is_away() -> None:
    async def scenario() -> None:
        seen = RedisSeen(seen_client("127.0.0.1", free_port()))
        started = time.monotonic()
        assert await seen.first_time("k")
        assert not await seen.first_time("k")
        assert time.monotonic() - started < 1.5  # well inside Slack's 3 s
        await seen.close()

    run(scenario())


def test_production_profile_shares_the_record_in_redis() -> None:
    from types import SimpleNamespace

    from bot.slack.seen import seen_for

    prod = SimpleNamespace(profile="prod", redis_host="127.0.0.1", redis_port=6379, redis_db=0)
    assert isinstance(seen_for(prod), RedisSeen)
    assert isinstance(seen_for(SimpleNamespace(profile="embedded")), MemorySeen)
