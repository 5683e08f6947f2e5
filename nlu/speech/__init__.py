"""Speech recognition with faster-whisper: the packaged Whisper base model (model.py) and
audio to a transcript with a confidence (transcribe.py)."""
