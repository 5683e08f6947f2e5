"""Practice-mode feedback: what a candidate is told about their practice answers.

Why a module of pure functions: the wording *is* the feature. It turns a score (fresh from the
scorer, or as stored) into plain sentences — a band instead of a bare number, the key points
covered with the candidate's own sentence as evidence, what was missing, one concrete tip —
and it must never show an "insufficient data" answer as a low score. Keeping it free of the
database and of Rasa makes every sentence cheap to test. The interview service decides *when*
feedback is given (after each answer, or all at the end); this module only decides *what*.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

STRONG = 0.75
PARTLY_THERE = 0.45
MAX_QUOTE = 120
MAX_PROMPT = 70

FULL_SENTENCES = "answer in a few full sentences in your own words"
KNOCKOUT_NOTE = (
    "In a real application this answer would end the screening. This is practice, so we carry on."
)


class Timing(StrEnum):
    """When a practice run gives feedback (stored in applications.practice_feedback)."""

    EACH = "each"
    END = "end"


TIMING_QUESTION = "Feedback after each answer, or all at the end?"
TIMING_BUTTONS: tuple[tuple[str, str], ...] = (
    ("After each answer", "after each answer"),
    ("All at the end", "all at the end"),
)
_END_WORDS = re.compile(r"\b(end|last|finish(ed)?|afterwards|all at once|later|2|two)\b", re.I)


def parse_timing(text: str) -> tuple[Timing, bool]:
    """The candidate's choice of feedback timing, and whether they clearly made one.

    "After each answer" is the default: anything that does not ask for the end gets it, so an
    unclear reply never traps the candidate in a loop before the first question.
    """
    if _END_WORDS.search(text or ""):
        return Timing.END, True
    clear = re.search(r"\b(each|every|after|now|immediately|as i go|1|one)\b", text or "", re.I)
    return Timing.EACH, clear is not None


def timing_confirmation(timing: Timing, clear: bool) -> str:
    if timing == Timing.END:
        return "OK — you'll get all the feedback at the end."
    if clear:
        return "OK — you'll get feedback after each answer."
    return "I'll give you feedback after each answer (the default)."


# ------------------------------------------------------------------------------ scores


def band(score: float) -> str:
    """A word for a score: what a candidate can act on, rather than a decimal."""
    if score >= STRONG:
        return "strong"
    if score >= PARTLY_THERE:
        return "partly there"
    return "needs work"


def points(score: float) -> int:
    """A score in [0, 1] as points out of 100."""
    return round(max(0.0, min(1.0, score)) * 100)


@dataclass(frozen=True)
class ScoreView:
    """What feedback needs from a score, whichever way it arrived.

    `status` is "scored", "insufficient_data" (the scorer's guard refused to score; `reason`
    says why) or "unscored" (no score could be computed, e.g. the model was unavailable).
    `covered` pairs each covered key point with the answer sentence that covers it.
    """

    status: str
    score: float | None = None
    covered: tuple[tuple[str, str | None], ...] = ()
    missing: tuple[str, ...] = ()
    reason: str | None = None

    @classmethod
    def from_answer_score(cls, result: Any) -> ScoreView:
        """From the scorer's AnswerScore (nlu.scoring): status, score, reason and key_points
        (each with point, covered and evidence)."""
        if result is None:
            return UNSCORED
        key_points = tuple(getattr(result, "key_points", ()) or ())
        return cls(
            status=str(result.status),
            score=result.score,
            covered=tuple((k.point, k.evidence) for k in key_points if k.covered),
            missing=tuple(k.point for k in key_points if not k.covered),
            reason=getattr(result, "reason", None),
        )

    @classmethod
    def from_stored(
        cls, status: str, score: float | None, explanation: Mapping[str, Any] | None
    ) -> ScoreView:
        """From an answer_scores row: its status and score columns and its explanation JSON.
        Read defensively: a row written by an older or newer scorer may lack some fields, and
        feedback then says less rather than failing."""
        doc = explanation if isinstance(explanation, Mapping) else {}

        def items(key: str) -> list[Mapping[str, Any]]:
            value = doc.get(key)
            return [x for x in value if isinstance(x, Mapping)] if isinstance(value, list) else []

        covered = tuple(
            (str(x["point"]), str(x["evidence"]) if x.get("evidence") else None)
            for x in items("key_points_covered")
            if x.get("point")
        )
        missing = tuple(str(x["point"]) for x in items("key_points_missing") if x.get("point"))
        reason = doc.get("reason")
        return cls(
            status=status,
            score=score,
            covered=covered,
            missing=missing,
            reason=str(reason) if reason else None,
        )


UNSCORED = ScoreView("unscored")


def quote(text: str, limit: int = MAX_QUOTE) -> str:
    """The candidate's own words, in quotes, shortened past `limit` characters."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"“{text}”"


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] if text else text


def tip(view: ScoreView) -> str | None:
    """One thing to do differently next time (None when there is nothing to say)."""
    if view.status == "insufficient_data":
        reason = _sentence(view.reason or "I couldn't assess this answer")
        return f"{reason}, so I couldn't score it — next time, {FULL_SENTENCES}."
    if view.status != "scored" or view.score is None:
        return None
    if view.missing:
        return f"Next time, also cover: {view.missing[0]}."
    if view.score >= STRONG:
        return "Keep it up — a concrete example from your own experience makes it even stronger."
    return "Next time, answer the question directly and add a concrete example from your own work."


def free_text_feedback(number: int, view: ScoreView) -> str:
    """Feedback on one free-text answer: band and score, covered key points with the sentence
    that covers each, missing key points, one tip."""
    head = f"Feedback on question {number}"
    if view.status == "insufficient_data":
        lines = [f"{head}: I couldn't score this answer."]
    elif view.status != "scored" or view.score is None:
        return (
            f"{head}: I couldn't score this answer just now (a problem on our side), so there's "
            "no feedback on it. Your answer is saved."
        )
    else:
        lines = [f"{head}: {band(view.score)} ({points(view.score)}/100)."]
        if view.covered:
            lines.append("Covered:")
            lines.extend(
                f"• {point} — {quote(evidence)}" if evidence else f"• {point}"
                for point, evidence in view.covered
            )
        if view.missing:
            lines.append("Missing:")
            lines.extend(f"• {point}" for point in view.missing)
        if not view.covered and not view.missing:
            lines.append(
                "This question has no model answer, so the score only shows how directly your "
                "answer addresses it."
            )
    advice = tip(view)
    if advice:
        lines.append(f"Tip: {advice}")
    return "\n".join(lines)


def structured_feedback(number: int, display: str, knockout: bool) -> str:
    """Short feedback on a yes/no, number, choice or date answer: accepted, and whether it
    would have ended a real screening."""
    text = f"Question {number}: answer accepted ({display})."
    return f"{text} {KNOCKOUT_NOTE}" if knockout else text


# ------------------------------------------------------------------------------ the run


@dataclass(frozen=True)
class QuestionOutcome:
    """One question of a finished practice run, for the summary."""

    number: int
    prompt: str
    kind: str
    status: str  # answered | skipped | unanswered
    display: str | None = None
    knockout: bool = False
    view: ScoreView | None = None  # free-text answers only


def _short(prompt: str) -> str:
    prompt = " ".join(prompt.split())
    return prompt if len(prompt) <= MAX_PROMPT else prompt[: MAX_PROMPT - 1].rstrip() + "…"


def question_line(item: QuestionOutcome) -> str:
    """One line per question in the end-of-run summary."""
    head = f"{item.number}. {_short(item.prompt)} —"
    if item.status != "answered":
        return f"{head} {item.status}"
    if item.kind == "note":  # a free-text question that is not scored (no rubric, profile)
        return f"{head} noted (not scored)"
    if item.kind != "free_text":
        line = f"{head} {item.display or 'answered'}"
        return f"{line} (would end a real screening)" if item.knockout else line
    view = item.view or UNSCORED
    if view.status == "scored" and view.score is not None:
        return f"{head} {band(view.score)} ({points(view.score)}/100)"
    if view.status == "insufficient_data":
        return f"{head} not scored ({view.reason or 'not enough to assess'})"
    return f"{head} not scored"


def overall_line(overall: float | None) -> str:
    if overall is None:
        return "Overall: no score — none of your written answers could be scored."
    return f"Overall: {points(overall)}/100 ({band(overall)})."


def improvement_line(scores: Sequence[float | None]) -> str:
    """Progress across attempts at one job's practice run; `scores` are the overall scores of
    the completed attempts in order, this one last (None: that attempt had no score).

    e.g. "Attempt 3: 72/100 — up from 55 in attempt 2 (first attempt: 40)."
    """
    if not scores:
        return ""
    n, current = len(scores), scores[-1]
    earlier = [(i + 1, points(s)) for i, s in enumerate(scores[:-1]) if s is not None]
    if current is None:
        line = f"Attempt {n}: no overall score this time."
        if earlier:
            line += f" Your last score was {earlier[-1][1]}/100 in attempt {earlier[-1][0]}."
        return line
    now = points(current)
    if n == 1:
        return (
            f"Attempt 1: {now}/100 — your first practice run for this job. Practise again to "
            "see your progress."
        )
    if not earlier:
        return f"Attempt {n}: {now}/100 — your earlier attempts had no overall score."
    attempt, before = earlier[-1]
    if now > before:
        change = f"up from {before} in attempt {attempt}"
    elif now < before:
        change = f"down from {before} in attempt {attempt}"
    else:
        change = f"the same as in attempt {attempt}"
    line = f"Attempt {n}: {now}/100 — {change}"
    first_attempt, first = earlier[0]
    if first_attempt == 1 and attempt != 1:
        line += f" (first attempt: {first})"
    return line + "."


def run_summary(
    title: str,
    items: Sequence[QuestionOutcome],
    timing: Timing | str,
    overall: float | None,
    attempts: Sequence[float | None],
) -> list[str]:
    """The messages that end a practice run.

    With timing "end", every written answer first gets its full feedback (one message each);
    then, in both timings, one summary: a line per question, the overall score (the weighted
    mean of the written answers, as for real applications) and the progress across attempts.
    """
    messages: list[str] = []
    if timing == Timing.END:
        messages.extend(
            free_text_feedback(item.number, item.view or UNSCORED)
            for item in items
            if item.kind == "free_text" and item.status == "answered"
        )
    lines = [f"Practice run complete: {title}. Your answers:"]
    lines.extend(question_line(item) for item in items)
    if any(item.knockout for item in items):
        lines.append(
            "In a real application, an answer marked “would end a real screening” would have "
            "ended the interview at that question."
        )
    lines.append(overall_line(overall))
    improvement = improvement_line(attempts)
    if improvement:
        lines.append(improvement)
    messages.append("\n".join(lines))
    return messages
