"""What the phone gateway may know about the open question, to steer speech recognition.

The recogniser does better when it knows the question ("Which databases have you used?") and
its vocabulary. Only the question's own text and, for free-text questions, the technical terms
of its key points are handed out — never the reference answer — and only for the sender's
own open application. Decision: key-point terms go in as *hotwords* (they make Whisper spell
"PostgreSQL" right); a candidate who did not say them is not credited with them, because
hotwords only bias spelling of what was heard (checked by the silence and off-topic tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from screening.interview import OPEN_STATUSES, definition_of
from storage.db import Database
from storage.repositories import ApplicationRepository, CandidateRepository

_TERM = re.compile(r"[A-Za-z][A-Za-z0-9+#.\-]{1,40}")
_COMMON_WORDS = (
    "the a an and or of to in on for with at by from as is are be been it this that "
    "your you their our how what which when why who whom have has had do does did can "
    "could would should will about into over under more most less least any some all "
    "describe explain tell example experience years year"
)
_COMMON = frozenset(_COMMON_WORDS.split())


@dataclass(frozen=True)
class QuestionHint:
    question_id: str
    kind: str
    prompt: str
    terms: tuple[str, ...]


def _terms(texts: list[str], limit: int = 24) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for text in texts:
        for word in _TERM.findall(text):
            key = word.lower().strip(".-")
            if key in _COMMON or len(key) < 3 or key in seen:
                continue
            # Names and jargon (capitals, digits, symbols) help most; plain words rarely do.
            if word[0].isupper() or any(c.isdigit() or c in "+#." for c in word[1:]):
                seen[key] = word.strip(".")
    return tuple(list(seen.values())[:limit])


def current_question(db: Database, sender_id: str) -> QuestionHint | None:
    """The question the sender's latest open application waits for, or None."""
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None:
            return None
        apps = ApplicationRepository(s).for_candidate(candidate.id, None, OPEN_STATUSES)
        if not apps:
            return None
        app = apps[0]
        job = definition_of(app.job)
        if not 0 <= app.current_index < len(job.questions):
            return None
        question = job.questions[app.current_index]
        texts = [question.prompt, *getattr(question, "key_points", [])]
        texts += list(getattr(question, "options", []) or [])
        return QuestionHint(question.id, question.kind, question.prompt, _terms(texts))
