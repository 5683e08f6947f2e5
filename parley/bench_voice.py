"""`parley bench voice`: accuracy and speed of Parley's speech recognition on spoken answers.

What is measured, on the spoken-answer set of `nlu.speech.corpus` (interview answers
synthesised with espeak-ng in several voices):

* word error rate at 16 kHz (a web or app recording) and at 8 kHz µ-law (a phone line), over
  the whole split and per voice. Both sides go through `nlu.speech.normalize.normalize_for_wer`
  first, so "forty five thousand" and "45,000" agree. The overall rate is the corpus rate
  (all word errors / all reference words), not a mean of per-answer rates, so a short answer
  does not weigh as much as a long one.
* real-time factor: seconds spent transcribing / seconds of audio, in all and per utterance
  (p50/p95), with the CPU threads the transcriber really uses (2 on a 2-core machine). Each
  answer is transcribed exactly as a gateway does it: the file's bytes, the language locked to
  English, and hints (prompt and hotwords) built from the question it answers.
* `latency` — end of answer → next question through the phone gateway — is filled in by the
  gateway's own measurement (`measure_latency`); null until then.

The default split is `test`, the one the transcription settings were never tuned on; `dev` is
the tuning split.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlu.speech import corpus
from nlu.speech.hints import build_hints
from nlu.speech.normalize import normalize_for_wer, word_error_rate

TARGETS = {"wer_16k": 0.08, "wer_8k_ulaw": 0.15, "rtf": 0.15, "latency_p95_s": 1.2}
RATES = ("16k", "8k_ulaw")

Progress = Callable[[str], None]


class BenchError(RuntimeError):
    """The benchmark cannot run (audio tools or the speech model missing); the message says
    what to do."""


@dataclass(frozen=True)
class Options:
    split: str = "test"
    limit: int | None = None
    cache_dir: Path | None = None  # where the synthesised audio is kept (corpus default)
    hints: bool = True  # prompt and hotwords from the question, as the gateways do
    show_errors: int = 5  # worst utterances per rate listed in the document
    latency_answers: int = 12  # 15-second answers streamed in real time (0: no latency run)


@dataclass
class _Rate:
    edits: int = 0
    words: int = 0
    by_voice: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    worst: list[dict[str, Any]] = field(default_factory=list)

    def add(self, voice: str, reference: str, hypothesis: str, utt_id: str) -> None:
        words = len(normalize_for_wer(reference))
        rate = word_error_rate(reference, hypothesis)
        edits = round(rate * words)
        self.edits += edits
        self.words += words
        self.by_voice[voice][0] += edits
        self.by_voice[voice][1] += words
        if edits:
            self.worst.append(
                {"id": utt_id, "voice": voice, "wer": round(rate, 3), "heard": hypothesis}
            )

    def to_json(self, show: int) -> dict[str, Any]:
        worst = sorted(self.worst, key=lambda w: (-w["wer"], w["id"]))[:show]
        return {
            "wer": round(self.edits / max(self.words, 1), 4),
            "word_errors": self.edits,
            "reference_words": self.words,
            "per_voice": {
                voice: round(e / max(n, 1), 4) for voice, (e, n) in sorted(self.by_voice.items())
            },
            "worst": worst,
        }


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: with 30 values p95 is a value that was
    actually measured)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]


def _machine() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def load_transcriber(models_dir: Path) -> Any:
    """The shared transcriber, as every channel gets it (so the bench measures the settings
    the product runs with)."""
    from nlu.speech.model import SpeechModelError, model_dir
    from nlu.speech.transcribe import get_transcriber

    try:
        return get_transcriber(model_dir(models_dir))
    except SpeechModelError as exc:
        raise BenchError(str(exc)) from None


def measure_accuracy(
    transcriber: Any, options: Options, progress: Progress | None = None
) -> dict[str, Any]:
    """WER and real-time factor of `transcriber` on a split of the spoken-answer set."""
    try:
        samples = corpus.generate(
            options.split, options.cache_dir or corpus.default_cache_dir(), limit=options.limit
        )
    except corpus.CorpusError as exc:
        raise BenchError(str(exc)) from None
    if not samples:
        raise BenchError("The spoken-answer set is empty (--limit 0?).")
    # One answer first, not counted: the first call pays for lazy set-up (VAD model, caches).
    transcriber.transcribe(samples[0].wav16.read_bytes(), language="en")

    rates = {rate: _Rate() for rate in RATES}
    times: dict[str, list[tuple[float, float]]] = {rate: [] for rate in RATES}
    for n, sample in enumerate(samples, 1):
        utt = sample.utterance
        hints = build_hints(utt.question, utt.key_points) if options.hints else None
        for rate, path in (("16k", sample.wav16), ("8k_ulaw", sample.ulaw8)):
            result = transcriber.transcribe(
                path.read_bytes(),
                language="en",
                prompt=hints.prompt if hints else None,
                hotwords=hints.hotwords if hints else None,
            )
            rates[rate].add(utt.voice, utt.text, result.text, utt.id)
            times[rate].append((result.seconds, result.duration_s))
        if progress is not None:
            progress(f"{n}/{len(samples)} answers transcribed")

    every = [t for rate in RATES for t in times[rate]]

    def rtf(pairs: list[tuple[float, float]]) -> dict[str, float]:
        per = [s / d for s, d in pairs if d > 0]
        return {
            "overall": round(sum(s for s, _ in pairs) / sum(d for _, d in pairs), 4),
            "p50": round(_percentile(per, 50), 4),
            "p95": round(_percentile(per, 95), 4),
        }

    return {
        "wer": {rate: rates[rate].to_json(options.show_errors) for rate in RATES},
        "rtf": {**rtf(every), "by_rate": {rate: rtf(times[rate]) for rate in RATES}},
        "audio_seconds": round(sum(d for _, d in every) / len(RATES), 1),
        "transcribe_seconds": round(sum(s for s, _ in every), 2),
        "utterances": len(samples),
        "voices": sorted({s.utterance.voice for s in samples}),
    }


def measure_latency(
    settings: Any, options: Options, progress: Progress | None = None
) -> dict[str, Any] | None:
    """End of answer → next question through the whole phone path (parley/
    bench_voice_latency.py: a real stack, the gateway, the Twilio stand-in in real time)."""
    if options.latency_answers <= 0 or settings is None:
        return None
    from parley.bench_voice_latency import measure_latency as run_latency
    from parley.training import train

    echo = progress or (lambda _m: None)
    train(settings, echo=echo)
    return run_latency(settings, answers=options.latency_answers, echo=echo)


def run_benchmark(
    models_dir: Path,
    options: Options,
    progress: Progress | None = None,
    settings: Any = None,
) -> dict[str, Any]:
    """The whole JSON document of `parley bench voice` (`settings`: where the stack for the
    latency run lives; None skips that run)."""
    try:
        corpus.check_tools()
    except corpus.CorpusError as exc:
        raise BenchError(str(exc)) from None
    transcriber = load_transcriber(models_dir)
    accuracy = measure_accuracy(transcriber, options, progress)
    wer16 = accuracy["wer"]["16k"]["wer"]
    wer8 = accuracy["wer"]["8k_ulaw"]["wer"]
    latency = measure_latency(settings, options, progress)
    p95 = (latency or {}).get("endpoint_to_next_question_s", {}).get("p95")
    return {
        "benchmark": "voice",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "split": options.split,
        "hints": options.hints,
        "model": {
            "path": str(transcriber.model_path),
            "name": Path(transcriber.model_path).name,
            "compute_type": "int8",
            "device": "cpu",
            "threads": transcriber.threads,
            "beam_size": transcriber.options.beam_size,
            "decode": transcriber.options.to_json(),
        },
        "machine": _machine(),
        **accuracy,
        "targets": TARGETS,
        "meets_targets": {
            "wer_16k": wer16 <= TARGETS["wer_16k"],
            "wer_8k_ulaw": wer8 <= TARGETS["wer_8k_ulaw"],
            "rtf": accuracy["rtf"]["overall"] <= TARGETS["rtf"],
            "latency_p95": None if p95 is None else p95 <= TARGETS["latency_p95_s"],
        },
        "latency": latency,
    }


def summary(doc: dict[str, Any]) -> str:
    """A few lines for a person; the JSON follows it."""
    wer, rtf, model = doc["wer"], doc["rtf"], doc["model"]

    def pct(x: float) -> str:
        return f"{100 * x:.1f} %"

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    met = doc["meets_targets"]
    lines = [
        f"Speech recognition on the '{doc['split']}' split: {doc['utterances']} answers, "
        f"{doc['audio_seconds']} s of audio, {len(doc['voices'])} voices",
        f"  model {model['name']} int8, beam {model['beam_size']}, {model['threads']} threads, "
        f"{doc['machine']['cpu_count']} CPUs",
        f"  WER 16 kHz       {pct(wer['16k']['wer']):>8}   target ≤ 8 %   {mark(met['wer_16k'])}",
        f"  WER 8 kHz µ-law  {pct(wer['8k_ulaw']['wer']):>8}   target ≤ 15 %  "
        f"{mark(met['wer_8k_ulaw'])}",
        f"  real-time factor {rtf['overall']:>8.3f}   target ≤ 0.15  {mark(met['rtf'])}   "
        f"(per answer p50 {rtf['p50']:.3f}, p95 {rtf['p95']:.3f})",
    ]
    for rate, label in (("16k", "16 kHz"), ("8k_ulaw", "8 kHz µ-law")):
        per = ", ".join(f"{v} {pct(x)}" for v, x in wer[rate]["per_voice"].items())
        lines.append(f"  per voice, {label}: {per}")
    if doc.get("latency"):
        lat = doc["latency"]
        end, heard = lat["endpoint_to_next_question_s"], lat["speech_end_to_next_question_s"]
        lines.append(
            f"  end of answer → next question ({lat['answers']} answers of "
            f"{lat['answer_s_mean']} s): p50 {end['p50']} s, p95 {end['p95']} s   "
            f"target ≤ 1.2 s  {mark(bool(met['latency_p95']))}"
        )
        lines.append(
            f"  last sound → next question (with the {lat['end_silence_ms']} ms end-of-answer "
            f"silence): p50 {heard['p50']} s, p95 {heard['p95']} s; phone-path WER "
            f"{pct(lat['phone_path_wer'] or 0)}"
        )
    return "\n".join(lines)
