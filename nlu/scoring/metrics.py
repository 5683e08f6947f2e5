"""Agreement metrics between predicted and human scores, and question-grouped folds (numpy only).

Why here: the calibration script and `parley bench scoring` must compute validity the same way,
and the numbers are what the project reports, so they are small, dependency-free and
unit-tested against hand-computed values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

# SAF grades are mostly multiples of 0.25; QWK uses these five levels.
QWK_LEVELS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)


def _arrays(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("need two 1-d sequences of the same length")
    return x, y


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    """Pearson correlation (nan when either side is constant or there are < 2 values)."""
    x, y = _arrays(a, b)
    if len(x) < 2:
        return float("nan")
    x = x - x.mean()
    y = y - y.mean()
    den = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / den) if den > 0 else float("nan")


def rankdata(a: Sequence[float]) -> np.ndarray:
    """Ranks starting at 1, ties get the average of their ranks (as scipy's 'average')."""
    x = np.asarray(a, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (Pearson of average ranks)."""
    x, y = _arrays(a, b)
    return pearson(rankdata(x), rankdata(y))


def rmse(a: Sequence[float], b: Sequence[float]) -> float:
    """Root mean squared error."""
    x, y = _arrays(a, b)
    return float(np.sqrt(np.mean((x - y) ** 2))) if len(x) else float("nan")


def linear_fit(pred: Sequence[float], truth: Sequence[float]) -> tuple[float, float]:
    """Least-squares (slope, intercept) mapping `pred` onto `truth`."""
    x, y = _arrays(pred, truth)
    var = float(((x - x.mean()) ** 2).sum())
    slope = float(((x - x.mean()) * (y - y.mean())).sum() / var) if var > 0 else 0.0
    return slope, float(y.mean() - slope * x.mean())


def quantize(values: Sequence[float], levels: Sequence[float] = QWK_LEVELS) -> np.ndarray:
    """Index of the nearest level for each value (values are clipped to the level range)."""
    lv = np.asarray(levels, dtype=np.float64)
    x = np.clip(np.asarray(values, dtype=np.float64), lv.min(), lv.max())
    return np.abs(x[:, None] - lv[None, :]).argmin(axis=1)


def qwk(
    truth: Sequence[float], pred: Sequence[float], levels: Sequence[float] = QWK_LEVELS
) -> float:
    """Quadratic weighted kappa after rounding both sides to the nearest of `levels`."""
    t, p = _arrays(truth, pred)
    n = len(levels)
    ti, pi = quantize(t, levels), quantize(p, levels)
    observed = np.zeros((n, n), dtype=np.float64)
    np.add.at(observed, (ti, pi), 1.0)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / max(1.0, observed.sum())
    idx = np.arange(n)
    weights = (idx[:, None] - idx[None, :]) ** 2 / float((n - 1) ** 2)
    den = float((weights * expected).sum())
    return float(1.0 - (weights * observed).sum() / den) if den > 0 else float("nan")


def summary(truth: Sequence[float], pred: Sequence[float]) -> dict[str, float]:
    """Pearson, Spearman, RMSE and QWK of `pred` against `truth`, rounded to 4 places."""
    return {
        "n": len(truth),
        "pearson": round(pearson(truth, pred), 4),
        "spearman": round(spearman(truth, pred), 4),
        "rmse": round(rmse(truth, pred), 4),
        "qwk": round(qwk(truth, pred), 4),
    }


def group_kfold(groups: Sequence[str], n_splits: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays with every group wholly on one side (largest groups first).

    Deterministic, like scikit-learn's GroupKFold: groups are assigned, biggest first, to the
    fold with the fewest samples so far.
    """
    g = np.asarray(groups)
    names, counts = np.unique(g, return_counts=True)
    n_splits = min(n_splits, len(names))
    fold_of: dict[str, int] = {}
    sizes = np.zeros(n_splits, dtype=np.int64)
    for i in np.argsort(-counts, kind="mergesort"):
        fold = int(np.argmin(sizes))
        fold_of[str(names[i])] = fold
        sizes[fold] += counts[i]
    folds = np.array([fold_of[str(x)] for x in g])
    for k in range(n_splits):
        yield np.flatnonzero(folds != k), np.flatnonzero(folds == k)


def leave_one_group_out(groups: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays, one fold per group."""
    g = np.asarray(groups)
    for name in np.unique(g):
        yield np.flatnonzero(g != name), np.flatnonzero(g == name)
