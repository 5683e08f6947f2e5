"""Is a webhook really from Twilio, and is it new? `SignatureCheck` and `ReplayGuard` on their
own, then the gateway over HTTP: every webhook that is unsigned, wrongly signed, signed for
another URL, tampered with or replayed is refused with 403 and reaches neither Rasa nor a call;
turn tokens are single-use; the Media Streams websocket admits only a live turn."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from bot.voice.security import ReplayGuard, SignatureCheck
from tests.voice.conftest import (
    AUTH_TOKEN,
    CALLER,
    Line,
    PhoneFactory,
    connect_of,
    never_transcribe,
    press_on_stream,
    run,
    says,
    start_message,
    verbs,
)
from tests.web.fake_rasa import FakeRasa

PUBLIC = "https://public.example"
PARAMS = {"CallSid": "CA" + "b" * 32, "From": "+15551230001", "To": "+15550001000"}


# --------------------------------------------------------------------------- SignatureCheck
def signed(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def test_a_valid_signature_for_the_public_url_is_accepted() -> None:
    check = SignatureCheck(AUTH_TOKEN, PUBLIC + "/")
    assert check.url_for("/voice/incoming?job=x") == PUBLIC + "/voice/incoming?job=x"
    signature = signed(PUBLIC + "/voice/incoming?job=x", PARAMS)
    assert check.valid("/voice/incoming?job=x", PARAMS, signature)
    assert check.sign("/voice/incoming?job=x", PARAMS) == signature


@pytest.mark.parametrize("signature", [None, "", "bogus", "é" * 40, "\x00", "A" * 10_000])
def test_missing_or_garbage_signatures_are_refused(signature: str | None) -> None:
    assert not SignatureCheck(AUTH_TOKEN, PUBLIC).valid("/voice/incoming", PARAMS, signature)


@pytest.mark.parametrize(
    ("url", "params", "token"),
    [
        ("http://127.0.0.1:8080/voice/incoming", PARAMS, AUTH_TOKEN),  # the URL we see
        ("https://other.example/voice/incoming", PARAMS, AUTH_TOKEN),  # another host
        (PUBLIC + "/voice/status", PARAMS, AUTH_TOKEN),  # another path
        (PUBLIC + "/voice/incoming?job=y", PARAMS, AUTH_TOKEN),  # another query
        (PUBLIC + "/voice/incoming", PARAMS, "another-accounts-token"),
    ],
    ids=["local-url", "other-host", "other-path", "other-query", "other-token"],
)
def test_a_signature_for_something_else_is_refused(
    url: str, params: dict[str, str], token: str
) -> None:
    check = SignatureCheck(AUTH_TOKEN, PUBLIC)
    assert not check.valid("/voice/incoming", PARAMS, signed(url, params, token))


@pytest.mark.parametrize(
    "tampered",
    [
        {**PARAMS, "From": "+15559999999"},
        {**PARAMS, "Digits": "1"},
        {k: v for k, v in PARAMS.items() if k != "To"},
    ],
    ids=["changed", "added", "removed"],
)
def test_tampered_parameters_are_refused(tampered: dict[str, str]) -> None:
    check = SignatureCheck(AUTH_TOKEN, PUBLIC)
    assert not check.valid("/voice/incoming", tampered, signed(PUBLIC + "/voice/incoming", PARAMS))


# --------------------------------------------------------------------------- ReplayGuard
def test_a_signature_is_accepted_once() -> None:
    guard = ReplayGuard()
    assert guard.check("sig-1", None) == (True, None)
    guard.remember("sig-1", None, "<Response/>")
    assert guard.check("sig-1", None) == (False, None)
    assert guard.check("sig-2", None) == (True, None)


def test_a_twilio_retry_gets_the_earlier_answer() -> None:
    guard = ReplayGuard()
    assert guard.check("sig", "idem-1") == (True, None)
    guard.remember("sig", "idem-1")  # accepted, still being answered
    assert guard.check("sig", "idem-1") == (False, None)  # no answer yet: not redone either
    guard.remember("sig", "idem-1", "<Response>first</Response>")
    assert guard.check("sig", "idem-1") == (False, "<Response>first</Response>")
    # The same signature with another token, or none, is a replay.
    assert guard.check("sig", "idem-2") == (False, None)
    assert guard.check("sig", None) == (False, None)


def test_memory_is_bounded_and_the_oldest_are_forgotten() -> None:
    guard = ReplayGuard(limit=50)
    for n in range(1000):
        fresh, _ = guard.check(f"sig-{n}", None)
        assert fresh
        guard.remember(f"sig-{n}", None, "answer")
    assert guard.check("sig-999", None) == (False, None)  # the newest are remembered
    assert guard.check("sig-960", None) == (False, None)
    assert guard.check("sig-0", None) == (True, None)  # the oldest were evicted
    assert guard.check("sig-900", None) == (True, None)


def test_signatures_are_forgotten_after_the_window() -> None:
    guard = ReplayGuard(window_s=0.05)
    guard.remember("sig", None, "answer")
    assert guard.check("sig", None) == (False, None)
    time.sleep(0.1)
    assert guard.check("sig", None) == (True, None)


# --------------------------------------------------------------------------- over HTTP
WEBHOOKS = ["/voice/incoming", "/voice/turn?t=tok", "/voice/status", "/voice/recorded?t=tok"]


@pytest.mark.parametrize("path", WEBHOOKS)
def test_bad_signatures_get_403_and_reach_nothing(phone: PhoneFactory, path: str) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            params = line.standin.call_params("CA" + "c" * 32, CALLER)
            full = line.url + path
            other_token = RequestValidator("wrong-token").compute_signature(full, params)
            attempts = {
                "unsigned": None,
                "garbage": "bm90IGEgc2lnbmF0dXJl",
                "wrong-token": other_token,
                "other-url": line.sign("https://elsewhere.example" + path, params),
                "tampered": line.sign(full, {**params, "From": "+15559999999"}),
            }
            for name, signature in attempts.items():
                status, text = await line.post(path, params, signature=signature)
                assert status == 403, (name, status, text)
            assert line.gateway.calls == {}
        assert line.rasa.requests == []

    run(scenario())


def test_a_request_signed_for_the_public_url_is_accepted_behind_a_proxy(
    phone: PhoneFactory, rasa: FakeRasa
) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe, public_url=PUBLIC) as line:
            params = line.standin.call_params("CA" + "d" * 32, CALLER)
            # What we see is http://127.0.0.1:port; Twilio signed the public https URL.
            status, _ = await line.post("/voice/incoming", params)
            assert status == 403
            public_sig = line.sign(PUBLIC + "/voice/incoming", params)
            status, body = await line.post("/voice/incoming", params, signature=public_sig)
            assert status == 200
            action, stream, token = connect_of(body)
            assert action.startswith(PUBLIC + "/voice/turn?t=")
            assert stream == "wss://public.example/voice/stream"
            assert token and token in action

    run(scenario())
    assert rasa.messages() == ["/start"]


def test_a_replayed_webhook_is_refused_and_a_retry_gets_the_same_answer(
    phone: PhoneFactory,
) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            params = line.standin.call_params("CA" + "e" * 32, CALLER)
            retry = {"I-Twilio-Idempotency-Token": "idem-1"}
            status, first = await line.post("/voice/incoming", params, headers=retry)
            assert status == 200 and "Question 1?" in says(first)
            # Twilio retrying the same request: the same TwiML, nothing redone.
            status, again = await line.post("/voice/incoming", params, headers=retry)
            assert (status, again) == (200, first)
            # The same signed request without (or with another) retry token: a replay.
            status, _ = await line.post("/voice/incoming", params)
            assert status == 403
            other = {"I-Twilio-Idempotency-Token": "idem-2"}
            status, _ = await line.post("/voice/incoming", params, headers=other)
            assert status == 403
            assert line.rasa.messages() == ["/start"]

    run(scenario())


def test_turn_tokens_are_single_use(phone: PhoneFactory) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            body, params = await line.incoming()
            action, _, _ = connect_of(body)
            # An unknown token, properly signed.
            for path in ("/voice/turn?t=unknown", "/voice/recorded?t=unknown", "/voice/turn"):
                status, text = await line.post(path, params)
                assert status == 403 and "Unknown or used turn" in text, path
            # A turn answered by keypad, then its action requested again.
            status, _ = await press_on_stream(line, body, params, "1")
            assert status == 200
            status, _ = await line.post(action, params)  # the identical request: a replay
            assert status == 403
            status, text = await line.post(action, {**params, "Extra": "1"})  # re-signed
            assert status == 403 and "Unknown or used turn" in text
            assert line.rasa.messages() == ["/start", "yes"]

    run(scenario())


def test_a_finished_call_is_forgotten(phone: PhoneFactory) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            body, params = await line.incoming()
            action, _, _ = connect_of(body)
            done = {**params, "CallStatus": "completed"}
            status, _ = await line.post("/voice/status", done)
            assert status == 204
            assert line.gateway.calls == {}
            status, _ = await line.post("/voice/status", done)  # replayed
            assert status == 403
            status, text = await line.post(action, params)  # the call is over
            assert status == 403 and "Unknown or used turn" in text

    run(scenario())


def test_an_oversized_form_is_refused(phone: PhoneFactory) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            params = {**line.standin.call_params("CA" + "f" * 32, CALLER), "X": "y" * 40_000}
            status, _ = await line.post("/voice/incoming", params)
            assert status == 413
        assert line.rasa.requests == []

    run(scenario())


# --------------------------------------------------------------------------- websocket
@pytest.mark.parametrize("which", ["unknown-token", "other-call", "no-token", "second-stream"])
def test_a_stream_for_no_live_turn_is_closed_with_1008(phone: PhoneFactory, which: str) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            body, params = await line.incoming()
            _, stream, token = connect_of(body)
            sid = params["CallSid"]
            start = {
                "unknown-token": start_message("not-a-turn", sid),
                "other-call": start_message(token, "CA" + "9" * 32),
                "no-token": {"event": "start", "start": {"callSid": sid}},
                "second-stream": start_message(token, sid),
            }[which]
            first = None
            if which == "second-stream":  # the turn's stream is already open
                first = await line.http.ws_connect(stream)
                await first.send_str(json.dumps(start_message(token, sid)))
                await _until_streaming(line, sid, token)
            async with line.http.ws_connect(stream) as ws:
                await ws.send_str(json.dumps(start))
                await ws.send_str(json.dumps({"event": "dtmf", "dtmf": {"digit": "1"}}))
                msg = await ws.receive(timeout=10)
                assert msg.type == aiohttp.WSMsgType.CLOSE
                assert ws.close_code == 1008
            if first is not None:
                await first.close()
            assert line.rasa.messages() == ["/start"]

    run(scenario())


async def _until_streaming(line: Line, sid: str, token: str) -> None:
    for _ in range(200):
        call = line.gateway.calls.get(sid)
        if call is not None and token in call.streaming:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the first stream never started")


def test_a_websocket_upgrade_with_a_wrong_signature_is_refused(phone: PhoneFactory) -> None:
    async def scenario() -> None:
        async with phone(transcribe=never_transcribe) as line:
            body, _ = await line.incoming()
            _, stream, _ = connect_of(body)
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await line.http.ws_connect(stream, headers={"X-Twilio-Signature": "forged"})
            assert refused.value.status == 403
            # Signed the way Twilio signs the upgrade (the URL, no parameters): accepted.
            good = line.sign(line.url + "/voice/stream", {})
            ws = await line.http.ws_connect(stream, headers={"X-Twilio-Signature": good})
            await ws.close()
            assert line.rasa.messages() == ["/start"]
            assert verbs(body)[-1] == "Connect"

    run(scenario())
