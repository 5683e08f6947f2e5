"""Message ids: every message a gateway sends to Rasa carries `metadata["message_id"]`, the
idempotency key the action server records (bot/rasa_client.py). Each gateway uses the
channel's own id for the message, so a channel's redelivery after a gateway crash reuses it:
Telegram `tg:<chat>:<message id>` (a press: `tg:cb:<callback id>`), Slack `slack:<client_msg_id>`
or `slack:<channel>:<ts>` (a press: `slack:action:<action_ts>`), the web page's own id (the
same again when the person retries), the phone `voice:<CallSid>:<n>`. Rasa's REST channel
(rasa_ext/rest_channel.py, run here in Rasa's venv) passes on only a valid id, and serves
`GET /webhooks/rest/model` with the loaded model's id.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bot.rasa_client import MESSAGE_ID_RE, RasaClient, channel_message_id, valid_message_id
from bot.voice.app import Call, VoiceConfig, VoiceGateway
from parley import telegram_standin as tg
from parley.slack_standin import block_actions, event_callback, message_event, posted_message
from tests.browser import wait, wait_for_bot, wait_idle
from tests.slack.harness_slack import USER, slack_env
from tests.telegram.harness import CHAT, telegram
from tests.web.fake_rasa import FakeRasa, Gateway, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = REPO_ROOT / ".venv-rasa" / "bin" / "python"
MODEL = REPO_ROOT / "models" / "parley.tar.gz"
HEX_ID = re.compile(r"^[0-9a-f]{32}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SESSION = "message-ids-session-1"

HOSTILE_IDS: list[Any] = [
    "a" * 129,  # too long
    "",
    "two words",
    "tab\there",
    "line\nbreak",
    "naïve-ü",  # not ASCII
    "-leading-dash",
    ":leading-colon",
    "semi;colon",
    "slash/path",
    "../../etc/passwd",
    "<script>",
    "quote'",
    42,
    4.2,
    True,
    None,
    ["abc"],
    {"id": "abc"},
]
VALID_IDS = [
    "a",
    "a" * 128,
    "0123456789abcdef0123456789abcdef",
    "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    "tg:424242:17",
    "tg:cb:5864001234567890",
    "slack:D0ABC:1700000000.000100",
    "voice:CA0123456789abcdef0123456789abcdef:3",
    "user@example.org+tag.x",
    "under_score",
]


class IdRasa(FakeRasa):
    """The shared stand-in Rasa, also keeping each request's message id."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[Any] = []

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()  # aiohttp caches the body: the parent reads it again
        metadata = body.get("metadata")
        self.ids.append(metadata.get("message_id") if isinstance(metadata, dict) else None)
        return await super()._webhook(request)


@pytest.fixture
def rasa() -> Iterator[IdRasa]:
    fake = IdRasa().start()
    try:
        yield fake
    finally:
        fake.stop()


def run(coro: Any, timeout: float = 60.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


# ---- the id itself ------------------------------------------------------------------------


def test_message_id_pattern() -> None:
    for value in VALID_IDS:
        assert valid_message_id(value) == value
    for value in HOSTILE_IDS:
        assert valid_message_id(value) is None, value


def test_channel_ids_are_stable_and_always_valid() -> None:
    assert channel_message_id("tg", 424242, 17) == "tg:424242:17"
    assert channel_message_id("tg", -100123, 5) == "tg:-100123:5"
    long = channel_message_id("slack", "x" * 200)
    assert long is not None and MESSAGE_ID_RE.match(long)
    assert long == channel_message_id("slack", "x" * 200)  # hashed, but the same every time
    assert long != channel_message_id("slack", "y" * 200)
    odd = channel_message_id("slack", "über uns")
    assert odd is not None and MESSAGE_ID_RE.match(odd)
    assert channel_message_id("tg", 1, None) is None
    assert channel_message_id("tg", 1, "") is None
    assert channel_message_id("tg", 1, True) is None
    assert channel_message_id("tg", 1, 2.5) is None
    assert channel_message_id("tg") is None


def test_the_client_sends_the_given_id_or_a_fresh_one(rasa: IdRasa) -> None:
    async def scenario() -> None:
        async with RasaClient(rasa.url, timeout_s=10.0) as client:
            await client.send("web:ids-1", "one", message_id="given-id-1")
            await client.send("web:ids-1", "two")
            await client.send("web:ids-1", "three", {"timezone": "UTC"})
            await client.send("web:ids-1", "four", message_id="not valid!")

    run(scenario())
    given, fresh, with_zone, replaced = rasa.ids
    assert given == "given-id-1"
    assert all(HEX_ID.match(i) for i in (fresh, with_zone, replaced))
    assert len({fresh, with_zone, replaced}) == 3


# ---- web ----------------------------------------------------------------------------------


@pytest.fixture
def web_client(rasa: IdRasa) -> Iterator[httpx.Client]:
    gateway = Gateway(rasa.url, rasa_timeout_s=5.0).start()
    try:
        with httpx.Client(base_url=gateway.url, timeout=20.0) as client:
            yield client
    finally:
        gateway.stop()


def test_web_passes_the_pages_id_and_replaces_an_invalid_one(
    web_client: httpx.Client, rasa: IdRasa
) -> None:
    def post(body: dict[str, Any]) -> None:
        response = web_client.post("/api/messages", json={"session": SESSION, **body})
        assert response.status_code == 200

    post({"text": "first", "id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"})
    post({"text": "first", "id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"})  # a retry
    post({"text": "no id"})
    for n, hostile in enumerate(HOSTILE_IDS):
        post({"text": f"hostile {n}", "id": hostile})
    assert rasa.ids[:2] == ["3f2504e0-4f89-41d3-9a0c-0305e82c3301"] * 2
    made_here = rasa.ids[2:]
    assert len(made_here) == 1 + len(HOSTILE_IDS)
    assert all(HEX_ID.match(i) for i in made_here)
    assert len(set(made_here)) == len(made_here)


def test_web_resends_the_same_id_after_rasa_failed(web_client: httpx.Client, rasa: IdRasa) -> None:
    rasa.fail = True
    body = {"session": SESSION, "text": "my answer", "id": "page-id-7"}
    assert web_client.post("/api/messages", json=body).status_code == 503
    rasa.fail = False
    assert web_client.post("/api/messages", json=body).status_code == 200
    assert rasa.messages() == ["my answer"] * 3  # the gateway's own retry, then the page's
    assert rasa.ids == ["page-id-7"] * 3


@pytest.mark.browser
def test_the_page_sends_an_id_per_message_and_the_same_on_try_again(
    driver: Any, rasa: IdRasa
) -> None:
    gateway = Gateway(rasa.url, rasa_timeout_s=5.0).start()
    try:
        driver.get(gateway.url + "/")
        assert wait_for_bot(driver, 1) == ["Question 1?"]
        wait_idle(driver)
        box = driver.find_element(By.ID, "input")
        box.send_keys("first answer", Keys.ENTER)
        assert wait_for_bot(driver, 2)[1] == "Next question after: first answer"
        wait_idle(driver)
        rasa.fail = True
        box.send_keys("second answer", Keys.ENTER)
        error = driver.find_element(By.ID, "error")
        wait(driver).until(lambda d: error.is_displayed())
        rasa.fail = False
        driver.find_element(By.ID, "retry").click()
        assert wait_for_bot(driver, 3)[2] == "Next question after: second answer"
    finally:
        gateway.stop()
    assert rasa.messages() == ["/start", "first answer"] + ["second answer"] * 3
    start, first, *second = rasa.ids
    assert all(UUID.match(i) for i in (start, first, second[0]))
    assert len({start, first, second[0]}) == 3
    assert second == [second[0]] * 3  # the gateway's retry and the page's "Try again"


# ---- Telegram -----------------------------------------------------------------------------


def test_telegram_ids_survive_a_redelivery_to_a_restarted_gateway(rasa: IdRasa) -> None:
    standin = tg.TelegramStandIn().start()
    update = tg.text_update(CHAT, "my answer")
    message_id = update["message"]["message_id"]

    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            h.send(update)
            await standin.wait_sent(1)
            await h.gateway.drain()
        async with telegram(standin, rasa) as h:  # a new process: Telegram delivers it again
            h.send(update)
            await standin.wait_sent(2)
            await h.gateway.drain()

    try:
        run(scenario())
    finally:
        standin.stop()
    assert rasa.messages() == ["my answer", "my answer"]
    assert rasa.ids == [f"tg:{CHAT}:{message_id}"] * 2


def test_telegram_button_press_uses_the_callback_id(rasa: IdRasa) -> None:
    standin = tg.TelegramStandIn().start()

    async def scenario() -> str:
        async with telegram(standin, rasa) as h:
            h.send(tg.text_update(CHAT, "/start"))
            await standin.wait_sent(1)
            sent = standin.calls_of("sendMessage")[0]
            data = sent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            press = tg.callback_update(CHAT, data, sent.result)
            h.send(press)
            await standin.wait_sent(2)
            await h.gateway.drain()
            return str(press["callback_query"]["id"])

    try:
        query_id = run(scenario())
    finally:
        standin.stop()
    assert rasa.messages() == ["/start", "yes"]
    assert rasa.ids[0].startswith(f"tg:{CHAT}:")
    assert rasa.ids[1] == f"tg:cb:{query_id}"


# ---- Slack --------------------------------------------------------------------------------


def test_slack_uses_client_msg_id_then_channel_and_ts(rasa: IdRasa) -> None:
    with_id = message_event(USER, "first", client_msg_id="5c6e7f80-0a1b-4c2d-8e9f-001122334455")
    without = message_event(USER, "second")

    async def scenario() -> None:
        for _ in range(2):  # the second gateway gets the same deliveries again
            async with slack_env(rasa) as env:
                await env.post(event_callback(with_id))
                await env.standin.wait_posted(1)
                await env.post(event_callback(without))
                await env.standin.wait_posted(2)
                await env.settle()

    run(scenario())
    expected = [
        "slack:5c6e7f80-0a1b-4c2d-8e9f-001122334455",
        f"slack:{without['channel']}:{without['ts']}",
    ]
    assert rasa.ids == expected * 2


def test_slack_button_press_uses_the_action_ts(rasa: IdRasa) -> None:
    async def scenario() -> None:
        async with slack_env(rasa) as env:
            await env.post(event_callback(message_event(USER, "/start")))
            await env.standin.wait_posted(1)
            message = posted_message(env.standin.calls_of("chat.postMessage")[0])
            press = block_actions(
                USER,
                "parley_button_0",
                "yes",
                title="Yes",
                message=message,
                action_ts="1700000123.000456",
            )
            await env.post(press)
            await env.standin.wait_posted(2)
            await env.settle()

    run(scenario())
    assert rasa.messages() == ["/start", "yes"]
    assert rasa.ids[1] == "slack:action:1700000123.000456"


# ---- phone --------------------------------------------------------------------------------


def test_phone_ids_are_the_call_sid_and_a_counter(rasa: IdRasa) -> None:
    sid = "CA" + "0123456789abcdef" * 2
    config = VoiceConfig(account_sid="AC" + "0" * 32, auth_token="t", public_url="http://x")

    def never(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("nothing is transcribed here")

    async def scenario() -> None:
        async with RasaClient(rasa.url, timeout_s=10.0) as client:
            gateway = VoiceGateway(config, client, never)
            call = Call(sid=sid, sender="voice:+15550001111")
            await gateway.converse(call, "/start")
            await gateway.converse(call, "yes")
            other = Call(sid="CA" + "f" * 32, sender="voice:+15550002222")
            await gateway.converse(other, "/start")

    run(scenario())
    assert rasa.messages() == ["/start", "yes", "/start"]
    assert rasa.ids == [f"voice:{sid}:1", f"voice:{sid}:2", f"voice:CA{'f' * 32}:1"]


# ---- Rasa's REST channel (in Rasa's venv) -------------------------------------------------

# The real channel class on a Sanic server; each message is answered with the metadata the
# channel handed to Rasa. With a model path, a real Rasa agent is loaded from it first, as
# `rasa run` does, so the model route has something to say.
CHANNEL_SERVER = """
import json
import sys
from urllib.parse import urljoin

from sanic import Sanic
from rasa_ext.rest_channel import MetadataRestInput

channel = MetadataRestInput()
app = Sanic("parley_message_id_test")
if len(sys.argv) > 2:
    from rasa.core.agent import Agent

    app.ctx.agent = Agent.load(sys.argv[2])


async def on_new_message(message):
    await message.output_channel.send_text_message(
        message.sender_id, json.dumps(message.metadata, sort_keys=True)
    )


prefix = urljoin("/webhooks/", channel.url_prefix())
app.blueprint(channel.blueprint(on_new_message), url_prefix=prefix)
app.run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False, workers=1, motd=False)
"""


def _channel_server(log: Path, *model: Path) -> Iterator[str]:
    if not RASA_PYTHON.exists():
        pytest.fail(f"{RASA_PYTHON} is missing: run `make setup`")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(RASA_PYTHON), "-c", CHANNEL_SERVER, str(port), *map(str, model)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
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


@pytest.fixture(scope="module")
def rest_channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The channel alone (no model loaded)."""
    yield from _channel_server(tmp_path_factory.mktemp("channel") / "server.log")


@pytest.fixture(scope="module")
def rest_channel_with_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The channel with the trained model loaded (a copy, so a retrain meanwhile cannot touch
    it); yields its URL and the model id recorded in the archive."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `parley train`")
    folder = tmp_path_factory.mktemp("channel-model")
    model = folder / "parley.tar.gz"
    shutil.copyfile(MODEL, model)
    with tarfile.open(model) as archive:
        member = next(m for m in archive.getmembers() if m.name.lstrip("/") == "metadata.json")
        extracted = archive.extractfile(member)
        assert extracted is not None
        model_id = json.load(extracted)["model_id"]
    for url in _channel_server(folder / "server.log", model):
        yield url, model_id


def _post(url: str, metadata: Any) -> Any:
    response = httpx.post(
        url + "/webhooks/rest/webhook",
        json={"sender": "web:ids-channel", "message": "hello", "metadata": metadata},
        timeout=10,
    )
    assert response.status_code == 200
    (reply,) = response.json()
    return json.loads(reply["text"])


def test_rest_channel_passes_on_a_valid_message_id(rest_channel: str) -> None:
    for value in VALID_IDS:
        assert _post(rest_channel, {"message_id": value}) == {"message_id": value}
    both = {"message_id": "tg:1:2", "timezone": "UTC", "other": "x"}
    assert _post(rest_channel, both) == {"message_id": "tg:1:2", "timezone": "UTC"}


def test_rest_channel_drops_a_hostile_message_id(rest_channel: str) -> None:
    for value in HOSTILE_IDS:
        assert _post(rest_channel, {"message_id": value}) is None, value
        kept = _post(rest_channel, {"message_id": value, "timezone": "UTC"})
        assert kept == {"timezone": "UTC"}, value


def test_rest_channel_model_route_without_a_model_is_503(rest_channel: str) -> None:
    response = httpx.get(rest_channel + "/webhooks/rest/model", timeout=10)
    assert response.status_code == 503


def test_rest_channel_model_route_names_the_loaded_model(
    rest_channel_with_model: tuple[str, str],
) -> None:
    url, model_id = rest_channel_with_model
    response = httpx.get(url + "/webhooks/rest/model", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"model_id": model_id, "model_file": "parley.tar.gz"}


def test_a_client_routes_to_replicas_by_the_real_model_route(
    rest_channel_with_model: tuple[str, str], rest_channel: str
) -> None:
    """Two replicas, one with the model loaded, one without (503: counts as down): every
    message goes to the one that can answer, whatever its sender."""
    url, model_id = rest_channel_with_model

    async def scenario() -> list[Any]:
        async with RasaClient([rest_channel, url], timeout_s=10.0, expected_model=model_id) as c:
            replies = [await c.send(f"web:route-{n}", "hi", message_id=f"m-{n}") for n in range(6)]
        return [json.loads(r[0].text) for r in replies]

    assert run(scenario()) == [{"message_id": f"m-{n}"} for n in range(6)]
