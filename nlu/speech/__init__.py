"""Speech recognition with faster-whisper: the packaged Whisper base model (model.py), audio
to a transcript with a confidence (transcribe.py), and number normalisation so spoken and
typed answers agree ("forty five thousand" = "45,000") and word error rates are fair
(normalize.py)."""
