"""Where a spoken answer starts, pauses and ends, from 8 kHz µ-law telephone audio.

Why our own endpointer: Twilio Media Streams deliver raw audio and leave turn-taking to us.
Everything here counts *audio time* (20 ms frames), never the wall clock, so the decisions are
the same whether a call streams in real time or a test feeds a file at full speed.

Decisions:
* Energy with an adaptive noise floor, not a neural VAD: it runs per 20 ms frame in
  microseconds, and Whisper's own VAD (Silero, inside faster-whisper) still filters each
  segment before transcription, so noise that passes here is not transcribed as words.
* An answer ends after `end_silence_ms` of silence following speech (1.5 s by default:
  candidates pause to think; the `#` key ends an answer at once). Nothing said for
  `no_input_ms` is "no input"; `max_answer_ms` caps a monologue, music or an open line.
* While the candidate speaks, a long answer is cut into segments of at least
  `min_segment_ms` at pauses, transcribed in the background. Segments are long on purpose:
  Whisper needs context (measured on 15-second phone answers: cutting at every 1.5 s
  doubled the word error rate).
* A pause of `final_pause_ms` (700 ms) may be the end of the answer: the listener then
  transcribes the rest *speculatively* while the end-of-answer silence still runs. If the
  candidate goes on speaking the guess is dropped; if not, it is the answer's last part and
  at the end only the Rasa turn is left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000  # µ-law: one byte per sample
MULAW_SILENCE = 0xFF


def _mulaw_table() -> np.ndarray:
    """G.711 µ-law byte → 16-bit linear sample."""
    table = np.zeros(256, dtype=np.int16)
    for i in range(256):
        u = ~i & 0xFF
        exponent = (u >> 4) & 0x07
        sample = (((u & 0x0F) << 3) + 0x84) << exponent
        sample -= 0x84
        table[i] = -sample if u & 0x80 else sample
    return table


MULAW_TO_PCM = _mulaw_table()


def mulaw_to_pcm16(data: bytes) -> np.ndarray:
    return MULAW_TO_PCM[np.frombuffer(data, dtype=np.uint8)]


def frame_dbfs(frame: bytes) -> float:
    """Loudness of one frame in dB relative to full scale (-100 for digital silence)."""
    if not frame:
        return -100.0
    pcm = mulaw_to_pcm16(frame).astype(np.float32)
    rms = float(np.sqrt(np.mean(pcm * pcm)))
    return 20 * math.log10(rms / 32768.0) if rms > 0 else -100.0


def mulaw_wav(data: bytes, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Raw µ-law bytes as a WAV file (format 7), the form the transcriber and the file store
    take: no re-encoding, so what is kept is exactly what was heard."""
    import struct

    fmt = struct.pack("<HHIIHHH", 7, 1, sample_rate, sample_rate, 1, 8, 0)
    body = (
        b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"fact" + struct.pack("<II", 4, len(data))
        + b"data" + struct.pack("<I", len(data)) + data
        + (b"\x00" if len(data) % 2 else b"")
    )  # fmt: skip
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


class Event(Enum):
    NONE = "none"
    SPEECH_STARTED = "speech_started"
    SEGMENT = "segment"  # a finished segment is ready (see `take_segments`)
    PAUSED = "paused"  # `final_pause_ms` of silence: the answer may be over (see `tail`)
    ENDED = "ended"  # the answer is over (speech then silence)
    NO_INPUT = "no_input"  # nothing was said
    TOO_LONG = "too_long"  # the answer hit `max_answer_ms`


@dataclass(frozen=True)
class EndpointConfig:
    end_silence_ms: int = 1500
    no_input_ms: int = 8000
    max_answer_ms: int = 180_000
    segment_pause_ms: int = 300  # a pause this long may cut a segment…
    min_segment_ms: int = 8000  # …once the segment is at least this long
    max_segment_ms: int = 15_000  # a segment is cut at its quietest point beyond this
    final_pause_ms: int = 700  # the answer may be over: speculative transcription starts
    start_frames: int = 3  # consecutive loud frames before speech counts as started
    min_threshold_db: float = -48.0
    floor_margin_db: float = 12.0


@dataclass
class Endpointer:
    """Feed 20 ms µ-law frames with `push`; it says when segments and the answer end.

    The audio of the answer (from a little before speech started) accumulates in `audio`;
    segments are byte ranges of it.
    """

    config: EndpointConfig = field(default_factory=EndpointConfig)
    audio: bytearray = field(default_factory=bytearray)
    frames: int = 0
    started: bool = False
    finished: Event | None = None
    _noise_db: float = -70.0
    _loud_run: int = 0
    _silence_run: int = 0
    _segment_start: int = 0  # byte offset in `audio`
    _segments: list[tuple[int, int]] = field(default_factory=list)
    _levels: list[float] = field(default_factory=list)  # dB per frame of `audio`
    _last_speech_frame: int = -1

    @property
    def elapsed_ms(self) -> int:
        return self.frames * FRAME_MS

    @property
    def threshold_db(self) -> float:
        return max(self.config.min_threshold_db, self._noise_db + self.config.floor_margin_db)

    def push(self, frame: bytes) -> Event:
        if self.finished is not None:
            return Event.NONE
        self.frames += 1
        level = frame_dbfs(frame)
        loud = level > self.threshold_db
        if not loud:  # the floor follows quiet frames slowly and loud ones not at all
            self._noise_db = 0.95 * self._noise_db + 0.05 * max(level, -90.0)
        cfg = self.config
        if not self.started:
            self._loud_run = self._loud_run + 1 if loud else 0
            # Keep 300 ms before speech starts so the first syllable is not clipped.
            self.audio += frame
            self._levels.append(level)
            keep = 15
            if len(self._levels) > keep and self._loud_run == 0:
                del self.audio[: len(frame)]
                del self._levels[0]
            if self._loud_run >= cfg.start_frames:
                self.started = True
                self._silence_run = 0
                self._last_speech_frame = len(self._levels) - 1
                return Event.SPEECH_STARTED
            if self.elapsed_ms >= cfg.no_input_ms:
                return self._finish(Event.NO_INPUT)
            return Event.NONE
        self.audio += frame
        self._levels.append(level)
        if loud:
            self._silence_run = 0
            self._last_speech_frame = len(self._levels) - 1
        else:
            self._silence_run += 1
        if self._silence_run * FRAME_MS >= cfg.end_silence_ms:
            return self._finish(Event.ENDED)
        if len(self._levels) * FRAME_MS >= cfg.max_answer_ms:
            return self._finish(Event.TOO_LONG)
        if self._maybe_cut():
            return Event.SEGMENT
        if (
            self._silence_run * FRAME_MS == cfg.final_pause_ms
            and self._last_speech_frame >= self._segment_start // FRAME_BYTES
        ):
            return Event.PAUSED
        return Event.NONE

    def end_now(self) -> Event:
        """The candidate pressed `#` (or the call ended): the answer ends here."""
        if self.finished is None:
            return self._finish(Event.ENDED if self.started else Event.NO_INPUT)
        return Event.NONE

    def _maybe_cut(self) -> bool:
        cfg = self.config
        seg_frames = len(self._levels) - self._segment_start // FRAME_BYTES
        pause_ms = self._silence_run * FRAME_MS
        speech_in_segment = self._last_speech_frame >= self._segment_start // FRAME_BYTES
        if (
            speech_in_segment
            and pause_ms >= cfg.segment_pause_ms
            and seg_frames * FRAME_MS >= cfg.min_segment_ms
        ):
            self._cut(len(self._levels) - self._silence_run // 2)
            return True
        if seg_frames * FRAME_MS >= cfg.max_segment_ms:
            # The quietest frame of the last second: the least likely place for a word.
            start = len(self._levels) - 1000 // FRAME_MS
            window = self._levels[start:]
            self._cut(start + int(np.argmin(window)) + 1)
            return True
        return False

    def _cut(self, frame_index: int) -> None:
        end = frame_index * FRAME_BYTES
        if end > self._segment_start:
            self._segments.append((self._segment_start, end))
            self._segment_start = end

    def take_segments(self) -> list[bytes]:
        """Finished segments not taken yet (µ-law bytes)."""
        out = [bytes(self.audio[a:b]) for a, b in self._segments]
        self._segments.clear()
        return out

    def tail(self) -> bytes:
        """What is left after the last cut, without the trailing silence (empty when all
        speech is already in segments)."""
        if self._last_speech_frame < self._segment_start // FRAME_BYTES:
            return b""
        end = (self._last_speech_frame + 1 + 10) * FRAME_BYTES  # keep 200 ms after speech
        return bytes(self.audio[self._segment_start : max(self._segment_start, end)])

    def mark(self) -> tuple[int, int]:
        """Where the answer stands (segment start, last speech frame): a speculative tail
        taken at this mark is still the whole tail if the mark has not moved."""
        return self._segment_start, self._last_speech_frame

    def speech_ms(self) -> int:
        """Length of the answer from the first kept frame to the last speech frame."""
        return (self._last_speech_frame + 1) * FRAME_MS if self.started else 0

    def _finish(self, event: Event) -> Event:
        self.finished = event
        return event
