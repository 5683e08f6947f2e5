"""`parley bench scoring`: validity and speed of the answer scorer, beside a TF-IDF baseline.

Validity (all computed in the same run, on SAF):
* `dev` — the SAF dev split (unseen answers to the 16 train questions): Pearson, Spearman, RMSE
  and QWK. RMSE and QWK are taken after a linear fit (prediction → grade) on the train split, for
  the scorer and the baseline alike; QWK rounds both sides to the nearest of 0, .25, .5, .75, 1
  (SAF's grading steps). Rows the scorer refuses (`insufficient_data`) get no number: metrics are
  given over the scored rows, and, for comparison with work that scores everything, over all
  rows with refused answers counted as 0.
* `grouped_cv` — the primary number for questions never seen: the calibration refitted on
  question-grouped folds of the train split (GroupKFold 4 and leave-one-question-out), exactly as
  `python -m nlu.scoring.calibrate` does, with the baseline's linear fit also made per fold.
* The baseline is the cosine between TF-IDF vectors of answer and reference answer, with the
  vocabulary and IDF fitted on the train split.

Speed: single answers one at a time (p50/p95 latency, question contexts warm) and the whole dev
split through `score_batch` (answers/s), on however many CPU threads torch uses here.
"""

from __future__ import annotations

import dataclasses
import math
import os
import platform
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlu.scoring import metrics
from nlu.scoring.calibrate import (
    DEV_FILE,
    TRAIN_FILE,
    Dataset,
    cross_validate,
    inputs,
    read_asag,
)
from nlu.scoring.features import FEATURES
from nlu.scoring.scorer import SCORER_VERSION, AnswerScore, Scorer, default_workers, get_scorer
from nlu.scoring.text import words

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "asag"


class BenchError(RuntimeError):
    """The benchmark cannot run (missing data)."""


class TfidfCosine:
    """Cosine of TF-IDF vectors (smooth IDF, l2 norm, as scikit-learn's defaults), numpy only."""

    def __init__(self, corpus: Sequence[str]) -> None:
        vocab: dict[str, int] = {}
        df: Counter[str] = Counter()
        for doc in corpus:
            terms = set(words(doc))
            df.update(terms)
            for t in terms:
                vocab.setdefault(t, len(vocab))
        n = len(corpus)
        self.vocab = vocab
        self.idf = np.ones(len(vocab))
        for term, i in vocab.items():
            self.idf[i] = math.log((1 + n) / (1 + df[term])) + 1.0

    def vector(self, text: str) -> np.ndarray:
        vec = np.zeros(len(self.vocab))
        for term, count in Counter(words(text)).items():
            i = self.vocab.get(term)
            if i is not None:
                vec[i] = count * self.idf[i]
        norm = np.linalg.norm(vec)
        return vec / norm if norm > 0 else vec

    def similarity(self, a: str, b: str) -> float:
        return float(self.vector(a) @ self.vector(b))


def _fit_apply(train_pred: np.ndarray, train_y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    slope, intercept = metrics.linear_fit(train_pred, train_y)
    return np.clip(slope * pred + intercept, 0.0, 1.0)


def _validity(
    y: np.ndarray, pred: np.ndarray, train_pred: np.ndarray, train_y: np.ndarray
) -> dict[str, float]:
    fitted = _fit_apply(train_pred, train_y, pred)
    return {
        "n": len(y),
        "pearson": round(metrics.pearson(y, pred), 4),
        "spearman": round(metrics.spearman(y, pred), 4),
        "rmse_after_linear_fit_on_train": round(metrics.rmse(y, fitted), 4),
        "qwk_after_linear_fit_on_train": round(metrics.qwk(y, fitted), 4),
    }


def _dataset(rows: list[dict[str, str]], results: list[AnswerScore]) -> Dataset:
    x = np.full((len(rows), len(FEATURES)), np.nan)
    for i, res in enumerate(results):
        if res.status == "scored":
            feats = dict(res.features)
            x[i] = [feats[n] for n in FEATURES]
    return Dataset(
        x=x,
        y=np.array([float(r["score"]) for r in rows]),
        groups=np.array([" ".join((r.get("question") or "").split()) for r in rows]),
        scored=np.array([res.status == "scored" for res in results]),
        codes=[res.reason_code for res in results],
        coverages=[],
    )


def _grouped_cv(train: Dataset, tfidf_train: np.ndarray) -> dict[str, Any]:
    x, y, g = train.x[train.scored], train.y[train.scored], train.groups[train.scored]
    base = tfidf_train[train.scored][:, None]
    out: dict[str, Any] = {}
    splitters = {
        "group_kfold_4": lambda groups: metrics.group_kfold(groups, 4),
        "leave_one_question_out": metrics.leave_one_group_out,
    }
    for name, split in splitters.items():
        pred = cross_validate(x, y, g, split)
        bpred = np.zeros(len(y))
        for tr, te in split(g):
            bpred[te] = _fit_apply(base[tr, 0], y[tr], base[te, 0])
        full = np.zeros(len(train.y))
        full[train.scored] = pred
        bfull = np.zeros(len(train.y))
        for tr, te in split(train.groups):
            bfull[te] = _fit_apply(tfidf_train[tr], train.y[tr], tfidf_train[te])
        out[name] = {
            "scorer": metrics.summary(y, pred),
            "tfidf_cosine": metrics.summary(y, bpred),
            "scorer_all_answers_refused_as_0": metrics.summary(train.y, full),
            "tfidf_cosine_all_answers": metrics.summary(train.y, bfull),
        }
    return out


def _percentile(values: Sequence[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values), q)), 2)


def run_benchmark(data_dir: Path | None = None, speed_samples: int = 252) -> dict[str, Any]:
    """Run everything and return the JSON document."""
    data_dir = data_dir or DEFAULT_DATA_DIR
    for name in (TRAIN_FILE, DEV_FILE):
        if not (data_dir / name).is_file():
            raise BenchError(f"{data_dir / name}: not found (use --data-dir)")
    train_rows, dev_rows = read_asag(data_dir / TRAIN_FILE), read_asag(data_dir / DEV_FILE)
    t0 = time.perf_counter()
    scorer: Scorer = get_scorer()
    load_s = time.perf_counter() - t0

    train_items, dev_items = inputs(train_rows), inputs(dev_rows)
    train_res = scorer.score_batch(train_items)
    dev_res = scorer.score_batch(dev_items)
    train, dev = _dataset(train_rows, train_res), _dataset(dev_rows, dev_res)

    tfidf = TfidfCosine(
        [r["student_answer"] for r in train_rows] + [r["reference_answer"] for r in train_rows]
    )
    tf_train = np.array([tfidf.similarity(r["student_answer"], r["reference_answer"])
                         for r in train_rows])  # fmt: skip
    tf_dev = np.array([tfidf.similarity(r["student_answer"], r["reference_answer"])
                       for r in dev_rows])  # fmt: skip
    s_train = np.array([r.score if r.score is not None else 0.0 for r in train_res])
    s_dev = np.array([r.score if r.score is not None else 0.0 for r in dev_res])
    ts, ds = train.scored, dev.scored

    dev_doc = {
        "split": DEV_FILE,
        "note": "unseen answers to the train questions: not a test of unseen questions",
        "scored_share": round(float(ds.mean()), 4),
        "insufficient_data": dict(Counter(c for c in dev.codes if c)),
        "scored_answers": {
            "scorer": _validity(dev.y[ds], s_dev[ds], s_train[ts], train.y[ts]),
            "tfidf_cosine": _validity(dev.y[ds], tf_dev[ds], tf_train[ts], train.y[ts]),
        },
        "all_answers_refused_as_0": {
            "scorer": _validity(dev.y, s_dev, s_train, train.y),
            "tfidf_cosine": _validity(dev.y, tf_dev, tf_train, train.y),
        },
        "scorer_raw_calibrated_output": {
            "rmse": round(metrics.rmse(dev.y[ds], s_dev[ds]), 4),
            "qwk": round(metrics.qwk(dev.y[ds], s_dev[ds]), 4),
        },
    }

    # Speed: contexts are warm (every dev question was seen above); answers are not cached.
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    sample = dev_items[: max(1, min(speed_samples, len(dev_items)))]
    latencies = []
    for item in sample:
        start = time.perf_counter()
        scorer.score(item)
        latencies.append((time.perf_counter() - start) * 1000.0)
    # The same answers cut to their first 25 words: the length of a typical chat answer
    # (SAF answers are exam answers, 90 word pieces on average, up to 370).
    short_items = [dataclasses.replace(i, answer=" ".join(i.answer.split()[:25]))
                   for i in dev_items]  # fmt: skip
    short_latencies = []
    for item in short_items[: len(sample)]:
        start = time.perf_counter()
        scorer.score(item)
        short_latencies.append((time.perf_counter() - start) * 1000.0)
    workers = default_workers()
    start = time.perf_counter()
    scorer.score_batch(short_items, workers=workers)
    short_batch_s = time.perf_counter() - start
    start = time.perf_counter()
    scorer.score_batch(dev_items, workers=workers)
    batch_s = time.perf_counter() - start
    tokens = [len(scorer.encoder.tokenizer(i.answer, verbose=False)["input_ids"])
              for i in dev_items]  # fmt: skip
    import torch

    return {
        "benchmark": "scoring",
        "scorer_version": SCORER_VERSION,
        "model": {"name": scorer.encoder.model_name, "version": scorer.encoder.model_version},
        "data_dir": str(data_dir),
        "grouped_cv_on_train": _grouped_cv(train, tf_train),
        "dev": dev_doc,
        "speed": {
            "single_answer_ms": {
                "n": len(latencies),
                "p50": _percentile(latencies, 50),
                "p95": _percentile(latencies, 95),
                "max": _percentile(latencies, 100),
            },
            "batch_answers_per_s": round(len(dev_items) / batch_s, 1),
            "batch_answers": len(dev_items),
            "first_25_words": {
                "single_answer_ms": {
                    "p50": _percentile(short_latencies, 50),
                    "p95": _percentile(short_latencies, 95),
                },
                "batch_answers_per_s": round(len(short_items) / short_batch_s, 1),
            },
            "batch_workers": workers,
            "mean_answer_word_pieces": round(float(np.mean(tokens)), 1),
            "encoder_precision": scorer.encoder.precision,
            "model_load_s": round(load_s, 2),
            "torch_threads": torch.get_num_threads(),
            "load_average_1m_at_start": None if load_before is None else round(load_before, 2),
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
        },
        "targets": {"pearson_unseen_questions": 0.62, "single_p95_ms": 20, "batch_per_s": 500},
    }


def summary(doc: dict[str, Any]) -> str:
    """A few human-readable lines."""
    cv = doc["grouped_cv_on_train"]["group_kfold_4"]
    dev = doc["dev"]["scored_answers"]
    sp = doc["speed"]
    return "\n".join([
        f"grouped CV (unseen questions), scored answers: scorer r={cv['scorer']['pearson']}"
        f"  tfidf r={cv['tfidf_cosine']['pearson']}",
        f"dev (unseen answers): scorer r={dev['scorer']['pearson']}"
        f"  tfidf r={dev['tfidf_cosine']['pearson']}",
        f"speed: single p50={sp['single_answer_ms']['p50']} ms p95={sp['single_answer_ms']['p95']}"
        f" ms, batch {sp['batch_answers_per_s']} answers/s",
    ])  # fmt: skip
