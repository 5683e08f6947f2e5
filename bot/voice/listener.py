"""Listen to one answer on a call: endpointing, keypad digits and transcription.

Finished segments are transcribed on a background thread while the candidate still speaks,
so when the answer ends only its tail is left (README, "Phone": why Media Streams). The
transcription itself is `nlu.speech` — the same plain function every channel uses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.voice.endpoint import FRAME_MS, EndpointConfig, Endpointer, Event, mulaw_wav
from nlu.speech.transcribe import Transcript

# One transcription at a time per process: CTranslate2 already uses every core for one.
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transcribe")
DIGIT_PAUSE_MS = 3000  # keypad entry without "#" counts as finished after this


@dataclass(frozen=True)
class Hints:
    """What the recogniser is told about the expected answer (the question, its terms)."""

    language: str | None = None
    prompt: str | None = None
    hotwords: str | None = None


Transcribe = Callable[[bytes, Hints], Transcript]


@dataclass
class Heard:
    """The outcome of listening for one answer."""

    kind: str  # speech | digits | repeat | no_input | too_long
    text: str = ""
    confidence: float | None = None
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    language: str | None = None
    duration_s: float = 0.0
    audio: bytes = b""  # µ-law 8 kHz of the spoken answer (nothing for keypad input)
    audio_ref: str | None = None  # already stored (the <Record> mode keeps Twilio's WAV)
    tail_s: float = 0.0  # seconds spent after the answer ended (tail + waiting)


@dataclass
class AnswerListener:
    transcribe: Transcribe
    hints: Hints = field(default_factory=Hints)
    options: frozenset[str] = frozenset()  # single digits that complete a menu choice
    config: EndpointConfig = field(default_factory=EndpointConfig)
    endpointer: Endpointer = field(init=False)
    _pending: list[Future[Transcript]] = field(default_factory=list)
    _guess: tuple[tuple[int, int], Future[Transcript]] | None = None  # speculative tail
    _digits: str = ""
    _digit_frame: int = 0

    def __post_init__(self) -> None:
        self.endpointer = Endpointer(self.config)

    def _submit(self, audio: bytes) -> Future[Transcript]:
        return _EXECUTOR.submit(self.transcribe, mulaw_wav(audio), self.hints)

    async def feed(self, frame: bytes) -> Heard | None:
        """One 20 ms frame; returns what was heard once the answer is over."""
        if self._digits and (self.endpointer.frames - self._digit_frame) * FRAME_MS >= (
            DIGIT_PAUSE_MS
        ):
            return self._keypad()
        event = self.endpointer.push(frame)
        if event == Event.SEGMENT:
            self._pending.extend(self._submit(s) for s in self.endpointer.take_segments())
        elif event == Event.PAUSED:
            # The answer may be over: transcribe the rest now, while the silence runs.
            if self._guess is not None:
                self._guess[1].cancel()
            self._guess = (self.endpointer.mark(), self._submit(self.endpointer.tail()))
        elif event in (Event.ENDED, Event.TOO_LONG):
            return await self._finish(event)
        elif event == Event.NO_INPUT:
            return self._keypad() if self._digits else Heard(kind="no_input")
        return None

    async def digit(self, key: str) -> Heard | None:
        """A keypad key: `*` repeats, `#` ends the answer, digits answer by keypad."""
        if key == "*":
            self.cancel()
            return Heard(kind="repeat")
        if key == "#":
            if self._digits:
                return self._keypad()
            event = self.endpointer.end_now()
            if event == Event.ENDED:
                return await self._finish(event)
            return Heard(kind="no_input")
        if key.isdigit() and len(self._digits) < 12:
            self._digits += key
            self._digit_frame = self.endpointer.frames
            if not self.endpointer.started and self._digits in self.options:
                return self._keypad()
        return None

    def _keypad(self) -> Heard:
        self.cancel()
        return Heard(kind="digits", text=self._digits)

    def cancel(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        if self._guess is not None:
            self._guess[1].cancel()
            self._guess = None
        self.endpointer.finished = self.endpointer.finished or Event.NO_INPUT

    async def _finish(self, event: Event) -> Heard:
        started = time.perf_counter()
        ep = self.endpointer
        tail = ep.tail()
        guess = self._guess
        if guess is not None and guess[0] == ep.mark() and not guess[1].cancelled():
            futures = [*self._pending, guess[1]]  # nothing was said after the guess: use it
        else:
            if guess is not None:
                guess[1].cancel()
            futures = [*self._pending, *([self._submit(tail)] if tail else [])]
        self._guess = None
        self._pending = []
        parts = [await asyncio.wrap_future(f) for f in futures]
        return combine(
            parts,
            kind="too_long" if event == Event.TOO_LONG else "speech",
            audio=bytes(ep.audio[: (ep.speech_ms() // FRAME_MS + 10) * 160]),
            tail_s=time.perf_counter() - started,
        )


def combine(parts: list[Transcript], *, kind: str, audio: bytes, tail_s: float) -> Heard:
    """Segment transcripts → one answer; the confidence is duration-weighted."""
    spoken = [p for p in parts if p.text.strip()]
    text = " ".join(p.text.strip() for p in spoken)
    duration = sum(p.duration_s for p in parts)
    heard = Heard(kind=kind, text=text, duration_s=duration, audio=audio, tail_s=tail_s)
    if not spoken:
        heard.confidence = 0.0
        return heard
    weights = [max(p.duration_s, 0.01) for p in spoken]
    total = sum(weights)
    heard.confidence = sum(p.confidence * w for p, w in zip(spoken, weights, strict=True)) / total
    logprobs = [(p.avg_logprob, w) for p, w in zip(spoken, weights, strict=True) if p.avg_logprob]
    if logprobs:
        heard.avg_logprob = sum(v * w for v, w in logprobs) / sum(w for _, w in logprobs)
    no_speech = [(p.no_speech_prob, w) for p, w in zip(spoken, weights, strict=True)]
    if all(v is not None for v, _ in no_speech):
        heard.no_speech_prob = sum(v * w for v, w in no_speech if v is not None) / total
    heard.language = spoken[0].language
    return heard
