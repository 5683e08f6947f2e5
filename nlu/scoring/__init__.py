"""Answer scoring: a calibrated, explained score for free-text screening answers (Scoring issue).

`get_scorer().score(ScoreInput(...))` returns an `AnswerScore`: a score in [0, 1] with the key
points covered and missing, relevance, feature contributions and a one-sentence summary, or
`insufficient_data` with a reason. Content only: nothing but the text is ever looked at.
"""

from nlu.scoring.scorer import (
    SCORER_VERSION,
    AnswerScore,
    KeyPointResult,
    ScoreInput,
    Scorer,
    get_scorer,
)

__all__ = ["SCORER_VERSION", "AnswerScore", "KeyPointResult", "ScoreInput", "Scorer", "get_scorer"]
