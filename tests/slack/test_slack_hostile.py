"""Generated hostile and malformed payloads (seeded, reproducible) through both transports.

Over HTTP every payload is sent twice: once forged (wrong secret, stale, missing or garbled
signature headers) — none may be accepted or reach Rasa — and once correctly signed, where the
gateway must answer without a server error or a failed listener. Over Socket Mode the same
payloads arrive as envelopes, plus raw junk frames. Afterwards the gateway still answers a
normal message, and nothing a person could have typed appears in the log.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import time
from typing import Any

import pytest

from parley.slack_standin import (
    block_actions,
    event_callback,
    home_opened,
    message_event,
)
from tests.slack.harness_slack import USER, run, slack_env
from tests.web.fake_rasa import FakeRasa

SEED = 20240606
COUNT = 1000
MARKER = "PRIVATE-MARKER"  # appears in generated texts; must never reach a log line

JUNK_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    float("inf"),
    "",
    " ",
    "\x00\x01\x02",
    "<!channel> &amp; <@U1>",
    "🙂" * 50,
    "\ud800" if False else "\u202e\u200b",
    "a" * 5000,
    [],
    [None],
    [{}],
    {},
    {"id": []},
    {"type": "message"},
    "U0CANDIDATE1",
    "D0CANDIDATE1",
    "T0PARLEY1",
    "1.000001",
    "parley_button_0",
    "parley_home_start",
    "/restart",
    "/start job_x",
    "../../etc/passwd",
]


def _bases(rng: random.Random) -> list[dict[str, Any]]:
    text = f"{MARKER} {rng.randint(0, 10**6)}"
    message = {"type": "message", "ts": "1700000000.000100", "text": "Q?", "blocks": []}
    return [
        event_callback(message_event(USER, text)),
        event_callback(message_event(USER, text, subtype="file_share", files=[{"id": "F1"}])),
        event_callback(message_event(USER, text, subtype="message_changed")),
        event_callback(home_opened(USER)),
        block_actions(USER, "parley_button_0", text, title=text, message=message),
        block_actions(USER, "parley_home_start", "start"),
        {"type": "url_verification", "challenge": text},
        {"type": "view_submission", "view": {"callback_id": "x"}},
        {"type": "shortcut", "callback_id": "x"},
        {"type": "app_rate_limited"},
    ]


def _mutate(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """A random structural change somewhere inside `value`."""
    if isinstance(value, dict) and value and depth < 6 and rng.random() < 0.8:
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.2:
            del value[key]
        elif roll < 0.5:
            value[key] = copy.deepcopy(rng.choice(JUNK_VALUES))
        elif roll < 0.6:
            value[rng.choice(["type", "subtype", "event", "user", "team", "__proto__"])] = (
                copy.deepcopy(rng.choice(JUNK_VALUES))
            )
        else:
            value[key] = _mutate(value[key], rng, depth + 1)
        return value
    if isinstance(value, list) and value and depth < 6 and rng.random() < 0.8:
        index = rng.randrange(len(value))
        if rng.random() < 0.3:
            value.append(copy.deepcopy(value[index]))
        else:
            value[index] = _mutate(value[index], rng, depth + 1)
        return value
    return copy.deepcopy(rng.choice(JUNK_VALUES))


def hostile_payloads(seed: int = SEED, count: int = COUNT) -> list[Any]:
    rng = random.Random(seed)
    out: list[Any] = []
    while len(out) < count:
        roll = rng.random()
        if roll < 0.05:
            out.append(rng.choice(JUNK_VALUES))  # not even an object
        elif roll < 0.10:  # deeply nested
            nested: Any = {"type": "event_callback"}
            for _ in range(rng.randint(50, 300)):
                nested = {"event": nested}
            out.append(nested)
        else:
            payload = rng.choice(_bases(rng))
            for _ in range(rng.randint(1, 4)):
                payload = _mutate(payload, rng)
            out.append(payload)
    return out


def _forged_headers(rng: random.Random, env: Any, body: bytes) -> dict[str, str]:
    now = int(time.time())
    choice = rng.randrange(6)
    if choice == 0:
        return env.standin.headers(body, secret="wrong-secret")
    if choice == 1:
        return env.standin.headers(body, timestamp=now - 600)
    if choice == 2:
        return {}
    if choice == 3:
        return {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=" + "0" * 64}
    if choice == 4:
        return {"X-Slack-Request-Timestamp": "-1e9", "X-Slack-Signature": "v1=xyz"}
    headers = env.standin.headers(body)  # valid, then one hex digit changed
    signature = headers["X-Slack-Signature"]
    headers["X-Slack-Signature"] = signature[:-1] + ("1" if signature[-1] == "0" else "0")
    return headers


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=rng_ascii(payload)).encode("utf-8", "surrogatepass")


def rng_ascii(payload: Any) -> bool:
    return isinstance(payload, dict) and len(payload) % 2 == 0


def _no_private_text_logged(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert MARKER not in record.getMessage(), record.name


def test_hostile_payloads_over_http(rasa: FakeRasa, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    payloads = hostile_payloads()
    rng = random.Random(SEED + 1)

    async def scenario() -> None:
        async with slack_env(rasa) as env:
            forged: dict[int, int] = {}
            for payload in payloads:
                body = _encode(payload)
                status, _ = await env.post(None, raw=body, headers=_forged_headers(rng, env, body))
                forged[status] = forged.get(status, 0) + 1
            forged_accepted = sum(n for status, n in forged.items() if status < 400)
            assert set(forged) <= {401, 413}, forged  # 413: too large to even read
            await env.settle()
            assert forged_accepted == 0
            assert rasa.messages() == [] and env.standin.calls_of("chat.postMessage") == []

            statuses: dict[int, int] = {}
            sent: set[str] = set()
            replays = 0
            for payload in payloads:
                body = _encode(payload)
                headers = env.standin.headers(body)
                if headers["X-Slack-Signature"] in sent:  # the same bytes in the same second
                    replays += 1
                sent.add(headers["X-Slack-Signature"])
                status, _ = await env.post(None, raw=body, headers=headers)
                statuses[status] = statuses.get(status, 0) + 1
            await env.settle()
            assert set(statuses) <= {200, 400, 401}, statuses
            assert statuses.get(401, 0) == replays  # refused only as exact replays
            assert env.stats.errors == 0

            await env.post(event_callback(message_event("U0AFTERWARDS", "after the storm")))
            await env.standin.wait_for(
                lambda: "Next question after: after the storm" in env.standin.posted()
            )
            print(
                f"hostile payloads (http): {2 * len(payloads)}, crashes: 0, forgeries accepted: 0"
            )

    run(scenario(), timeout=120)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    _no_private_text_logged(caplog)


def test_hostile_payloads_over_socket_mode(
    rasa: FakeRasa, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    payloads = hostile_payloads(SEED + 2)
    rng = random.Random(SEED + 3)

    async def scenario() -> None:
        async with slack_env(rasa, mode="socket") as env:
            envelopes: list[str] = []
            for payload in payloads:
                kind = rng.choice(["events_api", "interactive", "slash_commands", "weird"])
                envelopes.append(await env.standin.push(payload, kind=kind))
            for _ in range(50):  # frames that are not envelopes at all
                await env.standin.push_raw(
                    rng.choice(['{"type": "hello"}', "[]", "null", '{"envelope_id": 5}', "x"])
                )
            await env.standin.wait_for(lambda: all(e in env.standin.acks for e in envelopes), 60)
            await env.settle()
            assert env.stats.errors == 0
            await env.standin.push(event_callback(message_event("U0AFTERWARDS", "still alive")))
            await env.standin.wait_for(
                lambda: "Next question after: still alive" in env.standin.posted()
            )
            print(f"hostile payloads (socket mode): {len(payloads) + 50}, crashes: 0")

    run(scenario(), timeout=120)
    errors = [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("parley")
    ]
    assert errors == [], [r.getMessage() for r in errors]
    _no_private_text_logged(caplog)
