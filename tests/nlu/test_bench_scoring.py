"""Pieces of `parley bench scoring` that are cheap to test (the full bench is too slow here)."""

from __future__ import annotations

import pytest

from parley.bench_scoring import TfidfCosine


def test_tfidf_cosine() -> None:
    tfidf = TfidfCosine(["tcp is reliable", "udp is fast", "tcp and udp"])
    assert tfidf.similarity("tcp is reliable", "tcp is reliable") == pytest.approx(1.0)
    assert tfidf.similarity("tcp is reliable", "udp is fast") < tfidf.similarity(
        "tcp is reliable", "reliable tcp"
    )
    assert tfidf.similarity("", "tcp") == 0.0
    assert tfidf.similarity("unknown words only", "tcp") == 0.0
