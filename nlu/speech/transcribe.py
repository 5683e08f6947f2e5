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
import re
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

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


@dataclass(frozen=True)
class DecodeOptions:
    """How audio is prepared and decoded. The defaults are what `parley bench voice` was tuned
    to on the dev split of the spoken-answer set (README, "Speech recognition": the numbers
    for each step); change them only with a new measurement.
    """

    beam_size: int = 5
    # Greedy-then-sampling fallback only when the output repeats itself (compression ratio);
    # a low log-probability alone (common on phone audio) does not trigger sampling, which
    # made results non-deterministic and slower without making them better.
    temperatures: tuple[float, ...] = (0.0, 0.4)
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float | None = None
    # Peak level the samples are scaled to: Whisper's log-mel features are not level-invariant.
    peak: float = 0.5
    # Log-mel features are stretched in time (as if the answer were spoken 18 % slower, pitch
    # unchanged): on the dev split this took the WER from 8.6 % to 5.5 % at 16 kHz; 1.1 and
    # 1.3 were no better on phone audio. Costs nothing: the encoder window is trimmed anyway.
    wideband_stretch: float = 1.18
    narrowband_stretch: float = 1.18
    # Phone audio (nothing above 4 kHz) is also pre-emphasised, tilting its spectrum back
    # towards wideband speech (8 kHz µ-law dev WER 24 % → 20 % on the first half of dev).
    narrowband_pre_emphasis: float = 0.9
    # Encode only the audio's length (rounded up) instead of Whisper's fixed 30-second window:
    # the encoder's cost grows faster than linearly with its input, so a 10-second answer is
    # encoded about three times faster. 0 disables it. Some padding is kept after the audio
    # (`encoder_pad_frames`, 10 ms each): without it the decoder cannot tell where the audio
    # ends and may repeat the answer until the token limit.
    encoder_step_frames: int = 100
    encoder_pad_frames: int = 200
    # …but never less than this window: short answers ("about five years", "late shifts")
    # fall apart in a window of a few seconds (measured on 8 kHz phone answers of 1–3 s).
    encoder_min_frames: int = 1000
    # At most this many tokens per second of a 30-second window (plus a few): a stuck decoder
    # stops here instead of repeating itself to Whisper's 448-token limit. Fast speech is
    # about 4 tokens a second.
    max_tokens_per_second: float = 8.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Transcriber:
    """One loaded model, shared by a process's threads: calls are serialised (CTranslate2 uses
    every thread it was given for one call, and the per-call feature settings live on the
    shared model)."""

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int | None = None,
        beam_size: int | None = None,
        options: DecodeOptions | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local directory; never a hub

        options = options or DecodeOptions()
        if beam_size is not None:
            options = replace(options, beam_size=beam_size)
        self.options = options
        self.model_path = model_path
        self.beam_size = options.beam_size
        self.threads = threads or default_threads()
        self._model = _whisper_model(
            str(model_path),
            self.threads,
            options.encoder_step_frames,
            options.encoder_pad_frames,
            options.encoder_min_frames,
        )
        self._lock = threading.Lock()

    def transcribe(
        self,
        audio: Path | bytes | np.ndarray,
        *,
        language: str | None = None,
        prompt: str | None = None,
        hotwords: str | None = None,
    ) -> Transcript:
        """Transcribe a file or the bytes of one (WAV, µ-law WAV, OGG/Opus, MP3, …), or
        samples already decoded: a mono float array at 16 kHz in [-1, 1] (int16 PCM is scaled).

        Samples are accepted because the phone gateway decodes µ-law frames itself and cuts
        the answer into segments while the candidate speaks; wrapping each segment in a WAV
        only for it to be parsed again would cost time on the critical path.

        `language` locks the language (detected otherwise); `prompt` and `hotwords` (the
        question and its key points, see `nlu.speech.hints`) steer the vocabulary towards
        the expected answer.
        """
        from faster_whisper.audio import decode_audio

        started = time.perf_counter()
        samples = _samples(audio) if isinstance(audio, np.ndarray) else _decode(decode_audio, audio)
        duration = len(samples) / SAMPLE_RATE
        if duration > MAX_SECONDS:
            raise TranscriptionError(
                f"The recording is {duration / 60:.0f} minutes long; answers of up to "
                f"{MAX_SECONDS // 60} minutes can be transcribed."
            )
        if duration < 0.1:
            return Transcript("", language or "", duration, 0.0, None, None, 0.0)
        opts = self.options
        stretch = opts.wideband_stretch
        if is_narrowband(samples):
            samples = _pre_emphasis(samples, opts.narrowband_pre_emphasis)
            stretch = opts.narrowband_stretch
        samples = _scale(samples, opts.peak)
        segments, info = self._decode_locked(samples, stretch, duration, language, prompt, hotwords)
        text = " ".join(s.text.strip() for s in segments).strip()
        if prompt and echoes_prompt(text, prompt):
            # Unclear audio made Whisper "continue" the question instead of hearing the
            # answer (seen on short phone answers): decode again without steering.
            segments, info = self._decode_locked(samples, stretch, duration, language, None, None)
        return self._result(segments, info, duration, language, started)

    def _decode_locked(
        self,
        samples: np.ndarray,
        stretch: float,
        duration: float,
        language: str | None,
        prompt: str | None,
        hotwords: str | None,
    ) -> tuple[list[Any], Any]:
        opts = self.options
        with self._lock:
            self._model.feature_extractor.stretch = stretch
            segments, info = self._model.transcribe(
                samples,
                language=language or None,
                beam_size=opts.beam_size,
                temperature=list(opts.temperatures),
                compression_ratio_threshold=opts.compression_ratio_threshold,
                log_prob_threshold=opts.log_prob_threshold,
                without_timestamps=True,
                vad_filter=True,
                initial_prompt=prompt or None,
                hotwords=hotwords or None,
                condition_on_previous_text=False,
                max_new_tokens=min(200, 16 + round(opts.max_tokens_per_second * min(duration, 30))),
            )
            return list(segments), info  # decoding happens here, inside the lock

    @staticmethod
    def _result(
        segments: list[Any], info: Any, duration: float, language: str | None, started: float
    ) -> Transcript:
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


_WORD = re.compile(r"[a-z0-9']+")


def echoes_prompt(text: str, prompt: str, run: int = 4) -> bool:
    """True when the transcript repeats `run` or more consecutive words of the prompt (the
    question), or is itself a piece of the prompt: Whisper's known failure on unclear audio."""
    said = _WORD.findall(text.lower())
    asked = _WORD.findall(prompt.lower())
    if not said or not asked:
        return False
    grams = {tuple(asked[i : i + run]) for i in range(len(asked) - run + 1)}
    if any(tuple(said[i : i + run]) in grams for i in range(len(said) - run + 1)):
        return True
    return len(said) >= 2 and " ".join(said) in " ".join(asked)


def _samples(audio: np.ndarray) -> np.ndarray:
    """Check and convert caller-decoded samples (see `Transcriber.transcribe`)."""
    if audio.ndim == 2 and 1 in audio.shape:  # (n, 1) or (1, n): one channel
        audio = audio.reshape(-1)
    if audio.ndim != 1:
        raise TranscriptionError(
            f"Expected mono samples (one dimension), got an array of shape {audio.shape}."
        )
    if audio.dtype == np.int16:
        return audio.astype(np.float32) / 32768.0
    if not np.issubdtype(audio.dtype, np.floating):
        raise TranscriptionError(
            f"Expected float32 samples in [-1, 1] (or int16 PCM), got {audio.dtype}."
        )
    samples = np.ascontiguousarray(audio, dtype=np.float32)
    if not np.isfinite(samples).all():
        raise TranscriptionError("The samples contain NaN or infinite values.")
    return samples


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


def is_narrowband(samples: np.ndarray) -> bool:
    """Whether 16 kHz samples carry (almost) nothing above 4 kHz: telephone audio (8 kHz,
    µ-law or not) resampled. Wideband speech has a few percent of its energy up there (the
    fricatives); resampled phone audio has only the resampler's leakage."""
    window = samples[: SAMPLE_RATE * 30]
    if len(window) < 1024:
        return False
    power = np.abs(np.fft.rfft(window)) ** 2
    total = float(power.sum())
    if total <= 0.0:
        return False
    high = float(power[int(len(power) * 4200 / (SAMPLE_RATE / 2)) :].sum())
    return high / total < 1e-3


def _pre_emphasis(samples: np.ndarray, coefficient: float) -> np.ndarray:
    if not coefficient:
        return samples
    out = samples.copy()
    out[1:] -= coefficient * samples[:-1]
    return out


def _scale(samples: np.ndarray, peak: float) -> np.ndarray:
    top = float(np.abs(samples).max()) if len(samples) else 0.0
    if not peak or top < 1e-4:  # digital silence stays silence, not amplified noise
        return samples
    return (samples * (peak / top)).astype(np.float32)


def _stretch_frames(features: np.ndarray, factor: float) -> np.ndarray:
    """Linear interpolation of log-mel frames along time: slower speech, same pitch."""
    n = features.shape[-1]
    m = max(1, round(n * factor))
    x = np.linspace(0.0, n - 1, m)
    i = np.floor(x).astype(np.int64)
    j = np.minimum(i + 1, n - 1)
    w = (x - i).astype(np.float32)
    return (features[..., i] * (1.0 - w) + features[..., j] * w).astype(np.float32)


def _whisper_model(
    path: str, threads: int, encoder_step: int, encoder_pad: int, encoder_min: int
) -> Any:
    """faster-whisper's model with two hooks, both needed for the tuned settings above:
    log-mel features stretched in time per call, and the encoder fed only the frames that
    hold audio (rounded up to `encoder_step`) instead of a 30-second window of padding."""
    from faster_whisper import WhisperModel
    from faster_whisper.feature_extractor import FeatureExtractor

    class Features(FeatureExtractor):
        stretch = 1.0

        def __call__(self, waveform: Any, padding: int = 160, chunk_length: Any = None) -> Any:
            features = super().__call__(waveform, padding=padding, chunk_length=chunk_length)
            return features if self.stretch == 1.0 else _stretch_frames(features, self.stretch)

    class Model(WhisperModel):
        def encode(self, features: np.ndarray) -> Any:
            if encoder_step > 0 and features.ndim == 2:
                # pad_or_trim pads with exact zeros; real log-mel frames are never all zero.
                used = np.flatnonzero(np.any(features != 0.0, axis=0))
                frames = int(used[-1]) + 1 if len(used) else 0
                keep = -(-(frames + encoder_pad) // encoder_step) * encoder_step
                keep = max(keep, encoder_min)
                if keep < features.shape[-1]:
                    features = np.ascontiguousarray(features[:, :keep])
            return super().encode(features)

    model = Model(path, device="cpu", compute_type="int8", cpu_threads=threads)
    model.feature_extractor = Features(**model.feat_kwargs)
    return model


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
