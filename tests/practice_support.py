"""Test helpers for practice mode: a deterministic stand-in scorer, and a driver that plays
Rasa's part (the form's slots and the routing actions) around the interview service."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from screening.assessment import AssessmentService
from screening.commands import MessageNlu, practice_payload
from screening.interview import InterviewService, Mode, Reply
from storage.db import Database


@dataclass(frozen=True)
class FakeKeyPoint:
    point: str
    covered: bool
    evidence: str | None


@dataclass(frozen=True)
class FakeScore:
    """Has what the scorer's AnswerScore offers the assessment and the feedback."""

    status: str
    score: float | None
    reason: str | None
    key_points: tuple[FakeKeyPoint, ...]
    summary: str
    needs_review: bool
    model_name: str = "fake-scorer"
    model_version: str = "1"
    scorer_version: str = "test"

    def explanation(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "score": self.score,
            "summary": self.summary,
            "reason": self.reason,
            "key_points_covered": [
                {"point": k.point, "evidence": k.evidence} for k in self.key_points if k.covered
            ],
            "key_points_missing": [{"point": k.point} for k in self.key_points if not k.covered],
        }


class FakeScorer:
    """A key point is covered when one of its words (4+ letters) is in the answer; the score
    is the share covered (0.6 without key points). Fewer than three words: insufficient."""

    calls = 0

    def score_batch(self, items: Sequence[Any], batch_size: int = 128) -> list[FakeScore]:
        FakeScorer.calls += len(items)
        return [self._one(item) for item in items]

    @staticmethod
    def _one(item: Any) -> FakeScore:
        answer = item.answer
        if len(re.findall(r"\w+", answer)) < 3:
            reason = "the answer is too short to assess (a single word)"
            return FakeScore("insufficient_data", None, reason, (), f"Not scored: {reason}", True)
        sentences = re.split(r"(?<=[.!?])\s+", answer)
        points = []
        for point in item.key_points:
            words = [w for w in re.findall(r"\w+", point.lower()) if len(w) >= 4]
            hit = next((s for s in sentences if any(w in s.lower() for w in words)), None)
            points.append(FakeKeyPoint(point, hit is not None, hit))
        covered = sum(p.covered for p in points)
        score = covered / len(points) if points else 0.6
        return FakeScore("scored", score, None, tuple(points), f"Score {score:.2f}", False)


def practice_service(db: Database, today: Any, scorer: Any = FakeScorer) -> InterviewService:
    assessment = AssessmentService(db, scorer=scorer)
    return InterviewService(
        db, today=today, on_answer=assessment.after_answer, assessment=assessment
    )


@dataclass
class Chat:
    """One sender's conversation, routed the way Rasa and actions/ route it: inside the form
    every message is a `turn`; outside it, the start/practice/route actions decide."""

    service: InterviewService
    sender: str
    slots: dict[str, Any] = field(default_factory=dict)
    requested: str | None = None  # None: the form is not active
    pending_delete: bool = False
    replies: list[Reply] = field(default_factory=list)  # of the last message

    # -- what the actions do --------------------------------------------------------------
    def practice(self, ref: str | None = None, text: str | None = None) -> list[str]:
        """`/practice [ref]` (or natural language `text`) outside the form."""
        if self.requested is not None:
            return self.send(text if text is not None else practice_payload(ref))
        message = text if text is not None else practice_payload(ref)
        result = self.service.start_practice(self.sender, ref, message)
        replies = list(result.replies)
        self.pending_delete = result.confirm_delete
        if result.slug is not None:
            self._start_form(result.slug, Mode.PRACTICE, result.resumed)
            replies += self._turn(None)
        return self._done(replies)

    def start(self, slug: str) -> list[str]:
        """`/start{"job_id": slug}` outside the form."""
        choice = self.service.choose_job(self.sender, slug)
        replies = list(choice.replies)
        if choice.slug is not None:
            resumed = self.service.resume(self.sender, choice.slug, Mode.APPLICATION)
            replies += resumed.replies
            self._start_form(choice.slug, Mode.APPLICATION, resumed.slug is not None)
            replies += self._turn(None)
        return self._done(replies)

    def send(self, text: str, intent: str | None = None, confidence: float = 0.0) -> list[str]:
        nlu = MessageNlu(intent, confidence)
        if self.requested is not None:
            return self._done(self._turn(text, nlu))
        if self.pending_delete:
            self.pending_delete = False
            answered = self.service.confirm_practice_delete(self.sender, text)
            if answered is not None:
                return self._done(answered)
        resumed = self.service.resume(self.sender, None)
        if resumed.slug is not None and resumed.mode is not None:
            self._start_form(resumed.slug, resumed.mode, True)
            return self._done([*resumed.replies, *self._turn(None)])
        return self._done(self.service.status_text(self.sender))

    def begin_practice(self, slug: str = "test-role", timing: str = "after each answer") -> None:
        self.practice(slug)
        self.send("yes")
        self.send("yes")
        self.send(timing)

    # -- Rasa's form ------------------------------------------------------------------------
    def _start_form(self, slug: str, mode: Mode, resumed: bool) -> None:
        self.slots = {"job_id": slug, "interview_mode": str(mode), "consent": resumed or None}
        self.requested = None

    def _turn(self, value: str | None, nlu: MessageNlu | None = None) -> list[Reply]:
        result = self.service.turn(
            self.sender,
            self.slots.get("job_id"),
            consent=self.slots.get("consent"),
            age_ok=self.slots.get("age_confirmed"),
            intro_shown=bool(self.slots.get("intro_shown")),
            slot=self.requested if value is not None else None,
            value=value,
            nlu=nlu or MessageNlu(),
            mode=self.slots.get("interview_mode"),
        )
        self.slots.update(result.slots)
        self.requested = result.next_slot
        if result.next_slot is None:  # the form ended: action_interview_ended
            self.slots = {}
        return result.replies

    def _done(self, replies: list[Reply]) -> list[str]:
        self.replies = replies
        return [r.text for r in replies]

    @property
    def in_form(self) -> bool:
        return self.requested is not None
