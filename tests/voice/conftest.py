"""Fixtures for the phone gateway tests: the real gateway (`create_app(VoiceGateway(...))`) on a
free port, the Twilio stand-in in front of it, a fake Rasa behind it, and the real Whisper
model (loaded once per session, only by the tests that transcribe).

Each test runs its call on its own event loop (`run`); the fake Rasa runs in its own thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import numpy as np
import pytest
from aiohttp import web

from bot.rasa_client import RasaClient
from bot.voice.app import VoiceConfig, VoiceGateway, create_app
from bot.voice.endpoint import EndpointConfig
from bot.voice.listener import Hints, Transcribe
from parley.settings import Settings
from parley.twilio_standin import TwilioStandIn
from tests.support import ROOT
from tests.web.fake_rasa import FakeRasa, free_port

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
# Short turns keep the tests fast; how answers are cut into segments is left at the tuned
# defaults, so the speech tests exercise what ships.
FAST = dataclasses.replace(
    EndpointConfig(), end_silence_ms=600, no_input_ms=2000, max_answer_ms=30_000
)
CALLER = "+15551230001"


@dataclass
class Line:
    """One running gateway with the stand-in and the fake Rasa around it."""

    gateway: VoiceGateway
    standin: TwilioStandIn
    rasa: FakeRasa
    url: str
    http: aiohttp.ClientSession
    kept: list[tuple[str, bytes]] = field(default_factory=list)

    async def post(self, path: str, params: dict[str, str], **kw: Any) -> tuple[int, str]:
        """A webhook as Twilio sends it (signed for the URL it is sent to, unless told)."""
        return await self.standin.post(self.http, path, params, **kw)

    def sign(self, url: str, params: dict[str, str]) -> str:
        return self.standin.validator.compute_signature(url, params)

    async def incoming(
        self, caller: str = CALLER, *, sid: str | None = None, query: str = ""
    ) -> tuple[str, dict[str, str]]:
        """Start a call; the first TwiML and the call's webhook parameters."""
        params = self.standin.call_params(sid or "CA" + "a" * 32, caller)
        status, body = await self.post("/voice/incoming" + query, params)
        assert status == 200, (status, body)
        return body, params


def says(body: str) -> list[str]:
    return [el.text or "" for el in ET.fromstring(body) if el.tag == "Say"]


def verbs(body: str) -> list[str]:
    return [el.tag for el in ET.fromstring(body)]


def connect_of(body: str) -> tuple[str, str, str]:
    """(action URL, stream URL, turn token) of a `<Connect><Stream>` TwiML."""
    doc = ET.fromstring(body)
    connect = doc.find("Connect")
    assert connect is not None, body
    stream = connect.find("Stream")
    assert stream is not None, body
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    return connect.get("action", ""), stream.get("url", ""), params.get("turn", "")


def run(coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def mulaw_encode(pcm: np.ndarray) -> bytes:
    """G.711 µ-law encoder written from the standard (bias 0x84, clip 32635), independent of
    the decoder under test."""
    x = np.asarray(pcm, dtype=np.int32)
    sign = (x < 0).astype(np.int32)
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~((sign << 7) | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def start_message(token: str, call_sid: str) -> dict[str, object]:
    return {
        "event": "start",
        "start": {
            "accountSid": ACCOUNT_SID,
            "callSid": call_sid,
            "streamSid": "MZ" + "0" * 32,
            "tracks": ["inbound"],
            "customParameters": {"turn": token},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
    }


async def press_on_stream(
    line: Line, body: str, params: dict[str, str], digit: str
) -> tuple[int, str]:
    """Press a key on the streamed turn in `body`; its action request's status and TwiML."""
    action, stream, token = connect_of(body)
    async with line.http.ws_connect(stream) as ws:
        await ws.send_str(json.dumps(start_message(token, params["CallSid"])))
        await ws.send_str(json.dumps({"event": "dtmf", "dtmf": {"digit": digit}}))
        async for _ in ws:
            pass
    return await line.post(action, params)


def never_transcribe(wav: bytes, hints: Hints) -> Any:
    raise AssertionError("nothing should be transcribed in this test")


@asynccontextmanager
async def phone_line(
    rasa: FakeRasa,
    transcribe: Transcribe,
    *,
    public_url: str | None = None,
    **config: Any,
) -> AsyncIterator[Line]:
    port = free_port()
    local = f"http://127.0.0.1:{port}"
    standin = TwilioStandIn(local, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    await standin.start()
    settings = VoiceConfig(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        public_url=public_url or local,
        api_url=standin.url,
        **{"endpoint": FAST, **config},
    )
    kept: list[tuple[str, bytes]] = []

    async def hints(_sender: str) -> Hints:
        return Hints(language="en")

    async def keep(sender: str, wav: bytes) -> str:
        kept.append((sender, wav))
        return f"kept-{len(kept)}"

    runner: web.AppRunner | None = None
    try:
        async with (
            RasaClient(rasa.url, timeout_s=5.0, connect_retries=0) as client,
            httpx.AsyncClient(timeout=5.0) as fetcher,
            aiohttp.ClientSession() as http,
        ):
            gateway = VoiceGateway(
                settings, client, transcribe, hints=hints, keep_audio=keep, http=fetcher
            )
            runner = web.AppRunner(create_app(gateway), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            yield Line(gateway, standin, rasa, local, http, kept)
    finally:
        if runner is not None:
            await runner.cleanup()
        await standin.stop()


@pytest.fixture(scope="session")
def transcribe() -> Transcribe:
    """The real speech model as the gateway uses it (about a second to load)."""
    from bot.voice.server import speech_transcriber

    settings = dataclasses.replace(Settings(root=ROOT), models_dir=ROOT / "models")
    return speech_transcriber(settings)


PhoneFactory = Callable[..., AbstractAsyncContextManager[Line]]


@pytest.fixture
def phone(rasa: FakeRasa, request: pytest.FixtureRequest) -> PhoneFactory:
    """`async with phone(**VoiceConfig overrides) as line:` — a gateway for one test. The real
    model is loaded only when a test does not pass its own `transcribe`."""

    def open_line(*, transcribe: Transcribe | None = None, **kw: Any) -> Any:
        fn = transcribe if transcribe is not None else request.getfixturevalue("transcribe")
        return phone_line(rasa, fn, **kw)

    return open_line
