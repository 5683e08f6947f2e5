"""Telephone audio and turn-taking, without a call: the µ-law table against G.711, the WAV the
transcriber reads, the endpointer on synthetic 20 ms frames (speech start, end, no input, cap,
segment cuts, tail, noise floor) and the answer listener with a stand-in transcription.

Everything counts audio frames, not the clock, so these run at full speed and are exact."""

from __future__ import annotations

import asyncio
import io
import threading
from dataclasses import replace

import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from bot.voice.endpoint import (
    FRAME_BYTES,
    FRAME_MS,
    MULAW_SILENCE,
    MULAW_TO_PCM,
    EndpointConfig,
    Endpointer,
    Event,
    frame_dbfs,
    mulaw_to_pcm16,
    mulaw_wav,
)
from bot.voice.listener import AnswerListener, Heard, Hints
from nlu.speech.transcribe import Transcript
from tests.voice.conftest import mulaw_encode

RATE = 8000
SILENT_FRAME = bytes([MULAW_SILENCE]) * FRAME_BYTES


# --------------------------------------------------------------------------- test-side audio
def frames_of(data: bytes) -> list[bytes]:
    return [data[i : i + FRAME_BYTES] for i in range(0, len(data), FRAME_BYTES)]


def tone(ms: int, *, freq: float = 440.0, amplitude: float = 0.3, start: int = 0) -> list[bytes]:
    n = ms * RATE // 1000
    t = (np.arange(n) + start) / RATE
    return frames_of(mulaw_encode(amplitude * 32767 * np.sin(2 * np.pi * freq * t)))


def silence(ms: int) -> list[bytes]:
    return [SILENT_FRAME] * (ms // FRAME_MS)


def noise(ms: int, dbfs: float, rng: np.random.Generator) -> list[bytes]:
    n = ms * RATE // 1000
    rms = 32768 * 10 ** (dbfs / 20)
    return frames_of(mulaw_encode(rng.normal(0.0, rms, n)))


def feed(endpointer: Endpointer, frames: list[bytes]) -> list[tuple[int, Event]]:
    """Push frames; the (index, event) pairs that were not NONE."""
    events = []
    for i, frame in enumerate(frames):
        event = endpointer.push(frame)
        if event != Event.NONE:
            events.append((i, event))
    return events


# Explicit segmentation values, so the tests hold whatever the tuned defaults are.
CFG = EndpointConfig(
    end_silence_ms=600,
    no_input_ms=2000,
    max_answer_ms=60_000,
    segment_pause_ms=300,
    min_segment_ms=2500,
    max_segment_ms=12_000,
    final_pause_ms=10_000,  # off (longer than end_silence_ms); tested on its own below
)


# --------------------------------------------------------------------------- µ-law
def test_mulaw_table_matches_g711() -> None:
    assert MULAW_TO_PCM[0xFF] == 0 and MULAW_TO_PCM[0x7F] == 0  # positive and negative zero
    assert MULAW_TO_PCM[0x00] == -32124 and MULAW_TO_PCM[0x80] == 32124  # full scale
    assert MULAW_TO_PCM[0xFE] == 8 and MULAW_TO_PCM[0x7E] == -8  # the smallest steps
    # Every code decodes to a value the standard's encoder maps back to the same code
    # (except negative zero, which encodes as positive zero).
    codes = np.arange(256, dtype=np.uint8).tobytes()
    again = mulaw_encode(mulaw_to_pcm16(codes))
    assert [i for i in range(256) if again[i] != i] == [0x7F]
    assert again[0x7F] == 0xFF
    # Monotonic within each half: louder codes decode to larger magnitudes.
    positive = MULAW_TO_PCM[0x80:].astype(int)
    assert bool(np.all(np.diff(positive) < 0))


def test_encode_decode_round_trip_is_close() -> None:
    pcm = np.linspace(-32000, 32000, 5001)
    decoded = mulaw_to_pcm16(mulaw_encode(pcm)).astype(float)
    # µ-law keeps ~14 bits of dynamic range with a relative step of at most ~1/16.
    assert np.all(np.abs(decoded - pcm) <= np.maximum(np.abs(pcm) / 16, 8))


def test_frame_loudness() -> None:
    assert frame_dbfs(b"") == -100.0
    assert frame_dbfs(SILENT_FRAME) == -100.0
    loud = frame_dbfs(tone(20, amplitude=0.5)[0])
    assert -10.0 < loud < -5.0  # a sine at half scale is about -9 dBFS
    assert frame_dbfs(tone(20, amplitude=0.005)[0]) < loud - 30


@pytest.mark.parametrize("n_bytes", [12_000, 12_001])
def test_mulaw_wav_decodes_to_the_right_audio(n_bytes: int) -> None:
    data = b"".join(tone(2000, freq=1000.0))[:n_bytes]
    samples = decode_audio(io.BytesIO(mulaw_wav(data)), sampling_rate=16_000)
    assert abs(len(samples) - n_bytes * 2) <= 32  # 8 kHz bytes → 16 kHz samples
    spectrum = np.abs(np.fft.rfft(samples))
    peak_hz = np.argmax(spectrum) * 16_000 / len(samples)
    assert abs(peak_hz - 1000.0) < 10
    assert 0.25 < float(np.max(np.abs(samples))) < 0.35  # amplitude 0.3 survives


def test_mulaw_wav_header() -> None:
    wav = mulaw_wav(b"\xff" * 801)
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    assert int.from_bytes(wav[4:8], "little") == len(wav) - 8
    assert int.from_bytes(wav[20:22], "little") == 7  # WAVE_FORMAT_MULAW
    assert len(wav) % 2 == 0  # chunks are padded to even lengths


# --------------------------------------------------------------------------- endpointer
def test_silence_is_no_input_after_no_input_ms() -> None:
    ep = Endpointer(CFG)
    assert feed(ep, silence(3000)) == [(2000 // FRAME_MS - 1, Event.NO_INPUT)]
    assert ep.finished == Event.NO_INPUT and not ep.started
    assert ep.push(tone(20)[0]) == Event.NONE  # finished: nothing more happens
    assert ep.speech_ms() == 0


def test_speech_starts_after_three_loud_frames_and_ends_after_the_silence() -> None:
    ep = Endpointer(CFG)
    frames = silence(200) + tone(1000) + silence(400) + tone(500) + silence(1000)
    events = feed(ep, frames)
    start = 200 // FRAME_MS + CFG.start_frames - 1
    last_loud = (200 + 1000 + 400 + 500) // FRAME_MS - 1
    # The 400 ms pause is shorter than end_silence_ms: one answer, ended 600 ms after speech.
    # (A segment may be cut early in the final silence; that is covered below.)
    assert [(i, e) for i, e in events if e != Event.SEGMENT] == [
        (start, Event.SPEECH_STARTED),
        (last_loud + CFG.end_silence_ms // FRAME_MS, Event.ENDED),
    ]
    assert ep.finished == Event.ENDED


def test_two_loud_frames_are_not_speech() -> None:
    ep = Endpointer(CFG)
    frames = (silence(200) + tone(40)) * 5 + silence(1000)
    assert feed(ep, frames)[0][1] == Event.NO_INPUT
    assert not ep.started


def test_an_answer_is_capped_at_max_answer_ms() -> None:
    ep = Endpointer(replace(CFG, max_answer_ms=3000))
    events = feed(ep, tone(5000))
    assert events == [(2, Event.SPEECH_STARTED), (3000 // FRAME_MS - 1, Event.TOO_LONG)]


def test_segments_are_cut_at_pauses_once_long_enough() -> None:
    ep = Endpointer(CFG)
    frames = tone(2600) + silence(400) + tone(1000, freq=600) + silence(1000)
    events = feed(ep, frames)
    pause_hit = (2600 + CFG.segment_pause_ms) // FRAME_MS - 1
    assert [e for _, e in events] == [Event.SPEECH_STARTED, Event.SEGMENT, Event.ENDED]
    assert events[1][0] == pause_hit
    (segment,) = ep.take_segments()
    assert ep.take_segments() == []  # taken once
    # Cut in the middle of the pause: all of the first phrase, none of the second.
    assert 2600 <= len(segment) * 1000 // RATE <= 2900
    assert segment[: 2600 * 8] == b"".join(tone(2600))
    assert set(segment[2600 * 8 :]) == {MULAW_SILENCE}
    # The tail continues exactly where the segment ended and holds the second phrase.
    tail = ep.tail()
    assert ep.audio.startswith(segment + tail)
    assert b"".join(tone(1000, freq=600)) in tail


@pytest.mark.parametrize(
    ("first_ms", "pause_ms"),
    [(2600, 200), (1000, 400)],
    ids=["short-pause", "short-segment"],
)
def test_no_cut_at_short_pauses_or_in_short_segments(first_ms: int, pause_ms: int) -> None:
    ep = Endpointer(CFG)
    second = tone(1000, freq=600)
    events = feed(ep, tone(first_ms) + silence(pause_ms) + second + silence(1000))
    final_silence = (first_ms + pause_ms + 1000) // FRAME_MS
    # The only cut, if any, falls in the final silence: both phrases stay in one piece.
    assert all(i >= final_silence for i, e in events if e == Event.SEGMENT)
    pieces = [*ep.take_segments(), ep.tail()]
    assert any(b"".join(second) in p and b"".join(tone(first_ms)) in p for p in pieces)


def test_an_answer_ending_cuts_its_last_segment_early() -> None:
    """Once the segment is long enough, the end pause cuts it after `segment_pause_ms`, so
    its transcription starts before the answer is declared over; the tail is then short."""
    ep = Endpointer(CFG)
    events = feed(ep, tone(3000) + silence(1000))
    assert [e for _, e in events] == [Event.SPEECH_STARTED, Event.SEGMENT, Event.ENDED]
    assert events[1][0] < events[2][0]
    (segment,) = ep.take_segments()
    assert segment.startswith(b"".join(tone(3000)))
    assert len(ep.tail()) <= 200 * 8 and set(ep.tail()) <= {MULAW_SILENCE}


def test_a_pause_that_may_end_the_answer_is_signalled_without_cutting() -> None:
    """At `final_pause_ms` into a pause the endpointer says PAUSED (the listener then
    transcribes the rest speculatively) but cuts nothing: if the candidate goes on, the
    words after the pause stay in the same segment, with their context."""
    ep = Endpointer(replace(CFG, final_pause_ms=400))
    first, second = tone(1000), tone(500, freq=600)
    events = feed(ep, first + silence(400) + second + silence(1000))
    paused = [i for i, e in events if e == Event.PAUSED]
    assert paused == [(1000 + 400) // FRAME_MS - 1, (1000 + 400 + 500 + 400) // FRAME_MS - 1]
    assert Event.SEGMENT not in [e for _, e in events]
    assert events[-1][1] == Event.ENDED
    tail = ep.tail()
    assert tail.startswith(b"".join(first)) and b"".join(second) in tail


def test_the_mark_moves_when_speech_resumes_after_a_pause() -> None:
    ep = Endpointer(replace(CFG, final_pause_ms=400))
    feed(ep, tone(1000) + silence(400))
    at_pause = ep.mark()
    feed(ep, tone(300))
    assert ep.mark() != at_pause
    feed(ep, silence(400))
    settled = ep.mark()
    feed(ep, silence(100))
    assert ep.mark() == settled


def test_a_long_stretch_without_pauses_is_cut_at_its_quietest_frame() -> None:
    ep = Endpointer(replace(CFG, max_segment_ms=3000))
    frames = tone(5000)
    quiet = 120  # still speech (well above the threshold), but the quietest frame
    frames[quiet] = tone(20, amplitude=0.05, start=quiet * FRAME_BYTES)[0]
    events = feed(ep, frames)
    assert (3000 // FRAME_MS - 1, Event.SEGMENT) in events
    (segment,) = ep.take_segments()
    assert len(segment) == (quiet + 1) * FRAME_BYTES  # cut right after the quiet frame


def test_end_now() -> None:
    speaking = Endpointer(CFG)
    feed(speaking, tone(500))
    assert speaking.end_now() == Event.ENDED
    assert speaking.end_now() == Event.NONE  # once
    assert speaking.push(tone(20)[0]) == Event.NONE

    quiet = Endpointer(CFG)
    feed(quiet, silence(500))
    assert quiet.end_now() == Event.NO_INPUT


def test_tail_keeps_300ms_before_and_at_most_200ms_after_speech() -> None:
    ep = Endpointer(CFG)
    speech = tone(1000)
    feed(ep, silence(500) + speech + silence(1000))
    assert ep.finished == Event.ENDED
    tail = ep.tail()
    before = 300 * 8  # the pre-roll kept before speech started
    assert tail[:before] == SILENT_FRAME * (before // FRAME_BYTES)
    assert tail[before : before + len(b"".join(speech))] == b"".join(speech)
    after = tail[before + len(b"".join(speech)) :]
    assert len(after) == 200 * 8 and set(after) == {MULAW_SILENCE}
    assert ep.speech_ms() == 300 + 1000


def test_steady_background_noise_raises_the_floor_and_is_not_speech() -> None:
    rng = np.random.default_rng(5)
    ep = Endpointer(replace(CFG, no_input_ms=60_000))
    # A hum that builds up slowly (a fan, a busy room) to well above the fixed threshold.
    background = [f for level in range(-56, -29, 3) for f in noise(1000, level, rng)]
    assert feed(ep, background) == []
    assert not ep.started
    assert ep.threshold_db > -35  # the floor followed the noise up
    # A voice clearly above the background still starts an answer.
    events = feed(ep, tone(300, amplitude=0.3))
    assert [e for _, e in events] == [Event.SPEECH_STARTED]


def test_the_same_noise_appearing_at_once_is_taken_for_speech() -> None:
    """The counterpart of the test above: what keeps the hum out is the adaptive floor."""
    ep = Endpointer(replace(CFG, no_input_ms=60_000))
    events = feed(ep, noise(500, -30, np.random.default_rng(5)))
    assert [e for _, e in events] == [Event.SPEECH_STARTED]


# --------------------------------------------------------------------------- listener
class FakeTranscribe:
    """Records each WAV it is given (from the listener's worker thread)."""

    def __init__(self) -> None:
        self.wavs: list[bytes] = []
        self.lock = threading.Lock()

    def __call__(self, wav: bytes, hints: Hints) -> Transcript:
        with self.lock:
            self.wavs.append(wav)
            n = len(self.wavs)
        seconds = len(decode_audio(io.BytesIO(wav), sampling_rate=16_000)) / 16_000
        return Transcript(f"part{n}", "en", seconds, 0.5 * n, -0.5, 0.1, 0.0)


async def listen(listener: AnswerListener, frames: list[bytes]) -> Heard | None:
    for frame in frames:
        heard = await listener.feed(frame)
        if heard is not None:
            return heard
    return None


def test_listener_transcribes_segments_and_the_tail() -> None:
    fake = FakeTranscribe()
    listener = AnswerListener(fake, config=CFG)
    frames = tone(2600) + silence(400) + tone(1000) + silence(1000)
    heard = asyncio.run(listen(listener, frames))
    assert heard is not None and heard.kind == "speech"
    assert heard.text == "part1 part2"  # segment first, then the tail, in order
    assert len(fake.wavs) == 2
    # Duration-weighted confidence: the longer first segment counts more.
    assert 0.5 < heard.confidence < 0.75
    assert heard.audio and len(heard.audio) % FRAME_BYTES == 0
    assert heard.audio.startswith(b"".join(tone(2600))[:8000])


def test_listener_keypad() -> None:
    async def scenario() -> None:
        menu = AnswerListener(FakeTranscribe(), options=frozenset({"1", "2"}), config=CFG)
        heard = await menu.digit("2")
        assert heard is not None and (heard.kind, heard.text) == ("digits", "2")

        free = AnswerListener(FakeTranscribe(), config=CFG)
        assert await free.digit("4") is None
        assert await free.digit("2") is None
        heard = await free.digit("#")
        assert heard is not None and (heard.kind, heard.text) == ("digits", "42")

        star = AnswerListener(FakeTranscribe(), config=CFG)
        heard = await star.digit("*")
        assert heard is not None and heard.kind == "repeat"

        nothing = AnswerListener(FakeTranscribe(), config=CFG)
        heard = await nothing.digit("#")
        assert heard is not None and heard.kind == "no_input"

        # Digits without "#" count as finished after a 3-second pause.
        slow = AnswerListener(FakeTranscribe(), config=replace(CFG, no_input_ms=60_000))
        await slow.digit("7")
        heard = await listen(slow, silence(5000))
        assert heard is not None and (heard.kind, heard.text) == ("digits", "7")
        assert slow.endpointer.elapsed_ms == 3000

    asyncio.run(scenario())


def test_listener_hash_ends_a_spoken_answer_at_once() -> None:
    async def scenario() -> Heard | None:
        fake = FakeTranscribe()
        listener = AnswerListener(fake, config=CFG)
        assert await listen(listener, tone(800)) is None
        return await listener.digit("#")

    heard = asyncio.run(scenario())
    assert heard is not None and heard.kind == "speech" and heard.text == "part1"


class _CountingTranscriber:
    """Records what the listener asks to transcribe (this tests the listener's bookkeeping;
    the real model is exercised by the gateway and e2e tests)."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, wav: bytes, hints: Hints) -> Transcript:
        self.calls.append(len(wav))
        return Transcript(f"part{len(self.calls)}", "en", len(wav) / 8000, 0.9, -0.1, 0.0, 0.0)


async def _listen(listener: AnswerListener, frames: list[bytes]) -> Heard | None:
    for frame in frames:
        heard = await listener.feed(frame)
        if heard is not None:
            return heard
        await asyncio.sleep(0)
    return None


def test_a_speculative_tail_is_used_when_nothing_follows_the_pause() -> None:
    fake = _CountingTranscriber()
    listener = AnswerListener(fake, config=replace(CFG, final_pause_ms=400))
    heard = asyncio.run(_listen(listener, tone(1000) + silence(1000)))
    assert heard is not None and heard.kind == "speech"
    assert len(fake.calls) == 1  # the guess at the pause was the answer; nothing redone
    assert heard.text == "part1"


def test_a_speculative_tail_is_dropped_when_the_candidate_goes_on() -> None:
    fake = _CountingTranscriber()
    listener = AnswerListener(fake, config=replace(CFG, final_pause_ms=400))
    frames = tone(1000) + silence(450) + tone(800, freq=600) + silence(1000)
    heard = asyncio.run(_listen(listener, frames))
    assert heard is not None
    # The first guess (before the second phrase) is not the answer: the whole tail is.
    assert heard.text == f"part{len(fake.calls)}"
    assert max(fake.calls) > 1800 * 8  # the used transcription covers both phrases
