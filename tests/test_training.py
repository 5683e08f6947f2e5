"""Rasa is retrained only when its inputs change; telemetry is always off; data validates."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from parley.settings import Settings
from parley.training import input_hash, needs_training, rasa_bin, rasa_env
from tests.support import ROOT


def _copy_inputs(tmp: Path) -> Path:
    for name in ("config.yml", "domain.yml", "requirements-rasa.txt"):
        shutil.copy(ROOT / name, tmp / name)
    shutil.copytree(ROOT / "data", tmp / "data")
    return tmp


def test_input_hash_changes_only_with_inputs(tmp_path: Path) -> None:
    root = _copy_inputs(tmp_path)
    before = input_hash(root)
    assert input_hash(root) == before
    (root / "README.md").write_text("not an input")
    assert input_hash(root) == before
    nlu = root / "data" / "general" / "nlu.yml"
    nlu.write_text(nlu.read_text() + "    - hiya\n")
    assert input_hash(root) != before


def test_needs_training_without_model(tmp_path: Path) -> None:
    root = _copy_inputs(tmp_path)
    assert needs_training(Settings(root=root, models_dir=Path("models")))


def test_rasa_telemetry_is_off() -> None:
    assert rasa_env()["RASA_TELEMETRY_ENABLED"] == "false"


def test_rasa_data_validate_is_clean() -> None:
    result = subprocess.run(
        [str(rasa_bin(Settings(root=ROOT))), "data", "validate", "--fail-on-warnings"],
        cwd=ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
