"""Shared fixtures for the scorer tests: the model is loaded once per test session."""

from __future__ import annotations

import pytest

from nlu.embeddings import SentenceEncoder, get_encoder
from nlu.scoring import Scorer, get_scorer


@pytest.fixture(scope="session")
def encoder() -> SentenceEncoder:
    return get_encoder()


@pytest.fixture(scope="session")
def scorer(encoder: SentenceEncoder) -> Scorer:
    return get_scorer()
