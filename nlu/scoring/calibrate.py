"""Fit the scorer's calibration on SAF train and print question-grouped validity.

    python -m nlu.scoring.calibrate [--data-dir ../shared/data/asag] [--dry-run]

Why a script: the calibration must be reproducible from the data alone. It

1. computes the features of every SAF train answer (answers the guard refuses are left out:
   they never get a number, so they must not shape it);
2. fits a ridge regression (numpy, standardised features, alpha = ALPHA) on them;
3. reports validity where the questions are unseen: GroupKFold (4 folds) and leave-one-
   question-out over the train questions, with the model refitted on the training folds only;
   plus the SAF dev split (unseen answers to the *same* questions, so not a test of new
   questions), each feature's weight and what dropping it costs;
4. writes `calibration.json` (a few hundred bytes of parameters).

Questions are grouped by their text: SAF reuses question_id 2.1 for three different questions.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlu.scoring import metrics
from nlu.scoring.features import FEATURES
from nlu.scoring.scorer import CALIBRATION_PATH, Calibration, ScoreInput, Scorer

ALPHA = 10.0  # ridge penalty on standardised features (≈ 1,300 answers: mild shrinkage)
N_FOLDS = 4
SIMILARITY_GRID = tuple(round(x, 2) for x in np.arange(0.3, 0.81, 0.05))
MARGIN_GRID = tuple(round(x, 2) for x in np.arange(-0.1, 0.31, 0.05))
TERM_GRID = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.01)  # 1.01: terms alone never count
THRESHOLD_SLACK = 0.005  # prefer stricter "covered" labels that cost at most this much r
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "asag"
TRAIN_FILE = "saf_train.csv"
DEV_FILE = "saf_dev_unseen_answers.csv"

Splitter = Callable[[Sequence[str]], Iterator[tuple[np.ndarray, np.ndarray]]]


@dataclass
class Dataset:
    """Features of one ASAG file: rows the guard let through have finite features."""

    x: np.ndarray  # (n, len(FEATURES)); nan rows for answers the guard refused
    y: np.ndarray
    groups: np.ndarray  # question text
    scored: np.ndarray  # bool: the guard let it through
    codes: list[str | None]  # guard reason codes
    coverages: list[np.ndarray]  # per-key-point (similarity, margin, term recall) rows


def read_asag(path: Path) -> list[dict[str, str]]:
    """Rows of an ASAG CSV (question, reference_answer, student_answer, score, ...)."""
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def inputs(rows: Sequence[dict[str, str]]) -> list[ScoreInput]:
    """ScoreInputs of ASAG rows (no key points given: they are derived from the reference)."""
    return [
        ScoreInput(
            question=r.get("question") or "",
            reference_answer=r.get("reference_answer") or "",
            key_points=tuple(p.strip() for p in (r.get("key_points") or "").split("|") if p),
            answer=r.get("student_answer") or "",
        )
        for r in rows
    ]


def neutral_calibration() -> Calibration:
    """A calibration that predicts a constant: used to extract features before fitting."""
    n = len(FEATURES)
    zero = np.zeros(n)
    return Calibration(FEATURES, zero, np.ones(n), zero, 0.5, 0.5, 0.0, 1.0, "neutral")


def collect(scorer: Scorer, rows: Sequence[dict[str, str]]) -> Dataset:
    """Score rows with `scorer` and keep their features, grades and guard outcomes."""
    results = scorer.score_batch(inputs(rows))
    x = np.full((len(rows), len(FEATURES)), np.nan)
    codes: list[str | None] = []
    coverages: list[np.ndarray] = []
    for i, res in enumerate(results):
        codes.append(res.reason_code)
        if res.status == "scored":
            feats = dict(res.features)
            x[i] = [feats[n] for n in FEATURES]
            coverages.append(
                np.array([(k.similarity, k.margin, k.term_recall) for k in res.key_points])
            )
    return Dataset(
        x=x,
        y=np.array([float(r["score"]) for r in rows]),
        groups=np.array([" ".join((r.get("question") or "").split()) for r in rows]),
        scored=np.array([c is None for c in codes]),
        codes=codes,
        coverages=coverages,
    )


@dataclass(frozen=True)
class Ridge:
    """Ridge regression on standardised features; the intercept is not penalised."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, alpha: float = ALPHA) -> Ridge:
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        z = (x - mean) / scale
        coef = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - y.mean()))
        return cls(mean, scale, coef, float(y.mean()))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.clip(self.intercept + ((x - self.mean) / self.scale) @ self.coef, 0.0, 1.0)


def cross_validate(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, splitter: Splitter, alpha: float = ALPHA
) -> np.ndarray:
    """Out-of-fold predictions; each fold's model never sees that fold's questions."""
    pred = np.zeros(len(y))
    for train, test in splitter(groups):
        pred[test] = Ridge.fit(x[train], y[train], alpha).predict(x[test])
    return pred


def choose_coverage_thresholds(data: Dataset) -> tuple[float, float, float]:
    """(similarity, margin, term) thresholds for calling a key point "covered" in explanations.

    The share of key points called covered should track the human grade. The correlation is
    flat near its maximum, so among settings within THRESHOLD_SLACK of the best the strictest
    is taken (a "covered" claim shown to a candidate should rather be safe than generous).
    """
    y = data.y[data.scored]
    grid: list[tuple[float, float, float, float]] = []
    for tau_s in SIMILARITY_GRID:
        for tau_m in MARGIN_GRID:
            for tau_t in TERM_GRID:
                share = np.array([
                    (((c[:, 0] >= tau_s) & (c[:, 1] >= tau_m)) | (c[:, 2] >= tau_t)).mean()
                    if len(c) else 0.0
                    for c in data.coverages
                ])  # fmt: skip
                grid.append((metrics.pearson(share, y), float(tau_s), float(tau_m), tau_t))
    best = max(g[0] for g in grid)
    _, tau_s, tau_m, tau_t = max(
        (g for g in grid if g[0] >= best - THRESHOLD_SLACK),
        key=lambda g: (g[1] + g[2] + g[3], g[0]),
    )
    return tau_s, tau_m, tau_t


def with_refused_as_zero(pred: np.ndarray, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(truth, prediction) over all rows, refused answers predicted 0 — for comparison only."""
    full = np.zeros(len(data.y))
    full[data.scored] = pred
    return data.y, full


def evaluate(train: Dataset, dev: Dataset | None, alpha: float = ALPHA) -> dict[str, object]:
    """All validity numbers: grouped CV, leave-one-question-out, dev, per-feature analysis."""
    x, y, g = train.x[train.scored], train.y[train.scored], train.groups[train.scored]
    gkf: Splitter = lambda groups: metrics.group_kfold(groups, N_FOLDS)  # noqa: E731
    report: dict[str, object] = {}
    for name, splitter in (("group_kfold_4", gkf), ("leave_one_question_out", None)):
        split = splitter or metrics.leave_one_group_out
        pred = cross_validate(x, y, g, split, alpha)
        report[name] = {
            "scored_answers": metrics.summary(y, pred),
            "all_answers_refused_as_0": metrics.summary(*with_refused_as_zero(pred, train)),
        }
    model = Ridge.fit(x, y, alpha)
    if dev is not None:
        dpred = model.predict(dev.x[dev.scored])
        report["dev_unseen_answers"] = {
            "scored_answers": metrics.summary(dev.y[dev.scored], dpred),
            "all_answers_refused_as_0": metrics.summary(*with_refused_as_zero(dpred, dev)),
        }
    base = metrics.pearson(y, cross_validate(x, y, g, gkf, alpha))
    per_feature = {}
    for j, name in enumerate(FEATURES):
        keep = [k for k in range(len(FEATURES)) if k != j]
        alone = cross_validate(x[:, [j]], y, g, gkf, alpha)
        dropped = cross_validate(x[:, keep], y, g, gkf, alpha)
        per_feature[name] = {
            "standardised_weight": round(float(model.coef[j]), 4),
            "cv_pearson_alone": round(metrics.pearson(y, alone), 4),
            "cv_pearson_change_if_dropped": round(metrics.pearson(y, dropped) - base, 4),
        }
    report["features"] = per_feature
    return report


def fit(data_dir: Path, scorer: Scorer | None = None) -> tuple[dict[str, object], Dataset]:
    """Features of train (and dev, if present), the fitted calibration document, the report."""
    scorer = scorer or Scorer(calibration=neutral_calibration())
    train_rows = read_asag(data_dir / TRAIN_FILE)
    train = collect(scorer, train_rows)
    dev_path = data_dir / DEV_FILE
    dev = collect(scorer, read_asag(dev_path)) if dev_path.is_file() else None
    x, y = train.x[train.scored], train.y[train.scored]
    model = Ridge.fit(x, y, ALPHA)
    report = evaluate(train, dev, ALPHA)
    tau_s, tau_m, tau_t = choose_coverage_thresholds(train)
    doc: dict[str, object] = {
        "created_by": "python -m nlu.scoring.calibrate",
        "model": "ridge regression on standardised features, clipped to [0, 1]",
        "encoder": {"name": scorer.encoder.model_name, "version": scorer.encoder.model_version},
        "alpha": ALPHA,
        "features": list(FEATURES),
        "mean": [round(float(v), 8) for v in model.mean],
        "scale": [round(float(v), 8) for v in model.scale],
        "coef": [round(float(v), 8) for v in model.coef],
        "intercept": round(model.intercept, 8),
        "similarity_threshold": tau_s,
        "margin_threshold": tau_m,
        "term_threshold": tau_t,
        "fitted_on": {
            "file": TRAIN_FILE,
            "answers": len(train_rows),
            "answers_used": int(train.scored.sum()),
            "questions": len(set(train.groups.tolist())),
            "refused_by_guard": dict(Counter(c for c in train.codes if c)),
        },
        "validity": report,
    }
    return doc, train


def _print_report(doc: dict[str, object]) -> None:
    report = doc["validity"]
    assert isinstance(report, dict)
    print(f"fitted on {doc['fitted_on']}")
    for key in ("group_kfold_4", "leave_one_question_out", "dev_unseen_answers"):
        if key in report:
            for subset, vals in report[key].items():
                print(f"{key:24} {subset:26} " + "  ".join(f"{k}={v}" for k, v in vals.items()))
    print("features (standardised weight, CV r alone, CV r change if dropped):")
    for name, vals in report["features"].items():
        print(f"  {name:24} {vals['standardised_weight']:+.4f}  {vals['cv_pearson_alone']:+.4f}"
              f"  {vals['cv_pearson_change_if_dropped']:+.4f}")  # fmt: skip
    print(f"intercept {doc['intercept']}; a key point is covered when a sentence has "
          f"similarity >= {doc['similarity_threshold']} and margin over the question >= "
          f"{doc['margin_threshold']}, or term recall >= {doc['term_threshold']}")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--output", type=Path, default=CALIBRATION_PATH)
    parser.add_argument("--dry-run", action="store_true", help="print, do not write")
    args = parser.parse_args(argv)
    if not (args.data_dir / TRAIN_FILE).is_file():
        print(f"{args.data_dir / TRAIN_FILE}: not found", file=sys.stderr)
        return 2
    doc, _ = fit(args.data_dir)
    _print_report(doc)
    if not args.dry_run:
        args.output.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
