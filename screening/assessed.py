"""What the screening tool assesses for one job, in the candidate's words.

Why computed from the job definition: the candidate notice must say what *this* interview
assesses (NYC LL144 §20-871(b)(2): the job qualifications and characteristics the tool uses),
and a hand-written sentence per job would drift from the questions actually asked.
"""

from __future__ import annotations

from typing import Any

from screening.job_schema import is_scored


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def assessed_items(definition: Any) -> str:
    """E.g. "whether you meet 3 requirements (checked by fixed rules), and how well your 2
    written answers cover what the job asks for (scored by an AI model); 4 other answers
    are passed to the employer as you give them"."""
    questions = list(getattr(definition, "questions", []) or [])
    rules = sum(1 for q in questions if getattr(q, "has_knockout", False))
    scored = sum(1 for q in questions if is_scored(q))
    other = len(questions) - rules - scored
    parts: list[str] = []
    if rules:
        parts.append(
            f"whether you meet {_count(rules, 'requirement', 'requirements')} "
            "(checked by fixed rules)"
        )
    if scored:
        parts.append(
            f"how well your {_count(scored, 'written answer covers', 'written answers cover')} "
            "what the job asks for (scored by an AI model)"
        )
    text = ", and ".join(parts) if parts else "nothing automatically"
    if other:
        text += f"; {_count(other, 'other answer is', 'other answers are')} passed on as you give"
        text += " it" if other == 1 else " them"
    return text
