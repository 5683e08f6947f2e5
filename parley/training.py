"""Train the Rasa model only when its inputs changed (content hash of data, config, domain)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from parley.settings import Settings

MODEL_NAME = "parley"
INPUTS = ("config.yml", "domain.yml")


def rasa_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for every Rasa process: telemetry off, TensorFlow and SQLAlchemy quiet."""
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
    )
    env.update(extra or {})
    return env


def rasa_bin(settings: Settings) -> Path:
    return settings.root / settings.rasa_venv / "bin" / "rasa"


def training_inputs(root: Path) -> list[Path]:
    files = [root / name for name in INPUTS]
    files += sorted(p for p in (root / "data").rglob("*") if p.suffix in (".yml", ".yaml"))
    return files


def input_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in training_inputs(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    digest.update((root / "requirements-rasa.txt").read_bytes())
    return digest.hexdigest()


def model_path(settings: Settings) -> Path:
    return settings.root / settings.models_dir / f"{MODEL_NAME}.tar.gz"


def _hash_path(settings: Settings) -> Path:
    return settings.root / settings.models_dir / f"{MODEL_NAME}.inputs.sha256"


def needs_training(settings: Settings) -> bool:
    stamp = _hash_path(settings)
    if not model_path(settings).is_file() or not stamp.is_file():
        return True
    return stamp.read_text().strip() != input_hash(settings.root)


def train(settings: Settings, *, force: bool = False, echo: Callable[[str], None] = print) -> bool:
    """Train if needed; returns True when a new model was trained. Raises on failure."""
    if not force and not needs_training(settings):
        echo(f"Rasa model is up to date: {model_path(settings)}")
        return False
    digest = input_hash(settings.root)
    echo("Training the Rasa model (data, config or domain changed)…")
    cmd = [
        str(rasa_bin(settings)), "train",
        "--fixed-model-name", MODEL_NAME,
        "--out", str(settings.root / settings.models_dir),
        "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        cwd=settings.root,
        env=rasa_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        tail = [*tail[-40:], line.rstrip()]
        if any(k in line for k in ("Starting to train component", "Finished training", "Restored")):
            echo("  " + line.split(" - ", 1)[-1].strip().split("\r")[-1])
    if proc.wait() != 0:
        raise RuntimeError("rasa train failed:\n" + "\n".join(tail))
    _hash_path(settings).write_text(digest + "\n")
    echo(f"Model trained: {model_path(settings)}")
    return True
