"""What the phone gateway may know about the open question, to steer speech recognition.

The recogniser does better when it knows the question ("Which databases have you used?") and
its vocabulary. Only the question's text, its key points and its options are handed out, and
only for the sender's own open application; `nlu.speech.hints.build_hints` turns them into a
prompt (the question) and hotwords (names and jargon only — never the key points' sentences,
so an unclear answer is not steered towards the expected one). The reference answer is never
handed out.
"""

from __future__ import annotations

from dataclasses import dataclass

from screening.interview import OPEN_STATUSES, definition_of
from storage.db import Database
from storage.repositories import ApplicationRepository, CandidateRepository


@dataclass(frozen=True)
class QuestionHint:
    question_id: str
    kind: str
    prompt: str
    key_points: tuple[str, ...]
    options: tuple[str, ...]
    # A free-text question that takes a résumé file (screening.documents), and its length cap.
    accepts_document: bool = False
    max_chars: int | None = None


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
        return QuestionHint(
            question.id,
            question.kind,
            question.prompt,
            tuple(getattr(question, "key_points", None) or ()),
            tuple(getattr(question, "options", None) or ()),
            bool(getattr(question, "accepts_document", False)),
            getattr(question, "max_chars", None),
        )
