"""Validity metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nlu.scoring import metrics


def test_pearson_hand_computed() -> None:
    # x = 1,2,3 ; y = 1,3,2 -> cov = 0.5 (x-dev -1,0,1 · y-dev -1,1,0 = 1 / 2), sd 1 and 1
    assert metrics.pearson([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert metrics.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert metrics.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(metrics.pearson([1, 1, 1], [1, 2, 3]))


def test_spearman_with_ties() -> None:
    assert list(metrics.rankdata([10, 20, 20, 30])) == [1.0, 2.5, 2.5, 4.0]
    # ranks x = 1,2,3,4 ; y = 1,2.5,2.5,4 -> Pearson of ranks = 4.5 / sqrt(5 * 4.5)
    assert metrics.spearman([1, 2, 3, 4], [10, 20, 20, 30]) == pytest.approx(
        4.5 / math.sqrt(5 * 4.5)
    )
    assert metrics.spearman([1, 2, 3], [1, 4, 9]) == pytest.approx(1.0)


def test_rmse_and_linear_fit() -> None:
    assert metrics.rmse([0, 0, 0, 0], [1, 1, -1, -1]) == pytest.approx(1.0)
    assert metrics.rmse([0.5, 1.0], [0.0, 1.0]) == pytest.approx(math.sqrt(0.125))
    slope, intercept = metrics.linear_fit([0, 1, 2], [1, 3, 5])
    assert (slope, intercept) == (pytest.approx(2.0), pytest.approx(1.0))


def test_qwk_hand_computed() -> None:
    assert metrics.qwk([0, 0.5, 1], [0, 0.5, 1]) == pytest.approx(1.0)
    # Two levels 0/1 (as 0 and 1 of the five), truth 0,0,1,1 ; pred 0,1,1,1.
    # Five levels, weights (i-j)^2/16: only levels 0 and 4 are used, w = 1 between them.
    # observed off-diagonal: truth 0 -> pred 1 once => sum w*O = 1
    # expected: rows (2, 2), cols (1, 3), /4 -> E[0,4] = 2*3/4 = 1.5, E[4,0] = 2*1/4 = 0.5
    # kappa = 1 - 1 / 2 = 0.5
    assert metrics.qwk([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx(0.5)
    # Rounding to the nearest quarter: 0.1 -> 0, 0.4 -> 0.5, 0.9 -> 1
    assert list(metrics.quantize([0.1, 0.4, 0.9, 1.7])) == [0, 2, 4, 4]


def test_group_kfold_keeps_groups_together() -> None:
    groups = np.array(["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"] * 2)
    seen = []
    for train, test in metrics.group_kfold(groups, 3):
        assert not set(groups[train]) & set(groups[test])
        seen.extend(test.tolist())
    assert sorted(seen) == list(range(len(groups)))
    assert len(list(metrics.leave_one_group_out(groups))) == 4
