"""The phone gateway: Twilio Voice webhooks and Media Streams, into the same Rasa conversation.

One call is a loop of turns. Each turn Twilio says the bot's lines (`<Say>`) and then opens a
Media Stream to us; we listen (endpointing, keypad, background transcription), send what was
heard to Rasa as sender `voice:<E.164>`, prepare the next turn's TwiML and close the stream;
Twilio then asks the `<Connect>` action URL for that TwiML. The candidate's progress lives in
Rasa and the database, never in this process, so a call that drops resumes at the same
question when they call back. Nothing personal is logged: not numbers, not words, not audio.

Message ids (the idempotency key Rasa's side records, bot/rasa_client.py): `voice:<CallSid>:<n>`
for the n-th message of the call sent to Rasa, so the client's own resend of a message reuses it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from aiohttp import WSMsgType, web

from bot.access_log import Handler, logged
from bot.inbound import prepare, start_payload
from bot.rasa_client import BotMessage, RasaClient, RasaUnavailable, channel_message_id
from bot.session_locks import SessionLocks
from bot.voice import twiml
from bot.voice.endpoint import FRAME_BYTES, EndpointConfig, mulaw_wav
from bot.voice.listener import AnswerListener, Heard, Hints, Transcribe
from bot.voice.security import ReplayGuard, SignatureCheck
from bot.voice.speech_out import SpokenTurn, spoken_turn
from nlu.speech.transcribe import TranscriptionError

logger = logging.getLogger("parley.voice")

SENDER_PREFIX = "voice:"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# What Twilio sends as `From` for a withheld caller ID ("anonymous", "restricted", "blocked",
# "unknown", "unavailable" spelled on a keypad): E.164 in form, but shared by every caller
# who hides their number, so they must not become one shared conversation.
HIDDEN_NUMBERS = frozenset({"+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"})
MAX_FORM_BYTES = 16 * 1024
MAX_RECORDING_BYTES = 40 * 1024 * 1024
INTERVIEW_OVER = "interview_over"  # the action server's end-of-interview marker (custom)
RESULT_WAIT_S = 60.0
MAX_CALL_S = 4 * 3600  # Twilio ends every call after four hours
SIGNATURE = web.RequestKey("twilio_signature", str)

NO_NUMBER = (
    "Hello, this is Parley, the screening interviewer. I can't see the number you're calling "
    "from, and I need it to keep your place in the interview. Please call again without "
    "hiding your number, or use the web chat. Goodbye."
)
UNAVAILABLE = (
    "Sorry, the interviewer is unavailable right now. Your answers so far are saved. "
    "Please call again in a few minutes. Goodbye."
)
NOT_HEARD = "Sorry, I didn't hear anything."
NOT_UNDERSTOOD = "Sorry, I couldn't make out an answer."
LOST = "Sorry, I lost you for a moment."
NO_INPUT_GOODBYE = (
    "I still can't hear you, so I'll end the call here. Your answers so far are saved: call "
    "this number again any time to continue where you left off. Goodbye."
)
FINISHED = "Thank you for your time. Goodbye."
RECORDING_FAILED = "Sorry, I couldn't get the recording of your answer. Please say it again."
PHONE_TIPS = "On the phone, press star to hear a question again, and hash when you've finished."


@dataclass(frozen=True)
class VoiceConfig:
    """What the gateway needs from the settings (README, "Phone", lists every variable)."""

    account_sid: str
    auth_token: str
    public_url: str  # http(s)://host[:port] Twilio reaches us at
    capture: str = "stream"
    language: str | None = "en"
    say_language: str = "en-US"
    say_voice: str = ""
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    keep_recordings: bool = True
    api_url: str = "https://api.twilio.com"

    @classmethod
    def from_settings(cls, settings: Any) -> VoiceConfig:
        return cls(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            public_url=settings.voice_public_base,
            capture="record" if settings.voice_capture == "record" else "stream",
            language=None if settings.voice_language == "auto" else settings.voice_language,
            say_language=settings.say_language,
            say_voice=settings.say_voice,
            endpoint=EndpointConfig(
                end_silence_ms=settings.end_silence_ms,
                no_input_ms=settings.no_input_ms,
                max_answer_ms=settings.max_answer_s * 1000,
            ),
            keep_recordings=settings.keep_recordings,
            api_url=settings.twilio_api_url,
        )

    @property
    def stream_url(self) -> str:
        base = self.public_url.rstrip("/")
        scheme, rest = base.split("://", 1)
        return ("wss" if scheme == "https" else "ws") + "://" + rest + "/voice/stream"


@dataclass
class Call:
    """One phone call in progress (in memory; the interview itself lives in Rasa + the DB)."""

    sid: str
    sender: str
    started: float = field(default_factory=time.monotonic)
    spoken: SpokenTurn = field(default_factory=lambda: SpokenTurn([], {}))
    hints: Hints = field(default_factory=Hints)
    silences: int = 0
    sent: int = 0  # messages of this call sent to Rasa (numbers their message ids)
    # turn token → the next turn's TwiML (set when the answer has been handled)
    turns: dict[str, asyncio.Future[str]] = field(default_factory=dict)
    streaming: set[str] = field(default_factory=set)


@dataclass
class TurnTiming:
    """Per handled answer: seconds from the end of the answer to the next TwiML ready."""

    transcribe_tail_s: float
    rasa_s: float
    total_s: float


HintLookup = Callable[[str], Awaitable[Hints]]
KeepAudio = Callable[[str, bytes], Awaitable[str | None]]


class VoiceGateway:
    def __init__(
        self,
        config: VoiceConfig,
        rasa: RasaClient,
        transcribe: Transcribe,
        *,
        hints: HintLookup | None = None,
        keep_audio: KeepAudio | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.rasa = rasa
        self.transcribe = transcribe
        self.calls: dict[str, Call] = {}
        self.signatures = SignatureCheck(config.auth_token, config.public_url)
        self.replays = ReplayGuard()
        # The latest answers' timings (the benchmark reads them); bounded: a gateway runs for
        # months.
        self.timings: deque[TurnTiming] = deque(maxlen=1000)
        self._hints = hints
        self._keep_audio = keep_audio
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0))
        self._locks = SessionLocks()  # one Rasa turn at a time per caller

    # ------------------------------------------------------------------ TwiML helpers
    def _say(self) -> dict[str, str]:
        return {"voice": self.config.say_voice, "language": self.config.say_language}

    def _listen(self, call: Call, lines: list[str]) -> str:
        token = secrets.token_urlsafe(18)
        call.turns[token] = asyncio.get_running_loop().create_future()
        if self.config.capture == "record":
            action = "/voice/recorded?" + urlencode({"t": token})
            return twiml.record(
                lines,
                action_url=self.signatures.url_for(action),
                max_length_s=self.config.endpoint.max_answer_ms // 1000,
                **self._say(),
            )
        action = "/voice/turn?" + urlencode({"t": token})
        return twiml.listen(
            lines,
            action_url=self.signatures.url_for(action),
            stream_url=self.config.stream_url,
            token=token,
            **self._say(),
        )

    def _goodbye(self, lines: list[str]) -> str:
        return twiml.goodbye(lines, **self._say())

    # ------------------------------------------------------------------ conversation
    async def converse(
        self,
        call: Call,
        text: str,
        metadata: dict[str, Any] | None = None,
        *,
        suffix: list[str] | None = None,
    ) -> tuple[str, float]:
        """Send one message into the caller's conversation; the next TwiML and Rasa's time.
        `suffix` lines are said after the bot's (the phone tips on the first turn)."""
        prepared = prepare(text)
        if prepared.reply is not None:
            return self._listen(call, [prepared.reply, *call.spoken.lines]), 0.0
        assert prepared.text is not None
        started = time.perf_counter()
        try:
            async with self._locks.hold(call.sender):
                call.sent += 1
                message_id = channel_message_id("voice", call.sid, call.sent)
                messages = await self.rasa.send(
                    call.sender, prepared.text, metadata, message_id=message_id
                )
        except RasaUnavailable as exc:
            logger.warning("rasa unavailable: %s", exc)
            return self._goodbye([UNAVAILABLE]), time.perf_counter() - started
        rasa_s = time.perf_counter() - started
        over = any(_is_over(m) for m in messages)
        turn = spoken_turn([m for m in messages if m.text or m.buttons])
        if over:
            return self._goodbye([*turn.lines, FINISHED]), rasa_s
        call.spoken = turn
        call.silences = 0
        if self._hints is not None:
            call.hints = await self._hints(call.sender)
        return self._listen(call, [*(turn.lines or [LOST]), *(suffix or [])]), rasa_s

    async def handle_heard(self, call: Call, heard: Heard) -> str:
        """What to do with one answer: the next turn's TwiML."""
        ended = time.perf_counter() - heard.tail_s
        if heard.kind == "repeat":
            return self._listen(call, call.spoken.lines or [LOST])
        if heard.kind == "digits":
            return (await self.converse(call, call.spoken.keys.get(heard.text, heard.text)))[0]
        if heard.kind == "no_input" or not heard.text.strip():
            call.silences += 1
            if call.silences >= 2:
                return self._goodbye([NO_INPUT_GOODBYE])
            first = NOT_HEARD if heard.kind == "no_input" else NOT_UNDERSTOOD
            return self._listen(call, [first, *call.spoken.lines])
        audio_ref = heard.audio_ref
        if self._keep_audio is not None and self.config.keep_recordings and heard.audio:
            audio_ref = await self._keep_audio(call.sender, mulaw_wav(heard.audio))
        speech = {
            "confidence": heard.confidence,
            "avg_logprob": heard.avg_logprob,
            "no_speech_prob": heard.no_speech_prob,
            "language": heard.language,
            "duration_s": round(heard.duration_s, 2),
            "audio_ref": audio_ref,
            "truncated": heard.kind == "too_long",
        }
        result, rasa_s = await self.converse(call, heard.text, {"speech": speech})
        total = time.perf_counter() - ended
        self.timings.append(TurnTiming(heard.tail_s, rasa_s, total))
        return result

    # ------------------------------------------------------------------ webhooks
    async def _form(self, request: web.Request) -> dict[str, str] | web.Response:
        """The POST parameters of a genuine, fresh Twilio request, or the response to send."""
        if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
            return web.Response(status=413, text="Request too large.")
        try:
            raw = await request.post()
        except Exception:
            return web.Response(status=400, text="Malformed form body.")
        params = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
        signature = request.headers.get("X-Twilio-Signature")
        if not self.signatures.valid(request.path_qs, params, signature):
            logger.warning("rejected %s: bad or missing signature", request.path)
            return web.Response(status=403, text="Invalid signature.")
        assert signature is not None
        fresh, earlier = self.replays.check(
            signature, request.headers.get("I-Twilio-Idempotency-Token")
        )
        if earlier is not None:
            return _twiml_response(earlier)
        if not fresh:
            logger.warning("rejected %s: replayed request", request.path)
            return web.Response(status=403, text="Replayed request.")
        self.replays.remember(signature, request.headers.get("I-Twilio-Idempotency-Token"))
        request[SIGNATURE] = signature
        return params

    def _remember_answer(self, request: web.Request, body: str) -> None:
        signature = request.get(SIGNATURE)
        if signature:
            self.replays.remember(
                signature, request.headers.get("I-Twilio-Idempotency-Token"), body
            )

    async def incoming(self, request: web.Request) -> web.Response:
        """A call starts (inbound, or an outbound call the candidate answered)."""
        params = await self._form(request)
        if isinstance(params, web.Response):
            return params
        sid = params.get("CallSid", "")
        outbound = params.get("Direction", "inbound").startswith("outbound")
        number = params.get("To" if outbound else "From", "")
        if not sid or not E164.match(number) or number in HIDDEN_NUMBERS:
            body = self._goodbye([NO_NUMBER])
        else:
            self._forget_ended_calls()
            call = self.calls[sid] = Call(sid=sid, sender=SENDER_PREFIX + number)
            job = request.query.get("job") or None
            body, _ = await self.converse(call, start_payload(job), suffix=[PHONE_TIPS])
        self._remember_answer(request, body)
        return _twiml_response(body)

    def _forget_ended_calls(self) -> None:
        """Calls whose status callback never came (not configured, lost) are dropped once
        they must be over, so the table stays as small as the calls in progress."""
        now = time.monotonic()
        for sid in [sid for sid, c in self.calls.items() if now - c.started > MAX_CALL_S]:
            for future in self.calls.pop(sid).turns.values():
                future.cancel()

    async def turn(self, request: web.Request) -> web.Response:
        """The `<Connect>` action: the stream of a turn is over; answer the next turn."""
        params = await self._form(request)
        if isinstance(params, web.Response):
            return params
        call = self.calls.get(params.get("CallSid", ""))
        token = request.query.get("t", "")
        future = call.turns.pop(token, None) if call else None
        if call is None or future is None:
            return web.Response(status=403, text="Unknown or used turn.")
        if not future.done() and token not in call.streaming:
            body = self._listen(call, [LOST, *call.spoken.lines])  # the stream never came
        else:
            try:
                body = await asyncio.wait_for(asyncio.shield(future), RESULT_WAIT_S)
            except TimeoutError:
                body = self._goodbye([UNAVAILABLE])
        self._remember_answer(request, body)
        return _twiml_response(body)

    async def recorded(self, request: web.Request) -> web.Response:
        """The `<Record>` action (capture mode "record"): fetch, transcribe, answer."""
        params = await self._form(request)
        if isinstance(params, web.Response):
            return params
        call = self.calls.get(params.get("CallSid", ""))
        future = call.turns.pop(request.query.get("t", ""), None) if call else None
        if call is None or future is None:
            return web.Response(status=403, text="Unknown or used turn.")
        future.cancel()
        key = params.get("Digits", "")
        if "RecordingUrl" not in params:  # the <Redirect> after an empty <Record>
            heard: Heard | None = Heard(kind="no_input")
        elif key == "*":
            heard = Heard(kind="repeat")
        elif key.isdigit():
            heard = Heard(kind="digits", text=key)
        else:
            heard = await self._fetch_and_transcribe(call, params)
        body = await self.handle_heard(call, heard) if heard else None
        if body is None:
            body = self._listen(call, [RECORDING_FAILED, *call.spoken.lines])
        self._remember_answer(request, body)
        return _twiml_response(body)

    async def _fetch_and_transcribe(self, call: Call, params: dict[str, str]) -> Heard | None:
        """Fetch the recording with the account credentials, delete it at Twilio (fetched or
        not: our copy is the only one we want), transcribe it. None: nothing usable."""
        url = params.get("RecordingUrl", "")
        try:
            if not url.startswith(("https://", "http://")):
                return None
            started = time.perf_counter()
            wav = await self._download(url + ".wav")
            if wav is None:
                return None
        finally:
            await self._delete_at_twilio(params.get("RecordingSid", ""))
        try:
            result = await asyncio.to_thread(self.transcribe, wav, call.hints)
        except TranscriptionError:
            return Heard(kind="speech", text="", tail_s=time.perf_counter() - started)
        heard = Heard(
            kind="speech",
            text=result.text,
            confidence=result.confidence,
            avg_logprob=result.avg_logprob,
            no_speech_prob=result.no_speech_prob,
            language=result.language,
            duration_s=result.duration_s,
            tail_s=time.perf_counter() - started,
        )
        if self._keep_audio is not None and self.config.keep_recordings and result.text:
            heard.audio_ref = await self._keep_audio(call.sender, wav)  # the WAV as fetched
        return heard

    async def _download(self, url: str) -> bytes | None:
        """The recording's bytes, streamed and cut off above MAX_RECORDING_BYTES."""
        auth = (self.config.account_sid, self.config.auth_token)
        try:
            async with self._http.stream("GET", url, auth=auth) as response:
                if response.status_code != 200:
                    logger.warning("recording fetch answered HTTP %d", response.status_code)
                    return None
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_RECORDING_BYTES:
                        logger.warning("recording over %d bytes refused", MAX_RECORDING_BYTES)
                        return None
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            logger.warning("recording fetch failed: %s", type(exc).__name__)
            return None

    async def _delete_at_twilio(self, recording_sid: str) -> None:
        """Our copy is the only copy: the recording is deleted at Twilio once fetched."""
        if not re.fullmatch(r"RE[0-9a-fA-F]{32}", recording_sid):
            return
        url = (
            f"{self.config.api_url.rstrip('/')}/2010-04-01/Accounts/"
            f"{self.config.account_sid}/Recordings/{recording_sid}.json"
        )
        try:
            await self._http.delete(url, auth=(self.config.account_sid, self.config.auth_token))
        except httpx.HTTPError as exc:
            logger.warning("could not delete a recording at Twilio: %s", type(exc).__name__)

    async def status(self, request: web.Request) -> web.Response:
        """Call status callback: forget the call when it ends (the interview stays saved)."""
        params = await self._form(request)
        if isinstance(params, web.Response):
            return params
        if params.get("CallStatus") in ("completed", "busy", "failed", "no-answer", "canceled"):
            call = self.calls.pop(params.get("CallSid", ""), None)
            if call is not None:
                for future in call.turns.values():
                    future.cancel()
        return web.Response(status=204)

    # ------------------------------------------------------------------ media stream
    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Twilio Media Streams websocket for one turn (authenticated by its turn token)."""
        signature = request.headers.get("X-Twilio-Signature")
        if signature is not None and not self.signatures.valid(request.path_qs, {}, signature):
            return web.Response(status=403, text="Invalid signature.")
        ws = web.WebSocketResponse(max_msg_size=256 * 1024, autoping=True)
        await ws.prepare(request)
        call: Call | None = None
        token = ""
        listener: AnswerListener | None = None
        heard: Heard | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                        break
                    continue
                data = _json(msg.data)
                event = data.get("event")
                if event == "start" and listener is None:
                    start = data.get("start") if isinstance(data.get("start"), dict) else {}
                    params = start.get("customParameters") or {}
                    token = str(params.get("turn", "")) if isinstance(params, dict) else ""
                    call = self._call_for(token, str(start.get("callSid", "")))
                    if call is None:
                        await ws.close(code=1008, message=b"unknown turn")
                        return ws
                    call.streaming.add(token)
                    listener = AnswerListener(
                        self.transcribe,
                        hints=call.hints,
                        options=frozenset(call.spoken.keys),
                        config=self.config.endpoint,
                    )
                elif listener is None:
                    continue
                elif event == "media":
                    media = data.get("media") if isinstance(data.get("media"), dict) else {}
                    if media.get("track", "inbound") not in ("inbound", "inbound_track"):
                        continue
                    for frame in _frames(media.get("payload")):
                        heard = await listener.feed(frame)
                        if heard is not None:
                            break
                elif event == "dtmf":
                    dtmf = data.get("dtmf") if isinstance(data.get("dtmf"), dict) else {}
                    heard = await listener.digit(str(dtmf.get("digit", ""))[:1])
                elif event == "stop":  # the caller hung up: the question stays open
                    listener.cancel()
                    break
                if heard is not None:
                    break
            if call is not None and heard is not None:
                future = call.turns.get(token)
                body = await self.handle_heard(call, heard)
                if future is not None and not future.done():
                    future.set_result(body)
        finally:
            if listener is not None and heard is None:
                listener.cancel()
            if call is not None:
                call.streaming.discard(token)
            await ws.close()
        return ws

    def _call_for(self, token: str, call_sid: str) -> Call | None:
        if not token:
            return None
        call = self.calls.get(call_sid)
        if call is not None and token in call.turns and token not in call.streaming:
            return call
        return None

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "calls": len(self.calls)})


def _is_over(message: BotMessage) -> bool:
    custom = getattr(message, "custom", None)
    return isinstance(custom, dict) and custom.get("parley") == INTERVIEW_OVER


def _json(raw: Any) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _frames(payload: Any) -> list[bytes]:
    """A media payload (base64 µ-law) as 20 ms frames; garbage decodes to nothing."""
    if not isinstance(payload, str) or len(payload) > 64_000:
        return []
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return []
    return [data[i : i + FRAME_BYTES] for i in range(0, len(data), FRAME_BYTES)]


def _twiml_response(body: str) -> web.Response:
    return web.Response(
        text=body, content_type="text/xml", charset="utf-8", headers={"Cache-Control": "no-store"}
    )


@web.middleware
async def _access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Method, path and status only: query strings carry turn tokens, bodies phone numbers."""
    return await logged(
        request,
        handler,
        logger,
        path=request.path,
        on_error=lambda: web.Response(status=500, text="Internal error."),
    )


def create_app(gateway: VoiceGateway) -> web.Application:
    app = web.Application(middlewares=[_access_log], client_max_size=MAX_FORM_BYTES)
    app.router.add_post("/voice/incoming", gateway.incoming)
    app.router.add_post("/voice/turn", gateway.turn)
    app.router.add_post("/voice/recorded", gateway.recorded)
    app.router.add_post("/voice/status", gateway.status)
    app.router.add_get("/voice/stream", gateway.stream)
    app.router.add_get("/healthz", gateway.healthz)
    return app
