"""Speech recognition with faster-whisper: the packaged Whisper base model (model.py), audio
to a transcript with a confidence (transcribe.py), hints from the question (hints.py), and
normalisation so spoken and typed answers agree ("forty five thousand" = "45,000", "the fifth
of May" = "5 May") and word error rates are fair (normalize.py).

`transcribe_answer` is the one call a channel gateway needs (Telegram voice notes, audio
files): audio in, a `Transcript` out, steered by the question being answered.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from nlu.speech.transcribe import Transcript


def transcribe_answer(
    audio: Path | bytes | np.ndarray,
    *,
    question: str | None = None,
    key_points: Iterable[str] = (),
    language: str | None = "en",
    models_dir: Path | None = None,
) -> Transcript:
    """Transcribe one spoken answer with the process's shared model (assembled on first use).

    Raises `TranscriptionError` (a message for the person) for unreadable, empty or too long
    audio, and `SpeechModelError` when the model cannot be assembled.
    """
    from nlu.speech.hints import build_hints
    from nlu.speech.model import model_dir
    from nlu.speech.transcribe import get_transcriber

    if models_dir is None:  # the same default as parley.settings (PARLEY_MODELS_DIR)
        models_dir = Path(os.environ.get("PARLEY_MODELS_DIR", "") or "models")
    hints = build_hints(question, key_points)
    transcriber = get_transcriber(model_dir(models_dir))
    return transcriber.transcribe(audio, language=language, **hints.as_kwargs())
