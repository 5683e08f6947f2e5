"""TwiML documents the phone gateway returns to Twilio (built with twilio's VoiceResponse)."""

from __future__ import annotations

from twilio.twiml.voice_response import Connect, Record, VoiceResponse


def _say_all(response: VoiceResponse, lines: list[str], voice: str, language: str) -> None:
    for line in lines:
        kwargs = {"language": language}
        if voice:
            kwargs["voice"] = voice
        response.say(line, **kwargs)


def listen(
    lines: list[str],
    *,
    action_url: str,
    stream_url: str,
    token: str,
    voice: str = "",
    language: str = "en-US",
) -> str:
    """Say `lines`, then stream the caller's answer to us (Media Streams). When we close the
    stream, Twilio requests `action_url`, which answers with the next turn."""
    response = VoiceResponse()
    _say_all(response, lines, voice, language)
    connect = Connect(action=action_url, method="POST")
    stream = connect.stream(url=stream_url)
    stream.parameter(name="turn", value=token)
    response.append(connect)
    return str(response)


def record(
    lines: list[str],
    *,
    action_url: str,
    voice: str = "",
    language: str = "en-US",
    max_length_s: int = 180,
    timeout_s: int = 2,
) -> str:
    """Say `lines`, then record the answer (the `<Record>` capture mode). Any key ends the
    recording and is passed on as `Digits`: a keypad answer or `*` to repeat."""
    response = VoiceResponse()
    _say_all(response, lines, voice, language)
    response.append(
        Record(
            action=action_url,
            method="POST",
            max_length=max_length_s,
            timeout=timeout_s,
            finish_on_key="0123456789*#",
            play_beep=False,
            trim="trim-silence",
        )
    )
    # Twilio skips the action when nothing was recorded and goes on with the next verb:
    # this brings a silent caller back to us (no RecordingUrl: "didn't hear anything").
    response.redirect(action_url, method="POST")
    return str(response)


def goodbye(lines: list[str], *, voice: str = "", language: str = "en-US") -> str:
    response = VoiceResponse()
    _say_all(response, lines, voice, language)
    response.hangup()
    return str(response)
