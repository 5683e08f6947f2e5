"""Plain-language explanations of a score, for the candidate and the employer (GDPR art. 22).

Why a separate module: the wording is part of the product — it must say in one sentence what the
number means, quote the candidate's own words as evidence, list what was missing, and never
mention anything but the content of the answer.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_QUOTE = 90


def quote(text: str, limit: int = MAX_QUOTE) -> str:
    """`text` in typographic quotes, shortened with an ellipsis past `limit` characters."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"“{text}”"


def relevance_phrase(relevance: float) -> str:
    """How on-topic the answer is, in words (thresholds on the best cosine similarity)."""
    if relevance >= 0.5:
        return "clearly addresses the question"
    if relevance >= 0.3:
        return "addresses the question"
    return "is only loosely related to the question"


def scored_summary(
    score: float,
    covered: Sequence[str],
    missing: Sequence[str],
    relevance: float,
    question_only: bool,
) -> str:
    """One sentence: the score, how many key points are covered, what is missing."""
    total = len(covered) + len(missing)
    if question_only:
        basis = "there was no reference answer or key points, so the answer was compared with "
        basis += "the question only"
        return f"Score {score:.2f} of 1: {basis}, and it {relevance_phrase(relevance)}."
    head = (
        f"Score {score:.2f} of 1: the answer covers {len(covered)} of {total} key "
        f"point{'s' if total != 1 else ''} and {relevance_phrase(relevance)}"
    )
    if not missing:
        return head + "."
    shown = ", ".join(quote(m, 60) for m in missing[:2])
    more = f" and {len(missing) - 2} more" if len(missing) > 2 else ""
    return f"{head}; not covered: {shown}{more}."


def insufficient_summary(reason: str) -> str:
    """One sentence for an answer that was not scored."""
    return f"Not scored: {reason}; a person will review this answer."
