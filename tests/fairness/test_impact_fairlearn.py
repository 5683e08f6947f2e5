"""Cross-check the audit's rates and impact ratios against Fairlearn's MetricFrame.

Fairlearn is an independent implementation of per-group selection rates, so agreeing with it on
a seeded random population (with skewed groups, unknowns and a category under 2 %) shows our
counting and grouping are right, not only our hand-worked examples.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, count, selection_rate

from fairness.categories import DECLINED, RACE_ETHNICITY, SEX, UNKNOWN
from fairness.impact import AuditRecord, BiasAudit, Table, compute

# Race weights: native_hawaiian_pacific_islander is rare (≈ 0.6 % of the known) -> small.
_RACE_WEIGHTS = {
    "hispanic_latino": 18,
    "white": 40,
    "black": 16,
    "native_hawaiian_pacific_islander": 0.6,
    "asian": 14,
    "american_indian_alaska_native": 3,
    "two_or_more": 6,
    DECLINED: 4,
    UNKNOWN: 6,
}
_SEX_WEIGHTS = {"female": 46, "male": 48, DECLINED: 3, UNKNOWN: 3}
_SELECT_P = {"female": 0.30, "male": 0.42}


def _population(seed: int, size: int) -> list[AuditRecord]:
    rng = random.Random(seed)
    records = []
    for _ in range(size):
        sex = rng.choices(list(_SEX_WEIGHTS), weights=list(_SEX_WEIGHTS.values()))[0]
        race = rng.choices(list(_RACE_WEIGHTS), weights=list(_RACE_WEIGHTS.values()))[0]
        p = _SELECT_P.get(sex, 0.35) + (0.1 if race == "white" else 0.0)
        score = None if rng.random() < 0.1 else round(rng.random() * 0.7 + 0.3 * (p > 0.4), 2)
        records.append(AuditRecord(sex, race, rng.random() < p, score))
    return records


def _frame(records: list[AuditRecord]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sex": [r.sex if r.sex in SEX else UNKNOWN for r in records],
            "race": [r.race if r.race in RACE_ETHNICITY else UNKNOWN for r in records],
            "selected": [int(r.selected) for r in records],
            "score": [np.nan if r.score is None else r.score for r in records],
        }
    )


def _check(table: Table, frame: pd.DataFrame, outcome: pd.Series, columns: list[str]) -> None:
    """Compare one of our tables with MetricFrame on the rows known in its dimension."""
    known = (frame[columns] != UNKNOWN).all(axis=1)
    rows = frame[known]
    mf = MetricFrame(
        metrics={"rate": selection_rate, "n": count},
        y_true=outcome[known],
        y_pred=outcome[known],
        sensitive_features=rows[columns],
    )
    by_group = mf.by_group
    assert table.unknown == int((~known).sum())
    assert table.known == len(rows)
    share = by_group["n"] / by_group["n"].sum()
    # The reference is the highest rate among categories holding at least 2 % of the known.
    reference_rate = by_group["rate"][share >= 0.02].max()
    ours = {g.category: g for g in table.groups}
    seen = set()
    for key, row in by_group.iterrows():
        category = "|".join(key) if isinstance(key, tuple) else key
        seen.add(category)
        group = ours[category]
        assert group.count == int(row["n"])
        assert group.rate == pytest.approx(row["rate"])
        assert group.share == pytest.approx(share[key])
        assert group.small == bool(share[key] < 0.02)
        assert group.impact_ratio == pytest.approx(row["rate"] / reference_rate)
        assert group.below_four_fifths == bool(row["rate"] / reference_rate < 0.8)
    # Categories MetricFrame never saw are the ones with no data in ours.
    assert all(g.count == 0 and g.rate is None for c, g in ours.items() if c not in seen)


@pytest.mark.parametrize("seed", [7, 2024, 99991])
def test_selection_rates_and_ratios_match_metricframe(seed: int) -> None:
    records = _population(seed, 3000)
    audit: BiasAudit = compute(records)
    frame = _frame(records)
    outcome = frame["selected"]
    _check(audit.table("sex", "selection"), frame, outcome, ["sex"])
    _check(audit.table("race_ethnicity", "selection"), frame, outcome, ["race"])
    _check(audit.table("intersection", "selection"), frame, outcome, ["sex", "race"])
    # The population exercises the small-category path and the four-fifths flag.
    race = audit.table("race_ethnicity", "selection")
    assert any(g.small for g in race.groups)
    assert any(g.below_four_fifths for t in audit.tables for g in t.groups)


@pytest.mark.parametrize("seed", [7, 2024])
def test_scoring_rates_and_ratios_match_metricframe(seed: int) -> None:
    records = _population(seed, 3000)
    audit = compute(records)
    frame = _frame(records)
    scored = frame[frame["score"].notna()].reset_index(drop=True)
    median = float(np.median(scored["score"]))
    assert audit.median_score == pytest.approx(median)
    assert audit.scored_total == len(scored)
    outcome = (scored["score"] > median).astype(int)
    _check(audit.table("sex", "scoring"), scored, outcome, ["sex"])
    _check(audit.table("race_ethnicity", "scoring"), scored, outcome, ["race"])
    _check(audit.table("intersection", "scoring"), scored, outcome, ["sex", "race"])
