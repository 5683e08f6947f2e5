"""Speech to text with faster-whisper (CTranslate2, int8 on CPU), for every channel.

A plain function of audio in, transcript out, so the phone gateway and the Telegram voice
notes use the same code. The transcript carries a confidence (average log-probability and
no-speech probability) that the scorer's insufficient-data guard takes as it is: a garbled or
silent answer becomes "insufficient data", never a low score. Only words are produced — no
emotion, accent or voice traits are inferred, ever.
"""

from __future__ import annotations

import io
import logging
import math
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

THREADS_ENV = "PARLEY_WHISPER_THREADS"
MAX_SECONDS = 20 * 60  # a screening answer is minutes long; 20 minutes is surely a mistake
SAMPLE_RATE = 16_000


class TranscriptionError(ValueError):
    """The audio could not be transcribed (unreadable, empty file, too long); the message is
    meant for a person."""


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    duration_s: float
    # exp(average log-probability per token), 0 when nothing was said: what the scorer's
    # guard compares with its threshold.
    confidence: float
    avg_logprob: float | None
    no_speech_prob: float | None
    seconds: float  # time spent transcribing

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["duration_s"] = round(self.duration_s, 3)
        data["seconds"] = round(self.seconds, 3)
        data["confidence"] = round(self.confidence, 4)
        return data


def default_threads() -> int:
    value = os.environ.get(THREADS_ENV, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, min(4, os.cpu_count() or 1))


class Transcriber:
    """One loaded model, shared by a process's threads (CTranslate2 serialises inside)."""

    def __init__(self, model_path: Path, *, threads: int | None = None, beam_size: int = 5) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local directory; never a hub
        from faster_whisper import WhisperModel

        self.model_path = model_path
        self.beam_size = beam_size
        threads = threads or default_threads()
        self._model = WhisperModel(
            str(model_path), device="cpu", compute_type="int8", cpu_threads=threads
        )

    def transcribe(
        self,
        audio: Path | bytes,
        *,
        language: str | None = None,
        prompt: str | None = None,
        hotwords: str | None = None,
    ) -> Transcript:
        """Transcribe a file or the bytes of one (WAV, µ-law WAV, OGG/Opus, MP3, …).

        `language` locks the language (detected otherwise); `prompt` and `hotwords` (the
        question and its key points) steer the vocabulary towards the expected answer.
        """
        from faster_whisper.audio import decode_audio

        started = time.perf_counter()
        samples = _decode(decode_audio, audio)
        duration = len(samples) / SAMPLE_RATE
        if duration > MAX_SECONDS:
            raise TranscriptionError(
                f"The recording is {duration / 60:.0f} minutes long; answers of up to "
                f"{MAX_SECONDS // 60} minutes can be transcribed."
            )
        if duration < 0.1:
            return Transcript("", language or "", duration, 0.0, None, None, 0.0)
        segments, info = self._model.transcribe(
            samples,
            language=language or None,
            beam_size=self.beam_size,
            vad_filter=True,
            initial_prompt=prompt or None,
            hotwords=hotwords or None,
            condition_on_previous_text=False,
        )
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        spoken = [s for s in segments if s.text.strip()]
        weights = [max(s.end - s.start, 0.01) for s in spoken]
        avg_logprob = no_speech = None
        confidence = 0.0
        if spoken:
            total = sum(weights)
            pairs = list(zip(spoken, weights, strict=True))
            avg_logprob = sum(s.avg_logprob * w for s, w in pairs) / total
            no_speech = sum(s.no_speech_prob * w for s, w in pairs) / total
            confidence = max(0.0, min(1.0, math.exp(avg_logprob))) * (1.0 - no_speech)
        return Transcript(
            text=text,
            language=info.language or (language or ""),
            duration_s=duration,
            confidence=confidence,
            avg_logprob=avg_logprob,
            no_speech_prob=no_speech,
            seconds=time.perf_counter() - started,
        )


def _decode(decode_audio: Any, audio: Path | bytes) -> Any:
    if isinstance(audio, Path | str):
        path = Path(audio)
        if not path.is_file():
            raise TranscriptionError(f"No audio file at {path}.")
        if path.stat().st_size == 0:
            raise TranscriptionError("The audio file is empty.")
        source: Any = str(path)
    else:
        if not audio:
            raise TranscriptionError("The audio is empty.")
        source = io.BytesIO(audio)
    try:
        return decode_audio(source, sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV raises many kinds; all mean "not audio we can read"
        log.info("audio could not be decoded: %s", type(exc).__name__)
        raise TranscriptionError(
            "This doesn't look like audio I can read (WAV, OGG/Opus, MP3 and µ-law WAV work)."
        ) from None


_lock = threading.Lock()
_cached: dict[Path, Transcriber] = {}


def get_transcriber(model_path: Path) -> Transcriber:
    """One Transcriber per model directory per process (loading takes about half a second
    and 150 MB; every request shares it)."""
    with _lock:
        found = _cached.get(model_path)
        if found is None:
            found = _cached[model_path] = Transcriber(model_path)
        return found
