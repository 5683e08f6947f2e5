"""The spoken-answer set, transcription hints, samples as input, and `parley bench voice`.

Real espeak-ng/sox audio and the real Whisper model; kept small (two answers) so the whole
file runs in seconds. The accuracy targets themselves are measured by the benchmark, not here.
"""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nlu.speech import corpus
from nlu.speech.hints import build_hints, domain_terms_in
from nlu.speech.model import model_dir
from nlu.speech.transcribe import Transcriber, TranscriptionError, get_transcriber, is_narrowband
from parley import bench_voice
from parley.cli import app


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("voice-corpus")


@pytest.fixture(scope="module")
def samples(cache: Path) -> list[corpus.Sample]:
    return corpus.generate("dev", cache, limit=2)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def transcriber(models: Path) -> Transcriber:
    return get_transcriber(model_dir(models))


# --------------------------------------------------------------------------- the answer set
def test_splits_are_disjoint_and_well_formed() -> None:
    dev, test = corpus.utterances("dev"), corpus.utterances("test")
    assert 25 <= len(dev) <= 40 and 25 <= len(test) <= 40
    texts = corpus.all_texts()
    assert not texts["dev"] & texts["test"]
    for utt in [*dev, *test]:
        assert utt.question.strip() and utt.key_points and 12 <= len(utt.text.split()) <= 40
    assert {u.voice for u in dev} == {u.voice for u in test} == set(corpus.VOICES)
    assert len({u.id for u in [*dev, *test]}) == len(dev) + len(test)
    with pytest.raises(ValueError, match="unknown split"):
        corpus.utterances("train")


def test_generated_files_have_the_promised_formats(
    samples: list[corpus.Sample], cache: Path
) -> None:
    assert [s.utterance.id for s in samples] == ["dev-00", "dev-01"]
    for sample in samples:
        with wave.open(str(sample.wav16), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        # Python's wave module reads PCM only; the µ-law header is checked directly.
        header = sample.ulaw8.read_bytes()[:64]
        assert header[:4] == b"RIFF" and header[8:12] == b"WAVE"
        fmt = header.index(b"fmt ") + 8
        audio_format, channels, rate = np.frombuffer(header[fmt : fmt + 8], "<u2,<u2,<u4")[0]
        assert (audio_format, channels, rate) == (7, 1, 8000)  # 7 = WAVE_FORMAT_MULAW
        assert 5.0 < sample.duration_s < 15.0
    stamps = [s.wav16.stat().st_mtime_ns for s in samples]
    again = corpus.generate("dev", cache, limit=2)  # cached: not synthesised again
    assert [s.wav16 for s in again] == [s.wav16 for s in samples]
    assert [s.wav16.stat().st_mtime_ns for s in again] == stamps


def test_missing_tools_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(corpus.shutil, "which", lambda tool: None)
    with pytest.raises(corpus.CorpusError, match="espeak-ng and sox not found"):
        corpus.generate("dev", tmp_path, limit=1)
    result = CliRunner().invoke(app, ["bench", "voice", "--limit", "1", "--json"])
    assert result.exit_code == 1 and "apt-get install espeak-ng sox" in result.output


# --------------------------------------------------------------------------- hints
def test_hints_carry_the_questions_key_terms() -> None:
    hints = build_hints(
        "How many years of experience do you have with PostgreSQL and kubernetes?",
        ["years of experience", "PostgreSQL"],
        terms=["GitHub Actions"],
    )
    assert hints.prompt and hints.prompt.startswith("How many years of experience")
    assert hints.hotwords is not None
    for term in ("PostgreSQL", "GitHub Actions", "Kubernetes"):
        assert term in hints.hotwords
    # Key points give only their names and jargon, never their sentences: an unclear answer
    # must not be steered towards the expected one.
    assert "years of experience" not in hints.hotwords
    assert hints.hotwords.count("PostgreSQL") == 1  # de-duplicated
    steer = build_hints("What do you do?", ["Writes the damage on the CMR before signing"])
    assert steer.hotwords == "CMR"
    assert domain_terms_in("a good goal") == []  # "Go" is a word, not a substring
    assert domain_terms_in("we use go and ci/cd") == ["Go", "CI/CD"]
    empty = build_hints(None)
    assert empty.prompt is None and empty.hotwords is None
    long = build_hints("word " * 200, ["point " * 100])
    assert len(long.prompt or "") <= 300 and len(long.hotwords or "") <= 200


# --------------------------------------------------------------------------- samples in
def test_samples_array_matches_the_file_and_bad_arrays_are_refused(
    transcriber: Transcriber, samples: list[corpus.Sample]
) -> None:
    from faster_whisper.audio import decode_audio

    sample = samples[0]
    array = decode_audio(str(sample.ulaw8), sampling_rate=16000)  # as the gateway has it
    assert array.dtype == np.float32 and is_narrowband(array)
    assert not is_narrowband(decode_audio(str(sample.wav16), sampling_rate=16000))
    hints = build_hints(sample.utterance.question, sample.utterance.key_points)
    from_array = transcriber.transcribe(array, language="en", **hints.as_kwargs())
    from_file = transcriber.transcribe(sample.ulaw8, language="en", **hints.as_kwargs())
    assert from_array.text == from_file.text and "postgresql" in from_array.text.lower()
    assert abs(from_array.duration_s - sample.duration_s) < 0.05
    pcm16 = (array * 32767).astype(np.int16)
    assert "postgresql" in transcriber.transcribe(pcm16, language="en").text.lower()
    assert transcriber.transcribe(np.zeros(0, np.float32)).text == ""
    for bad, message in (
        (np.zeros((2, 16000), np.float32), "mono"),
        (np.array([0.0, np.nan] * 8000, np.float32), "NaN"),
        (np.array(["a"] * 10), "float32"),
    ):
        with pytest.raises(TranscriptionError, match=message):
            transcriber.transcribe(bad)


def test_silence_with_a_prompt_stays_empty(transcriber: Transcriber, tmp_path: Path) -> None:
    hints = build_hints("What is your salary expectation?", ["salary", "euros per year"])
    silent = tmp_path / "silence-8k.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", str(silent),
                    "trim", "0", "4"], check=True, capture_output=True)  # fmt: skip
    for audio in (np.zeros(16000 * 4, np.float32), silent):
        result = transcriber.transcribe(audio, language="en", **hints.as_kwargs())
        assert result.text == "" and result.confidence == 0.0


# --------------------------------------------------------------------------- the benchmark
def test_bench_voice_json_has_the_documented_keys(
    cache: Path, models: Path, transcriber: Transcriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_MODELS_DIR", str(models))  # the model the fixture assembled
    result = CliRunner().invoke(
        app, ["bench", "voice", "--json", "--split", "dev", "--limit", "2",
              "--cache-dir", str(cache), "--latency-answers", "0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    for key in ("date", "split", "utterances", "audio_seconds", "model", "machine", "wer",
                "rtf", "voices", "targets", "meets_targets", "latency"):  # fmt: skip
        assert key in doc, key
    assert doc["split"] == "dev" and doc["utterances"] == 2 and doc["latency"] is None
    assert doc["model"]["threads"] >= 1 and doc["model"]["beam_size"] >= 1
    assert doc["machine"]["cpu_count"] >= 1
    for rate in ("16k", "8k_ulaw"):
        wer = doc["wer"][rate]
        assert 0.0 <= wer["wer"] <= 1.0 and wer["reference_words"] > 20
        assert set(wer["per_voice"]) == set(doc["voices"]) == {"en-us", "en-gb"}
    rtf = doc["rtf"]
    assert rtf["overall"] > 0 and 0 < rtf["p50"] <= rtf["p95"]
    assert set(rtf["by_rate"]) == {"16k", "8k_ulaw"}
    assert "WER 16 kHz" in bench_voice.summary(doc)


def test_bench_voice_rejects_an_unknown_split() -> None:
    result = CliRunner().invoke(app, ["bench", "voice", "--split", "train"])
    assert result.exit_code == 2 and "unknown split" in result.output


def test_percentile_is_a_measured_value() -> None:
    values = [float(v) for v in range(1, 21)]
    assert bench_voice._percentile(values, 50) == 10.0
    assert bench_voice._percentile(values, 95) == 19.0
    assert bench_voice._percentile([3.0], 95) == 3.0
