"""Practice feedback wording (screening/practice.py): pure functions, no database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from screening.practice import (
    KNOCKOUT_NOTE,
    UNSCORED,
    QuestionOutcome,
    ScoreView,
    Timing,
    band,
    free_text_feedback,
    improvement_line,
    overall_line,
    parse_timing,
    points,
    question_line,
    run_summary,
    structured_feedback,
    tip,
)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (1.0, "strong"),
        (0.75, "strong"),
        (0.7499, "partly there"),
        (0.45, "partly there"),
        (0.4499, "needs work"),
        (0.0, "needs work"),
    ],
)
def test_band_thresholds(score: float, expected: str) -> None:
    assert band(score) == expected


def test_points_are_rounded_and_clipped() -> None:
    assert [points(x) for x in (0.0, 0.554, 0.555, 1.0, 1.2, -0.1)] == [0, 55, 56, 100, 100, 0]


def _key_point(point: str, covered: bool, evidence: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(point=point, covered=covered, evidence=evidence, similarity=0.5)


def _answer_score(**fields: object) -> SimpleNamespace:
    """Shaped like nlu.scoring.AnswerScore (only the fields feedback reads)."""
    base = {"status": "scored", "score": 0.6, "reason": None, "key_points": (), "summary": ""}
    return SimpleNamespace(**{**base, **fields})


def test_view_from_the_scorers_answer_score() -> None:
    result = _answer_score(
        score=0.5,
        key_points=(
            _key_point("Measures first", True, "First I measure the query time."),
            _key_point("Uses EXPLAIN ANALYZE", False),
            _key_point("Checks indexes", True, None),
        ),
    )
    view = ScoreView.from_answer_score(result)
    assert view.status == "scored" and view.score == 0.5
    assert view.covered == (
        ("Measures first", "First I measure the query time."),
        ("Checks indexes", None),
    )
    assert view.missing == ("Uses EXPLAIN ANALYZE",)
    assert ScoreView.from_answer_score(None) == UNSCORED


def test_view_from_a_stored_explanation_is_defensive() -> None:
    explanation = {
        "key_points_covered": [{"point": "team", "evidence": "I like my team."}, "junk", {}],
        "key_points_missing": [{"point": "growth"}, {"similarity": 0.2}],
        "reason": None,
    }
    view = ScoreView.from_stored("scored", 0.67, explanation)
    assert view.covered == (("team", "I like my team."),) and view.missing == ("growth",)
    assert ScoreView.from_stored("scored", 0.4, None) == ScoreView("scored", 0.4)
    odd = ScoreView.from_stored("insufficient_data", None, {"key_points_covered": "nope"})
    assert odd.covered == () and odd.reason is None


def test_feedback_for_a_scored_answer() -> None:
    view = ScoreView(
        "scored",
        0.5,
        covered=(("Measures first", "First I measure how long the query takes."),),
        missing=("Uses EXPLAIN ANALYZE", "Checks indexes"),
    )
    assert free_text_feedback(4, view) == (
        "Feedback on question 4: partly there (50/100).\n"
        "Covered:\n"
        "• Measures first — “First I measure how long the query takes.”\n"
        "Missing:\n"
        "• Uses EXPLAIN ANALYZE\n"
        "• Checks indexes\n"
        "Tip: Next time, also cover: Uses EXPLAIN ANALYZE."
    )


def test_long_evidence_is_shortened() -> None:
    view = ScoreView("scored", 0.9, covered=(("point", "word " * 100),))
    line = free_text_feedback(1, view).splitlines()[2]
    assert line.endswith("…”") and len(line) < 140


def test_feedback_when_every_key_point_is_covered() -> None:
    view = ScoreView("scored", 0.8, covered=(("a", None), ("b", "B.")))
    text = free_text_feedback(1, view)
    assert text.startswith("Feedback on question 1: strong (80/100).")
    assert "Missing" not in text and "• a\n" in text
    assert text.endswith("Tip: Keep it up — a concrete example from your own experience makes it "
                         "even stronger.")  # fmt: skip


def test_feedback_without_key_points() -> None:
    text = free_text_feedback(2, ScoreView("scored", 0.3))
    assert "needs work (30/100)" in text and "no model answer" in text
    assert "Tip: Next time, answer the question directly" in text


def test_insufficient_data_is_never_a_low_score() -> None:
    view = ScoreView("insufficient_data", None, reason="the answer is too short to assess")
    text = free_text_feedback(1, view)
    assert "needs work" not in text and "/100" not in text
    assert text == (
        "Feedback on question 1: I couldn't score this answer.\n"
        "Tip: The answer is too short to assess, so I couldn't score it — next time, answer in "
        "a few full sentences in your own words."
    )
    assert "full sentences" in (tip(ScoreView("insufficient_data")) or "")


def test_unscored_answer() -> None:
    assert "couldn't score this answer just now" in free_text_feedback(3, UNSCORED)
    assert tip(UNSCORED) is None


def test_structured_feedback_and_knockout_note() -> None:
    assert structured_feedback(2, "Yes", False) == "Question 2: answer accepted (Yes)."
    text = structured_feedback(2, "No", True)
    assert text.endswith(KNOCKOUT_NOTE) and "would end the screening" in text


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([], ""),
        (
            [0.72],
            "Attempt 1: 72/100 — your first practice run for this job. Practise again to see "
            "your progress.",
        ),
        ([0.40, 0.55], "Attempt 2: 55/100 — up from 40 in attempt 1."),
        ([0.40, 0.55, 0.72], "Attempt 3: 72/100 — up from 55 in attempt 2 (first attempt: 40)."),
        ([0.60, 0.50], "Attempt 2: 50/100 — down from 60 in attempt 1."),
        ([0.501, 0.499], "Attempt 2: 50/100 — the same as in attempt 1."),
        ([0.4, None, 0.7], "Attempt 3: 70/100 — up from 40 in attempt 1."),
        ([None, 0.5, 0.7], "Attempt 3: 70/100 — up from 50 in attempt 2."),
        ([None, 0.7], "Attempt 2: 70/100 — your earlier attempts had no overall score."),
        (
            [0.4, 0.6, None],
            "Attempt 3: no overall score this time. Your last score was 60/100 in attempt 2.",
        ),
        ([None], "Attempt 1: no overall score this time."),
    ],
)
def test_improvement_line(scores: list[float | None], expected: str) -> None:
    assert improvement_line(scores) == expected


def test_overall_line() -> None:
    assert overall_line(0.64) == "Overall: 64/100 (partly there)."
    assert overall_line(None).startswith("Overall: no score")


ITEMS = [
    QuestionOutcome(1, "Why this job?", "free_text", "answered", "…", False,
                    ScoreView("scored", 0.8, covered=(("team", "Team."),))),
    QuestionOutcome(2, "Right to work?", "yes_no", "answered", "No", True),
    QuestionOutcome(3, "Anything else?", "free_text", "skipped"),
    QuestionOutcome(4, "Tell us more?", "free_text", "answered", "x", False,
                    ScoreView("insufficient_data", reason="the answer is empty")),
]  # fmt: skip


def test_question_lines() -> None:
    assert [question_line(i) for i in ITEMS] == [
        "1. Why this job? — strong (80/100)",
        "2. Right to work? — No (would end a real screening)",
        "3. Anything else? — skipped",
        "4. Tell us more? — not scored (the answer is empty)",
    ]
    long_prompt = QuestionOutcome(1, "word " * 40, "date", "answered", "1 March")
    assert "…" in question_line(long_prompt)


def test_summary_each_vs_end() -> None:
    each = run_summary("Test Role", ITEMS, Timing.EACH, 0.8, [0.5, 0.8])
    assert len(each) == 1
    assert each[0].startswith("Practice run complete: Test Role. Your answers:")
    assert "would have ended the interview at that question" in each[0]
    assert each[0].endswith(
        "Overall: 80/100 (strong).\nAttempt 2: 80/100 — up from 50 in attempt 1."
    )
    end = run_summary("Test Role", ITEMS, "end", 0.8, [0.8])
    # Full feedback for each answered free-text question, then the summary.
    assert len(end) == 3
    assert end[0].startswith("Feedback on question 1: strong")
    assert end[1].startswith("Feedback on question 4: I couldn't score")
    assert end[2] == each[0].replace(
        "Attempt 2: 80/100 — up from 50 in attempt 1.",
        "Attempt 1: 80/100 — your first practice run for this job. Practise again to see your "
        "progress.",
    )


@pytest.mark.parametrize(
    ("text", "timing", "clear"),
    [
        ("after each answer", Timing.EACH, True),
        ("All at the end", Timing.END, True),
        ("end", Timing.END, True),
        ("at the end please", Timing.END, True),
        ("2", Timing.END, True),
        ("1", Timing.EACH, True),
        ("every time", Timing.EACH, True),
        ("whatever", Timing.EACH, False),
        ("", Timing.EACH, False),
    ],
)
def test_parse_timing(text: str, timing: Timing, clear: bool) -> None:
    assert parse_timing(text) == (timing, clear)
