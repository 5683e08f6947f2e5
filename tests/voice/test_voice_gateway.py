"""The phone gateway over HTTP and Media Streams, driven by the Twilio stand-in, with the real
speech model and a fake Rasa: what the caller hears (TwiML), what Rasa receives, and how bad
calls (hidden numbers, silence, noise, garbage on the websocket, Rasa down, recordings that
404 or are empty or too big) end politely instead of crashing.

The full interview against the real Rasa is tests/e2e/test_voice_call.py."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import wave
import xml.etree.ElementTree as ET
from collections.abc import Callable

import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from bot.voice import app as voice_app
from bot.voice.app import (
    NO_INPUT_GOODBYE,
    NO_NUMBER,
    NOT_HEARD,
    NOT_UNDERSTOOD,
    PHONE_TIPS,
    RECORDING_FAILED,
    UNAVAILABLE,
)
from nlu.speech.normalize import normalize_for_wer
from parley.twilio_standin import SILENCE, Answer, speak_mulaw
from tests.voice.conftest import (
    CALLER,
    Line,
    PhoneFactory,
    connect_of,
    mulaw_encode,
    never_transcribe,
    press_on_stream,
    run,
    says,
    start_message,
    verbs,
)
from tests.web.fake_rasa import FakeRasa

FIRST_QUESTION = ["Question 1?", "Say your answer, or press 1 for Yes, press 2 for No."]
# Chosen because Whisper base gets it right at 8 kHz µ-law with espeak-ng's voice.
SPOKEN = "I worked for five years, so my experience is good."


@pytest.fixture(scope="module")
def spoken_answer() -> bytes:
    return speak_mulaw(SPOKEN)


def assert_valid_twiml(body: str) -> None:
    assert verbs(body), body  # parses, and says or does something
    assert set(verbs(body)) <= {"Say", "Connect", "Record", "Redirect", "Hangup"}


# --------------------------------------------------------------------------- call start
@pytest.mark.parametrize(
    "caller",
    ["anonymous", "", "+266696687", "+7378742833", "+2562533", "15551230001", "client:alice"],
)
def test_a_hidden_number_gets_a_goodbye_and_nothing_reaches_rasa(
    phone: PhoneFactory, rasa: FakeRasa, caller: str
) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            body, _ = await line.incoming(caller)
            assert says(body) == [NO_NUMBER]
            assert verbs(body)[-1] == "Hangup"
            assert line.gateway.calls == {}

    run(scenario())
    assert rasa.requests == []


def test_the_first_turn_starts_the_interview_and_streams_the_answer(
    phone: PhoneFactory, rasa: FakeRasa
) -> None:
    async def scenario() -> str:
        async with phone(transcribe=never_transcribe) as line:
            body, _ = await line.incoming()
            return body

    body = run(scenario())
    assert [(r.sender, r.message) for r in rasa.requests] == [("voice:" + CALLER, "/start")]
    assert says(body) == [*FIRST_QUESTION, PHONE_TIPS]
    assert verbs(body) == ["Say", "Say", "Say", "Connect"]
    action, stream, token = connect_of(body)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/voice/turn\?t=[\w-]{20,}", action)
    assert re.fullmatch(r"ws://127\.0\.0\.1:\d+/voice/stream", stream)
    assert action.endswith("t=" + token)


def test_an_outbound_call_for_a_job_starts_that_job(phone: PhoneFactory, rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            params = line.standin.call_params("CA" + "1" * 32, CALLER, outbound=True)
            status, body = await line.post("/voice/incoming?job=backend-1", params)
            assert status == 200 and verbs(body)[-1] == "Connect"

    run(scenario())
    assert [(r.sender, r.message) for r in rasa.requests] == [
        ("voice:" + CALLER, '/start{"job_id":"backend-1"}')
    ]


# --------------------------------------------------------------------------- keypad
def test_keypad_answers_repeat_and_free_digits(phone: PhoneFactory, rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            log = await line.standin.call(
                CALLER, [Answer.press("*"), Answer.press("1"), Answer.press("42#")]
            )
            first, repeated, after_yes, after_digits = (t.said for t in log.turns)
            assert first == [*FIRST_QUESTION, PHONE_TIPS]
            assert repeated == FIRST_QUESTION  # "*": the same question, Rasa not asked
            assert after_yes == ["Next question after: yes"]  # "1": the Yes button's payload
            assert after_digits == ["Next question after: 42"]
            assert set(log.statuses) == {200}

    run(scenario())
    assert rasa.messages() == ["/start", "yes", "42"]
    assert set(rasa.senders()) == {"voice:" + CALLER}


# --------------------------------------------------------------------------- speech
def test_a_spoken_answer_reaches_rasa_as_text(
    phone: PhoneFactory, rasa: FakeRasa, spoken_answer: bytes
) -> None:
    async def scenario() -> list[tuple[str, bytes]]:
        async with phone() as line:
            log = await line.standin.call(CALLER, [Answer(audio=spoken_answer)])
            assert log.turns[-1].said[0].startswith("Next question after: ")
            return line.kept

    kept = run(scenario())
    assert rasa.messages()[0] == "/start"
    assert rasa.senders() == ["voice:" + CALLER] * 2
    heard = normalize_for_wer(rasa.messages()[1])
    assert "5" in heard or "five" in heard, heard
    assert "experience" in heard, heard
    # The answer's audio was handed over for keeping, as a WAV of about its length.
    ((sender, wav),) = kept
    assert sender == "voice:" + CALLER
    seconds = len(decode_audio(io.BytesIO(wav), sampling_rate=16_000)) / 16_000
    assert abs(seconds - len(spoken_answer) / 8000) < 1.0


def test_silence_reprompts_once_then_says_goodbye(phone: PhoneFactory, rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            log = await line.standin.call(CALLER, [Answer(), Answer(), Answer()])
            assert len(log.turns) == 3  # the third answer is never asked for
            assert log.turns[1].said == [NOT_HEARD, *FIRST_QUESTION]
            assert log.hung_up_by_gateway
            assert log.turns[2].said == [NO_INPUT_GOODBYE]

    run(scenario())
    assert rasa.messages() == ["/start"]


def _white_noise(seconds: float) -> bytes:
    rng = np.random.default_rng(7)
    return mulaw_encode(rng.normal(0, 0.2 * 32768, int(seconds * 8000)))


def _music(seconds: float) -> bytes:
    notes = [262, 330, 392, 523, 392, 330]
    t = np.arange(int(0.25 * 8000)) / 8000
    chunks = [
        0.3 * 32767 * np.sin(2 * np.pi * notes[i % len(notes)] * t) for i in range(int(seconds * 4))
    ]
    return mulaw_encode(np.concatenate(chunks))


@pytest.mark.parametrize("sound", [_white_noise, _music], ids=["white-noise", "music"])
def test_noise_or_music_is_not_taken_for_an_answer(
    phone: PhoneFactory, rasa: FakeRasa, sound: Callable[[float], bytes]
) -> None:
    async def scenario() -> None:
        async with phone() as line:
            log = await line.standin.call(CALLER, [Answer(audio=sound(2.5))])
            assert set(log.statuses) == {200}
            assert len(log.turns) == 2
            said = log.turns[1].said
            # Either the gateway asks again, or (should Whisper hear words) Rasa answered.
            reprompted = said[0].startswith("Sorry") and said[1:] == FIRST_QUESTION
            assert reprompted or said[0].startswith("Next question after: "), said

    run(scenario())
    assert rasa.messages()[0] == "/start"
    assert len(rasa.messages()) <= 2


# --------------------------------------------------------------------------- hostile streams
def test_garbage_on_the_websocket_does_not_break_the_turn(
    phone: PhoneFactory, rasa: FakeRasa
) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            body, params = await line.incoming()
            action, stream, token = connect_of(body)
            sid = params["CallSid"]
            media = {"event": "media", "media": {"track": "inbound", "payload": ""}}
            async with line.http.ws_connect(stream) as ws:
                # Before "start": ignored.
                await ws.send_str(json.dumps({**media, "media": {"payload": _b64(SILENCE)}}))
                await ws.send_str(json.dumps({"event": "dtmf", "dtmf": {"digit": "2"}}))
                await ws.send_str(json.dumps(start_message(token, sid)))
                for junk in [
                    "not json",
                    "[1, 2, 3]",
                    "null",
                    '"start"',
                    "{}",
                    json.dumps({"event": ["media"]}),
                    json.dumps({"event": "media", "media": "payload"}),
                    json.dumps({**media, "media": {"payload": "%%% not base64 %%%"}}),
                    json.dumps({**media, "media": {"payload": 12345}}),
                    json.dumps({**media, "media": {"payload": "A" * 100_000}}),  # too big
                    json.dumps({**media, "media": {"payload": _b64(b"\x00" * 7)}}),  # short
                    json.dumps({**media, "media": {"track": "outbound", "payload": "AAAA"}}),
                    json.dumps({"event": "dtmf", "dtmf": "1"}),
                    json.dumps({"event": "dtmf", "dtmf": {"digit": None}}),
                    json.dumps({"event": "dtmf", "dtmf": {"digit": "ABC"}}),
                    json.dumps(start_message("other", sid)),  # a second start
                    json.dumps({"event": "mark", "mark": {"name": "x"}}),
                    "{" * 10_000,
                ]:
                    await ws.send_str(junk)
                await ws.send_bytes(b"\x00\xff" * 1000)
                await ws.send_bytes(SILENCE)
                await ws.send_str(json.dumps({"event": "dtmf", "dtmf": {"digit": "1"}}))
                async for _ in ws:
                    pass
            status, body = await line.post(action, params)
            assert status == 200
            assert says(body) == ["Next question after: yes"]

    run(scenario())
    assert rasa.messages() == ["/start", "yes"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_an_oversized_websocket_message_loses_the_turn_not_the_call(
    phone: PhoneFactory, rasa: FakeRasa
) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            body, params = await line.incoming()
            action, stream, token = connect_of(body)
            async with line.http.ws_connect(stream, max_msg_size=0) as ws:
                await ws.send_str(json.dumps(start_message(token, params["CallSid"])))
                await ws.send_str("x" * (1024 * 1024))
                async for _ in ws:
                    pass
            status, body = await line.post(action, params)
            assert status == 200
            assert says(body)[1:] == FIRST_QUESTION and says(body)[0].startswith("Sorry")
            assert verbs(body)[-1] == "Connect"  # and the question is asked again

    run(scenario())
    assert rasa.messages() == ["/start"]


def test_a_caller_who_hangs_up_mid_answer_leaves_the_question_open(
    phone: PhoneFactory, rasa: FakeRasa
) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            body, params = await line.incoming()
            _, stream, token = connect_of(body)
            async with line.http.ws_connect(stream) as ws:
                await ws.send_str(json.dumps(start_message(token, params["CallSid"])))
                await ws.send_str(json.dumps({"event": "stop", "stop": {}}))
                async for _ in ws:
                    pass
            status, _ = await line.post("/voice/status", {**params, "CallStatus": "completed"})
            assert status == 204 and line.gateway.calls == {}

    run(scenario())
    assert rasa.messages() == ["/start"]


# --------------------------------------------------------------------------- Rasa down
def test_rasa_down_at_the_start_gets_a_polite_goodbye(phone: PhoneFactory, rasa: FakeRasa) -> None:
    rasa.fail = True

    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            body, _ = await line.incoming()
            assert says(body) == [UNAVAILABLE] and verbs(body)[-1] == "Hangup"

    run(scenario())


def test_rasa_down_during_the_call_gets_a_polite_goodbye(
    phone: PhoneFactory, rasa: FakeRasa
) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            body, params = await line.incoming()
            rasa.fail = True
            status, body = await press_on_stream(line, body, params, "1")
            assert status == 200
            assert says(body) == [UNAVAILABLE] and verbs(body)[-1] == "Hangup"

    run(scenario())
    assert rasa.messages() == ["/start", "yes", "yes"]  # a 5xx is retried once (same id)


# --------------------------------------------------------------------------- record mode
def test_record_mode_fetches_transcribes_and_deletes_the_recording(
    phone: PhoneFactory, rasa: FakeRasa, spoken_answer: bytes
) -> None:
    async def scenario() -> None:
        async with phone(capture="record") as line:
            body, _ = await line.incoming()
            record = _record_element(body)
            assert record.get("action", "").startswith(line.url + "/voice/recorded?t=")
            assert set(record.get("finishOnKey", "")) >= set("0123456789*#")
            assert int(record.get("maxLength", "0")) == 30
            log = await line.standin.call(
                "+15551230002", [Answer(audio=spoken_answer), Answer.press("*")]
            )
            assert set(log.statuses) == {200}
            assert log.turns[1].said[0].startswith("Next question after: ")
            assert log.turns[2].said == log.turns[1].said  # "*" ends the recording: repeat
            # Fetched with the account's credentials (the stand-in checks them), then deleted.
            assert sorted(line.standin.deleted_recordings) == sorted(line.standin.recordings)
            assert len(line.standin.deleted_recordings) == 1
            ((_, kept),) = line.kept
            assert kept == next(iter(line.standin.recordings.values()))  # as fetched

    run(scenario())
    heard = normalize_for_wer(rasa.messages()[-1])
    assert "experience" in heard and ("5" in heard or "five" in heard), heard
    assert rasa.messages().count("/start") == 2


def _record_element(body: str) -> ET.Element:
    record = ET.fromstring(body).find("Record")
    assert record is not None, body
    return record


async def _post_recording(
    line: Line, body: str, params: dict[str, str], sid: str, seconds: str
) -> tuple[int, str]:
    action = _record_element(body).get("action", "")
    extra = {
        "RecordingSid": sid,
        "RecordingUrl": f"{line.standin.url}/recordings/{sid}",
        "RecordingDuration": seconds,
        "Digits": "",
    }
    return await line.post(action, {**params, **extra})


def _pcm_wav(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.astype(np.int16).tobytes())
    return buffer.getvalue()


def test_a_recording_that_404s_is_asked_for_again(phone: PhoneFactory, rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with phone(capture="record", transcribe=never_transcribe) as line:
            body, params = await line.incoming()
            status, again = await _post_recording(line, body, params, "RE" + "0" * 32, "4")
            assert status == 200
            assert says(again) == [RECORDING_FAILED, *FIRST_QUESTION]
            assert "couldn't get the recording" in RECORDING_FAILED
            assert verbs(again)[-2:] == ["Record", "Redirect"]
            # The same signed webhook again: a replay.
            status, _ = await _post_recording(line, body, params, "RE" + "0" * 32, "4")
            assert status == 403

    run(scenario())
    assert rasa.messages() == ["/start"]


def test_an_empty_recording_is_a_reprompt(phone: PhoneFactory, rasa: FakeRasa) -> None:
    async def scenario() -> None:
        async with phone(capture="record") as line:
            body, params = await line.incoming()
            sid = "RE" + "1" * 32
            line.standin.recordings[sid] = _pcm_wav(np.zeros(0))
            status, again = await _post_recording(line, body, params, sid, "0")
            assert status == 200
            assert says(again)[1:] == FIRST_QUESTION and says(again)[0].startswith("Sorry")
            assert verbs(again)[-2:] == ["Record", "Redirect"]
            assert line.kept == []

    run(scenario())
    assert rasa.messages() == ["/start"]


@pytest.mark.parametrize("capped", [True, False], ids=["over-the-cap", "control"])
def test_a_recording_over_the_size_cap_is_refused_cleanly(
    phone: PhoneFactory, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch, capped: bool
) -> None:
    # A long recording, scaled down: the cap is lowered rather than a 10-minute file served.
    # The control (same recording, normal cap) shows it is the cap that refuses it.
    if capped:
        monkeypatch.setattr(voice_app, "MAX_RECORDING_BYTES", 16_000)

    async def scenario() -> None:
        async with phone(capture="record") as line:
            body, params = await line.incoming()
            sid = "RE" + "2" * 32
            line.standin.recordings[sid] = _pcm_wav(np.zeros(8000 * 2))  # 2 s, 32 KB
            status, again = await _post_recording(line, body, params, sid, "2")
            assert status == 200
            if capped:
                assert says(again) == [RECORDING_FAILED, *FIRST_QUESTION]
            else:  # fetched and transcribed: silence, so asked again differently
                assert says(again) == [NOT_UNDERSTOOD, *FIRST_QUESTION]
            assert verbs(again)[-2:] == ["Record", "Redirect"]

    run(scenario())
    assert rasa.messages() == ["/start"]


# --------------------------------------------------------------------------- concurrency
def test_two_calls_at_once_both_complete(
    phone: PhoneFactory, rasa: FakeRasa, spoken_answer: bytes
) -> None:
    rasa.delay = 0.2

    async def scenario() -> None:
        async with phone() as line:
            a, b = await asyncio.gather(
                line.standin.call("+15551230011", [Answer(audio=spoken_answer)]),
                line.standin.call("+15551230012", [Answer.press("2")]),
            )
            for log in (a, b):
                assert set(log.statuses) == {200}
                assert log.turns[-1].said[0].startswith("Next question after: ")
            assert b.turns[-1].said == ["Next question after: no"]

    run(scenario())
    assert rasa.overlaps == []
    by_sender: dict[str, list[str]] = {}
    for r in rasa.requests:
        by_sender.setdefault(r.sender, []).append(r.message)
    assert by_sender["voice:+15551230012"] == ["/start", "no"]
    assert by_sender["voice:+15551230011"][0] == "/start"
    assert len(by_sender["voice:+15551230011"]) == 2


def test_two_calls_from_one_number_never_overlap_at_rasa(
    phone: PhoneFactory, rasa: FakeRasa
) -> None:
    rasa.delay = 0.2

    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            logs = await asyncio.gather(
                *(line.standin.call(CALLER, [Answer.press("1")]) for _ in range(3))
            )
            for log in logs:
                assert set(log.statuses) == {200}
                assert log.turns[-1].said == ["Next question after: yes"]

    run(scenario())
    assert rasa.overlaps == []
    assert sorted(rasa.messages()) == ["/start"] * 3 + ["yes"] * 3


def test_calls_without_a_status_callback_are_forgotten_after_four_hours(
    phone: PhoneFactory, rasa: FakeRasa
) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            await line.incoming()
            (old,) = line.gateway.calls.values()
            old.started -= voice_app.MAX_CALL_S + 1
            await line.incoming(sid="CA" + "f" * 32, caller="+15550009999")
            assert list(line.gateway.calls) == ["CA" + "f" * 32]

    run(scenario())
