"""The person's time zone as a hint for booking an interview: the web page sends the browser's
zone, the Slack gateway looks up the profile's `tz` (users.info, cached), Telegram knows none;
each reaches Rasa as metadata `{"timezone": "<IANA name>"}`, and Rasa's REST channel
(rasa_ext/rest_channel.py, run here in Rasa's own venv) passes it on to the action server.
Invalid values are dropped silently: the message still goes through, without the hint.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.rasa_client import RasaClient, timezone_hint
from parley import telegram_standin as tg
from parley.slack_standin import block_actions, event_callback, message_event, posted_message
from tests.browser import wait_for_bot
from tests.slack.harness_slack import OTHER, USER, run, slack_env
from tests.telegram.harness import CHAT, RecordingRasa, telegram
from tests.web.fake_rasa import Gateway, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = REPO_ROOT / ".venv-rasa" / "bin" / "python"
SESSION = "tz-hint-session-01"

VALID = ["Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC", "Asia/Kolkata"]
INVALID: list[Any] = [
    "Mars/Olympus_Mons",  # the right shape, but no such zone
    "europe/berlin",  # zone names are case-sensitive
    "../../etc/passwd",
    "/etc/localtime",
    "localtime",  # a file in the zone database, not a place
    "Europe/Berlin\n",
    "Europe/Berlin; DROP TABLE",
    "A" + "b" * 70,
    "",
    42,
    None,
    ["Europe/Berlin"],
    {"zone": "Europe/Berlin"},
]


@pytest.fixture
def recording() -> Iterator[RecordingRasa]:
    """A stand-in Rasa that keeps each request's metadata."""
    fake = RecordingRasa().start()
    try:
        yield fake
    finally:
        fake.stop()


def test_timezone_hint_accepts_only_known_iana_names() -> None:
    for zone in VALID:
        assert timezone_hint(zone) == zone
    for value in INVALID:
        assert timezone_hint(value) is None, value


# ---- web ------------------------------------------------------------------------------------


@pytest.fixture
def web(recording: RecordingRasa) -> Iterator[httpx.Client]:
    gateway = Gateway(recording.url, rasa_timeout_s=5.0).start()
    try:
        with httpx.Client(base_url=gateway.url, timeout=20.0) as client:
            yield client
    finally:
        gateway.stop()


def test_web_forwards_a_valid_timezone(web: httpx.Client, recording: RecordingRasa) -> None:
    for zone in VALID:
        body = {"session": SESSION, "text": f"hello from {zone}", "timezone": zone}
        response = web.post("/api/messages", json=body)
        assert response.status_code == 200
        assert response.json()["messages"][0]["text"] == f"Next question after: hello from {zone}"
    assert recording.metadata == [{"timezone": zone} for zone in VALID]


def test_web_drops_an_invalid_timezone_silently(
    web: httpx.Client, recording: RecordingRasa
) -> None:
    for n, value in enumerate(INVALID):
        body = {"session": SESSION, "text": f"answer {n}", "timezone": value}
        response = web.post("/api/messages", json=body)
        assert response.status_code == 200, value
        assert response.json() == {
            "messages": [{"text": f"Next question after: answer {n}", "buttons": []}]
        }
    response = web.post("/api/messages", json={"session": SESSION, "text": "no zone at all"})
    assert response.status_code == 200
    assert recording.metadata == [None] * (len(INVALID) + 1)
    assert recording.messages()[-1] == "no zone at all"


@pytest.mark.browser
def test_the_page_sends_the_browsers_timezone(driver, recording: RecordingRasa) -> None:
    gateway = Gateway(recording.url, rasa_timeout_s=5.0).start()
    try:
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
        driver.get(gateway.url + "/")
        assert wait_for_bot(driver, 1) == ["Question 1?"]
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/Sao_Paulo"})
        driver.find_element("id", "input").send_keys("Hello\n")
        assert wait_for_bot(driver, 2)[1] == "Next question after: Hello"
        assert recording.messages() == ["/start", "Hello"]
        assert recording.metadata == [
            {"timezone": "Asia/Tokyo"},
            {"timezone": "America/Sao_Paulo"},
        ]
    finally:
        gateway.stop()


# ---- Slack ----------------------------------------------------------------------------------


def test_slack_forwards_the_profile_timezone_looked_up_once(recording: RecordingRasa) -> None:
    async def scenario() -> None:
        async with slack_env(recording) as env:
            env.standin.set_timezone(USER, "Asia/Tokyo")
            env.standin.set_timezone(OTHER, "Europe/Lisbon")
            for n, text in enumerate(("first", "second", "third"), 1):
                await env.post(event_callback(message_event(USER, text)))
                await env.standin.wait_posted(n)
            await env.post(event_callback(message_event(OTHER, "from the other person")))
            await env.standin.wait_posted(4)
            await env.settle()
            assert recording.messages() == ["first", "second", "third", "from the other person"]
            assert recording.metadata == [
                {"timezone": "Asia/Tokyo"},
                {"timezone": "Asia/Tokyo"},
                {"timezone": "Asia/Tokyo"},
                {"timezone": "Europe/Lisbon"},
            ]
            looked_up = [c.args["user"] for c in env.standin.calls_of("users.info")]
            assert looked_up == [USER, OTHER]  # once per person, then from memory

    run(scenario())


def test_slack_looks_again_after_the_ttl(recording: RecordingRasa) -> None:
    async def scenario() -> None:
        async with slack_env(recording) as env:
            env.service.gateway.timezone_ttl_s = 0.3
            env.standin.set_timezone(USER, "Asia/Tokyo")
            await env.post(event_callback(message_event(USER, "before the flight")))
            await env.standin.wait_posted(1)
            env.standin.set_timezone(USER, "America/Chicago")
            await env.post(event_callback(message_event(USER, "right after")))
            await env.standin.wait_posted(2)
            await asyncio.sleep(0.4)
            await env.post(event_callback(message_event(USER, "after landing")))
            await env.standin.wait_posted(3)
            await env.settle()
            assert recording.metadata == [
                {"timezone": "Asia/Tokyo"},
                {"timezone": "Asia/Tokyo"},  # still cached
                {"timezone": "America/Chicago"},
            ]
            assert len(env.standin.calls_of("users.info")) == 2

    run(scenario())


@pytest.mark.parametrize("profile_tz", [None, "Not/A_Zone", "../../etc/passwd", "localtime"])
def test_slack_without_a_valid_profile_timezone_sends_none(
    recording: RecordingRasa, profile_tz: str | None
) -> None:
    async def scenario() -> None:
        async with slack_env(recording) as env:
            env.standin.set_timezone(USER, profile_tz)
            await env.post(event_callback(message_event(USER, "hello")))
            assert await env.standin.wait_posted(1) == ["Next question after: hello"]
            await env.settle()
            assert recording.metadata == [None]

    run(scenario())


def test_slack_lookup_failure_is_ignored(recording: RecordingRasa) -> None:
    async def scenario() -> None:
        async with slack_env(recording) as env:
            env.standin.fail("users.info", "missing_scope")
            await env.post(event_callback(message_event(USER, "hello")))
            assert await env.standin.wait_posted(1) == ["Next question after: hello"]
            await env.settle()
            assert recording.metadata == [None]
            assert env.stats.api_errors == {"missing_scope": 1}
            assert env.stats.errors == 0

    run(scenario())


def test_slack_button_presses_carry_the_timezone_too(recording: RecordingRasa) -> None:
    async def scenario() -> None:
        async with slack_env(recording) as env:
            env.standin.set_timezone(USER, "Australia/Adelaide")
            await env.post(event_callback(message_event(USER, "/start")))
            await env.standin.wait_posted(1)
            message = posted_message(env.standin.calls_of("chat.postMessage")[0])
            await env.post(
                block_actions(USER, "parley_button_0", "yes", title="Yes", message=message)
            )
            await env.standin.wait_posted(2)
            await env.settle()
            assert recording.messages() == ["/start", "yes"]
            assert recording.metadata == [{"timezone": "Australia/Adelaide"}] * 2

    run(scenario())


# ---- Telegram -------------------------------------------------------------------------------


def test_telegram_sends_no_timezone(recording: RecordingRasa) -> None:
    standin = tg.TelegramStandIn().start()

    async def scenario() -> None:
        async with telegram(standin, recording) as h:
            h.send(tg.text_update(CHAT, "hello"))
            assert await standin.wait_sent(1) == ["Next question after: hello"]
            await h.gateway.drain()
            assert recording.metadata == [None]

    try:
        run(scenario())
    finally:
        standin.stop()


# ---- Rasa's REST channel (rasa_ext/rest_channel.py, in Rasa's venv) -----------------------

# A Sanic server with the real channel class; each message is answered with the metadata the
# channel handed to Rasa (the user message's `metadata`, which the action server reads), as JSON
# text.
CHANNEL_SERVER = """
import json
import sys
from urllib.parse import urljoin

from sanic import Sanic
from rasa_ext.rest_channel import MetadataRestInput

channel = MetadataRestInput()
app = Sanic("parley_rest_channel_test")


async def on_new_message(message):
    await message.output_channel.send_text_message(
        message.sender_id, json.dumps(message.metadata, sort_keys=True)
    )


# As rasa.core.channels.channel.register mounts input channels.
prefix = urljoin("/webhooks/", channel.url_prefix())
app.blueprint(channel.blueprint(on_new_message), url_prefix=prefix)
app.run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False, workers=1, motd=False)
"""


@pytest.fixture(scope="module")
def rest_channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The REST channel on a free port, run by Rasa's Python; yields its base URL."""
    if not RASA_PYTHON.exists():
        pytest.fail(f"{RASA_PYTHON} is missing: run `make setup`")
    port = free_port()
    log = tmp_path_factory.mktemp("rest-channel") / "server.log"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(RASA_PYTHON), "-c", CHANNEL_SERVER, str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(url + "/webhooks/rest", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail("the REST channel server died:\n" + log.read_text())
            assert time.monotonic() < deadline, "the REST channel server did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _through_channel(url: str, metadata: Any) -> Any:
    """What the channel passed on, less the message id every message carries (checked here:
    the one sent)."""

    async def send() -> Any:
        async with RasaClient(url, timeout_s=10.0, connect_retries=0) as client:
            (reply,) = await client.send("web:tz-channel-1", "hello", metadata, "tz-msg-1")
            passed = json.loads(reply.text)
            assert passed.pop("message_id") == "tz-msg-1"
            return passed or None

    return asyncio.run(send())


@pytest.mark.parametrize(
    ("sent", "passed"),
    [
        ({"timezone": "Europe/Berlin"}, {"timezone": "Europe/Berlin"}),
        ({"timezone": "Etc/GMT-14"}, {"timezone": "Etc/GMT-14"}),
        (
            {"timezone": "America/New_York", "speech": {"confidence": 0.91, "audio": "r1"}},
            {"timezone": "America/New_York", "speech": {"confidence": 0.91, "audio": "r1"}},
        ),
        ({"speech": {"confidence": 0.5}}, {"speech": {"confidence": 0.5}}),  # as before
        ({"timezone": "Europe/Berlin", "admin": True}, {"timezone": "Europe/Berlin"}),
        ({"timezone": "../../etc/passwd"}, None),
        ({"timezone": "A" + "b" * 64}, None),
        ({"timezone": "Europe/Berlin\nX"}, None),
        ({"timezone": 3}, None),
        ({"timezone": ""}, None),
        ({"speech": "not an object", "timezone": None}, None),
        ({"speech": {"x": "y" * 3000}}, None),  # over 2 KB, as before
        ({"speech": {"x": "y" * 3000}, "timezone": "UTC"}, {"timezone": "UTC"}),
        ({"other": 1}, None),
    ],
)
def test_rest_channel_passes_on_timezone_and_speech_only(
    rest_channel: str, sent: dict[str, Any], passed: dict[str, Any] | None
) -> None:
    assert _through_channel(rest_channel, sent) == passed


def test_rest_channel_without_metadata(rest_channel: str) -> None:
    assert _through_channel(rest_channel, None) is None
    response = httpx.post(
        rest_channel + "/webhooks/rest/webhook",
        json={"sender": "web:tz-channel-2", "message": "hi", "metadata": ["Europe/Berlin"]},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": "web:tz-channel-2", "text": "null"}]


def test_web_hint_reaches_rasa_through_the_real_channel(rest_channel: str) -> None:
    """The web gateway in front of the real channel class: the browser's zone arrives."""
    gateway = Gateway(rest_channel, rasa_timeout_s=10.0).start()
    try:
        response = httpx.post(
            gateway.url + "/api/messages",
            json={
                "session": SESSION,
                "text": "hello",
                "timezone": "Pacific/Chatham",
                "id": "page-msg-1",
            },
            timeout=20,
        )
    finally:
        gateway.stop()
    assert response.status_code == 200
    passed = '{"message_id": "page-msg-1", "timezone": "Pacific/Chatham"}'
    assert response.json() == {"messages": [{"text": passed, "buttons": []}]}
