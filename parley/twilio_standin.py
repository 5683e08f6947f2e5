"""A local stand-in for Twilio: it plays Twilio's side of a phone call against our gateway.

Used by the tests and by `parley bench voice` (Twilio itself is unreachable from here).

It speaks Twilio's wire formats: form-encoded webhooks signed with the real
`RequestValidator` (X-Twilio-Signature), TwiML answers parsed and followed (`<Say>`,
`<Connect><Stream>` with its action, `<Record>`, `<Hangup>`), Media Streams messages over a
websocket (connected / start / media / dtmf / stop, 8 kHz µ-law in base64 20 ms frames), and
a small REST API (Calls.json to place a call, recordings served with basic auth and deleted).
The "caller" is a script of answers: audio, keypad digits, silence or a hang-up.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.voice.endpoint import frame_dbfs

FRAME = 160  # 20 ms of 8 kHz µ-law
SILENCE = b"\xff" * FRAME


def speak_mulaw(text: str, *, voice: str = "en-us", speed: int = 165) -> bytes:
    """`text` spoken by espeak-ng, as raw 8 kHz µ-law (what a phone line carries)."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    assert espeak and sox, "espeak-ng and sox are needed (scripts/ensure-audio-tools.sh)"
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "a.wav"
        raw = Path(tmp) / "a.ul"
        subprocess.run([espeak, "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
        subprocess.run(
            [sox, "-D", str(wav), "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", str(raw)],
            check=True,
        )
        return raw.read_bytes()


@dataclass
class Answer:
    """One thing the caller does after a prompt."""

    audio: bytes = b""  # µ-law speech, followed by silence until the gateway ends the turn
    digits: str = ""  # keys pressed (after the audio, if any)
    hangup: bool = False  # hang up instead of answering
    silence_s: float = 30.0  # how long the caller stays silent at most

    @classmethod
    def say(cls, text: str, **kw: object) -> Answer:
        return cls(audio=speak_mulaw(text, **kw))  # type: ignore[arg-type]

    @classmethod
    def press(cls, digits: str) -> Answer:
        return cls(digits=digits)


@dataclass
class Turn:
    said: list[str]
    latency_s: float | None = None  # end of the answer → next TwiML received


@dataclass
class CallLog:
    sid: str
    turns: list[Turn] = field(default_factory=list)
    hung_up_by_gateway: bool = False
    statuses: list[int] = field(default_factory=list)

    @property
    def said(self) -> list[str]:
        return [line for t in self.turns for line in t.said]

    @property
    def text(self) -> str:
        return " ".join(self.said)


class TwilioStandIn:
    def __init__(
        self, gateway_url: str, *, account_sid: str, auth_token: str, realtime: bool = False
    ) -> None:
        self.gateway = gateway_url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.validator = RequestValidator(auth_token)
        self.realtime = realtime
        self.recordings: dict[str, bytes] = {}
        self.deleted_recordings: list[str] = []
        self.placed_calls: list[dict[str, str]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ------------------------------------------------------------------ REST side
    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/recordings/{sid}.wav", self._recording)
        app.router.add_delete("/2010-04-01/Accounts/{acc}/Recordings/{sid}.json", self._delete)
        app.router.add_post("/2010-04-01/Accounts/{acc}/Calls.json", self._create_call)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def _authorised(self, request: web.Request) -> bool:
        auth = aiohttp.BasicAuth.decode(request.headers.get("Authorization", "Basic Og=="))
        return (auth.login, auth.password) == (self.account_sid, self.auth_token)

    async def _recording(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.Response(status=401)
        data = self.recordings.get(request.match_info["sid"])
        if data is None:
            return web.json_response({"code": 20404, "message": "not found"}, status=404)
        return web.Response(body=data, content_type="audio/x-wav")

    async def _delete(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.Response(status=401)
        self.deleted_recordings.append(request.match_info["sid"])
        return web.Response(status=204)

    async def _create_call(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form = {k: str(v) for k, v in (await request.post()).items()}
        sid = "CA" + secrets.token_hex(16)
        form["Sid"] = sid
        self.placed_calls.append(form)
        return web.json_response(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "status": "queued",
                "direction": "outbound-api",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
            },
            status=201,
        )

    # ------------------------------------------------------------------ webhooks
    async def post(
        self,
        http: aiohttp.ClientSession,
        url: str,
        params: dict[str, str],
        *,
        signature: str | None = "valid",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST a webhook as Twilio does (signed), to a URL as Twilio would call it."""
        full = url if url.startswith("http") else self.gateway + url
        sent = dict(headers or {})
        if signature == "valid":
            sent["X-Twilio-Signature"] = self.validator.compute_signature(full, params)
        elif signature is not None:
            sent["X-Twilio-Signature"] = signature
        async with http.post(full, data=params, headers=sent) as response:
            return response.status, await response.text()

    def call_params(self, sid: str, caller: str, *, outbound: bool = False) -> dict[str, str]:
        number = "+15550001000"
        return {
            "AccountSid": self.account_sid,
            "CallSid": sid,
            "From": number if outbound else caller,
            "To": caller if outbound else number,
            "CallStatus": "in-progress",
            "Direction": "outbound-api" if outbound else "inbound",
            "ApiVersion": "2010-04-01",
        }

    async def call(
        self,
        caller: str,
        answers: list[Answer],
        *,
        sid: str | None = None,
        url: str = "/voice/incoming",
        outbound: bool = False,
    ) -> CallLog:
        """Place a call and follow the gateway's TwiML, answering from `answers` in order."""
        sid = sid or "CA" + secrets.token_hex(16)
        log = CallLog(sid)
        params = self.call_params(sid, caller, outbound=outbound)
        queue = list(answers)
        async with aiohttp.ClientSession() as http:
            status, body = await self.post(http, url, params)
            log.statuses.append(status)
            assert status == 200, (status, body)
            while True:
                doc = ET.fromstring(body)
                said = [el.text or "" for el in doc if el.tag == "Say"]
                turn = Turn(said)
                log.turns.append(turn)
                verbs = [el.tag for el in doc]
                if "Hangup" in verbs or not ({"Connect", "Record"} & set(verbs)):
                    log.hung_up_by_gateway = "Hangup" in verbs
                    break
                if not queue:
                    break
                answer = queue.pop(0)
                if answer.hangup:
                    await self.post(http, "/voice/status", {**params, "CallStatus": "completed"})
                    break
                if "Connect" in verbs:
                    connect = doc.find("Connect")
                    assert connect is not None
                    ended = await self._stream(http, connect, sid, answer)
                    action = connect.get("action", "")
                    status, body = await self.post(http, action, params)
                else:
                    record = doc.find("Record")
                    assert record is not None
                    ended = time.perf_counter()
                    redirect = doc.find("Redirect")
                    status, body = await self._record(http, record, redirect, params, answer)
                turn.latency_s = time.perf_counter() - ended
                log.statuses.append(status)
                assert status == 200, (status, body)
            await self.post(http, "/voice/status", {**params, "CallStatus": "completed"})
        return log

    def ws_url(self, url: str) -> str:
        """The stream URL as given in TwiML, reached on the gateway's local address."""
        parts = urlsplit(url)
        local = urlsplit(self.gateway)
        return f"ws://{local.netloc}{parts.path}"

    async def _stream(
        self, http: aiohttp.ClientSession, connect: ET.Element, sid: str, answer: Answer
    ) -> float:
        """Stream the answer; returns when the answer ended from the caller's side."""
        stream = connect.find("Stream")
        assert stream is not None
        custom = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
        stream_sid = "MZ" + secrets.token_hex(16)
        ended = time.perf_counter()
        async with http.ws_connect(self.ws_url(stream.get("url", ""))) as ws:
            await ws.send_str(
                json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            )
            await ws.send_str(
                json.dumps(
                    {
                        "event": "start",
                        "sequenceNumber": "1",
                        "start": {
                            "accountSid": self.account_sid,
                            "streamSid": stream_sid,
                            "callSid": sid,
                            "tracks": ["inbound"],
                            "customParameters": custom,
                            "mediaFormat": {
                                "encoding": "audio/x-mulaw",
                                "sampleRate": 8000,
                                "channels": 1,
                            },
                        },
                        "streamSid": stream_sid,
                    }
                )
            )
            seq = 2
            audio = answer.audio
            frames = [audio[i : i + FRAME] for i in range(0, len(audio), FRAME)]
            loud = [n for n, f in enumerate(frames) if frame_dbfs(f) > -50.0]
            last_sound = loud[-1] if loud else len(frames) - 1
            closed = asyncio.Event()

            async def reader() -> None:
                async for _msg in ws:
                    pass
                closed.set()

            reading = asyncio.create_task(reader())
            started = time.perf_counter()
            silent = int(answer.silence_s * 50)
            script: list[tuple[str, bytes | str]] = [("media", f) for f in frames]
            script += [("dtmf", d) for d in answer.digits]
            script += [("media", SILENCE)] * silent
            for n, (kind, item) in enumerate(script):
                if closed.is_set() or ws.closed:
                    break
                if n == last_sound + 1 or (n == len(frames) and answer.digits):
                    ended = time.perf_counter()  # the caller has finished their answer
                if kind == "media":
                    payload = base64.b64encode(item).decode()  # type: ignore[arg-type]
                    message = {
                        "event": "media",
                        "sequenceNumber": str(seq),
                        "media": {
                            "track": "inbound",
                            "chunk": str(seq),
                            "timestamp": str(n * 20),
                            "payload": payload,
                        },
                        "streamSid": stream_sid,
                    }
                else:
                    message = {
                        "event": "dtmf",
                        "sequenceNumber": str(seq),
                        "dtmf": {"track": "inbound_track", "digit": item},
                        "streamSid": stream_sid,
                    }
                seq += 1
                try:
                    await ws.send_str(json.dumps(message))
                except (ConnectionResetError, RuntimeError):
                    break
                if self.realtime:
                    due = started + (n + 1) * 0.02
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                elif n % 25 == 0:
                    await asyncio.sleep(0)
            await asyncio.wait_for(closed.wait(), 120)
            reading.cancel()
        return ended

    async def _record(
        self,
        http: aiohttp.ClientSession,
        record: ET.Element,
        redirect: ET.Element | None,
        params: dict[str, str],
        answer: Answer,
    ) -> tuple[int, str]:
        if not answer.audio and not answer.digits:
            # As Twilio: nothing recorded → no action request; the next verb runs.
            if redirect is None or not redirect.text:
                return 200, "<Response/>"
            return await self.post(http, redirect.text, params)
        rec_sid = "RE" + secrets.token_hex(16)
        extra = {"RecordingSid": rec_sid, "RecordingUrl": f"{self.url}/recordings/{rec_sid}"}
        if answer.audio:
            self.recordings[rec_sid] = _pcm_wav_from_mulaw(answer.audio)
            extra["RecordingDuration"] = str(len(answer.audio) // 8000)
        else:
            extra["RecordingDuration"] = "0"
        extra["Digits"] = answer.digits[:1] if answer.digits else ""
        return await self.post(http, record.get("action", ""), {**params, **extra})


def _pcm_wav_from_mulaw(data: bytes) -> bytes:
    """Twilio serves recordings as 8 kHz 16-bit PCM WAV."""
    import io
    import wave

    from bot.voice.endpoint import mulaw_to_pcm16

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(mulaw_to_pcm16(data).tobytes())
    return buffer.getvalue()
