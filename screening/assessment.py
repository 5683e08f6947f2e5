"""Assessment: AI scores for free-text answers and the overall score of an application.

Scores are stored with the model name, model version and scorer version that produced them,
appended rather than overwritten, so a score that was once shown can always be reproduced and
`parley rescore` never destroys history. Structured questions (yes/no, number, choice, date)
are not scored: they only knock out; the overall score is the weight-averaged free-text score.
An answer the scorer cannot judge (status `insufficient_data`) is left out of the average and
flagged for a person — it never counts as a low score.

No AI processing happens for a candidate who objected to it: the real applications of a
candidate opted out of AI scoring (`candidates.ai_opt_out`) are not scored — their answers wait
for a person, and `score_pending` scores them if the candidate opts back in — and nothing of a
candidate who withdrew consent or was erased is scored at all. Practice runs of an opted-out
candidate are still scored: only the candidate sees them, and the feedback is their point.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select

from oversight.decision_log import record_score
from privacy.consent import processing_allowed
from screening.interview import Mode, Status, definition_of
from screening.job_schema import is_scored
from storage.db import Database
from storage.models import Answer, Application, ApplicationScore, Candidate, Job
from storage.models import AnswerScore as AnswerScoreRow
from storage.repositories import CandidateRepository, ScoreRepository

log = logging.getLogger(__name__)


class ScorerLike(Protocol):
    """What the assessment needs from nlu.scoring.Scorer (kept narrow for clarity)."""

    def score_batch(self, items: Any, batch_size: int = 128) -> list[Any]: ...


@dataclass(frozen=True)
class QuestionResult:
    question_id: str
    prompt: str
    weight: float
    status: str  # scored | insufficient_data | unanswered | skipped
    score: float | None
    summary: str
    needs_review: bool


def _scorer() -> ScorerLike:
    from nlu.scoring import get_scorer

    return get_scorer()


def ai_scoring_allowed(s: Any, app: Application) -> bool:
    """May the model score this application's answers? Not for a candidate who withdrew
    consent or was erased, and not for the real applications of one who opted out of AI
    scoring (a person reviews those answers instead)."""
    candidate = app.candidate or s.get(Candidate, app.candidate_id)
    if not processing_allowed(candidate):
        return False
    return not (candidate.ai_opt_out and app.mode == Mode.APPLICATION)


class AssessmentService:
    def __init__(self, db: Database, scorer: Callable[[], ScorerLike] = _scorer) -> None:
        self.db = db
        self._scorer = scorer

    # ---------------------------------------------------------------- scoring answers
    def score_answer(self, application_id: str, question_id: str) -> AnswerScoreRow | None:
        """Score the current revision of one free-text answer and refresh the overall score."""
        scored = self._score(application_id, [question_id])
        self.refresh_application(application_id)
        return scored[0][0] if scored else None

    def score_now(self, application_id: str, question_id: str) -> Any | None:
        """Score one free-text answer, store the score like any other, refresh the overall
        score, and return the scorer's own result (nlu.scoring.AnswerScore): practice feedback
        needs its key points and evidence right away, in the same turn."""
        scored = self._score(application_id, [question_id])
        self.refresh_application(application_id)
        return scored[0][1] if scored else None

    def after_answer(self, application_id: str, question_id: str) -> None:
        """Hook for the interview: score a new free-text answer; at the end of an interview
        (completed or knocked out) store the overall score so the shortlist is ready."""
        with self.db.transaction() as s:
            app = s.get(Application, application_id)
            if app is None or not ai_scoring_allowed(s, app):
                return  # opted out: the answer waits for a person
            scored = {q.id for q in definition_of(app.job).questions if is_scored(q)}
            finished = app.status in (Status.COMPLETED, Status.KNOCKED_OUT)
        if question_id in scored:
            self.score_answer(application_id, question_id)
        elif finished:
            self.refresh_application(application_id)

    def _score(
        self, application_id: str, question_ids: list[str] | None
    ) -> list[tuple[AnswerScoreRow, Any]]:
        """Score and store; returns each stored row with the scorer's result."""
        from nlu.scoring import ScoreInput

        with self.db.transaction() as s:
            app = s.get(Application, application_id)
            if app is None or not ai_scoring_allowed(s, app):
                return []
            job = definition_of(app.job)
            questions = {q.id: q for q in job.questions if is_scored(q)}
            answers = [
                a
                for a in s.scalars(select(Answer).where(Answer.application_id == application_id))
                if a.question_id in questions
                and a.status == "answered"
                and (question_ids is None or a.question_id in question_ids)
            ]
            items = [
                ScoreInput(
                    question=questions[a.question_id].prompt,
                    reference_answer=questions[a.question_id].reference_answer,
                    key_points=tuple(questions[a.question_id].key_points),
                    answer=a.raw_text or "",
                    transcript_confidence=a.transcript_confidence,
                )
                for a in answers
            ]
            snapshot = [(a.id, a.question_id, a.revision) for a in answers]
        if not items:
            return []
        results = self._scorer().score_batch(items)
        stored: list[tuple[AnswerScoreRow, Any]] = []
        with self.db.transaction() as s:
            for (answer_id, question_id, revision), result in zip(snapshot, results, strict=True):
                row = AnswerScoreRow(
                    answer_id=answer_id,
                    application_id=application_id,
                    question_id=question_id,
                    answer_revision=revision,
                    status=result.status,
                    score=result.score,
                    needs_review=result.needs_review,
                    explanation=result.explanation(),
                    model_name=result.model_name,
                    model_version=result.model_version,
                    scorer_version=result.scorer_version,
                )
                s.add(row)
                stored.append((row, result))
        return stored

    # ---------------------------------------------------------------- overall score
    def current_results(self, application_id: str) -> list[QuestionResult]:
        """Per free-text question: the newest score of the answer's current revision."""
        with self.db.transaction() as s:
            app = s.get(Application, application_id)
            if app is None:
                return []
            return self._results(s, app)

    @staticmethod
    def _results(s: Any, app: Application) -> list[QuestionResult]:
        job = definition_of(app.job)
        answers = {
            a.question_id: a
            for a in s.scalars(select(Answer).where(Answer.application_id == app.id))
        }
        scores = ScoreRepository(s).current(app.id, answers)
        results = []
        for q in job.questions:
            if not is_scored(q):
                continue
            answer, row = answers.get(q.id), scores.get(q.id)
            if answer is None or answer.status == "skipped":
                status = "skipped" if answer is not None else "unanswered"
                results.append(QuestionResult(q.id, q.prompt, q.weight, status, None, "", False))
            elif row is None:
                results.append(QuestionResult(q.id, q.prompt, q.weight, "unscored", None, "", True))
            else:
                summary = str(row.explanation.get("summary", ""))
                results.append(
                    QuestionResult(
                        q.id, q.prompt, q.weight, row.status, row.score, summary, row.needs_review
                    )
                )
        return results

    def refresh_application(self, application_id: str) -> ApplicationScore | None:
        """Store a new overall-score snapshot for the application (none while AI scoring is
        not allowed: an overall built from older scores would still be the model's verdict)."""
        with self.db.transaction() as s:
            app = s.get(Application, application_id)
            if app is None or not ai_scoring_allowed(s, app):
                return None
            results = self._results(s, app)
            scored = [r for r in results if r.status == "scored" and r.score is not None]
            total_weight = sum(r.weight for r in scored)
            knocked_out = app.status == Status.KNOCKED_OUT
            overall = (
                sum(r.weight * (r.score or 0.0) for r in scored) / total_weight
                if total_weight
                else None
            )
            latest = s.scalars(
                select(AnswerScoreRow)
                .where(AnswerScoreRow.application_id == app.id)
                .order_by(AnswerScoreRow.id.desc())
            ).first()
            snapshot = ApplicationScore(
                application_id=app.id,
                overall=0.0 if knocked_out else overall,
                knocked_out=knocked_out,
                complete=app.status == Status.COMPLETED,
                breakdown={
                    "method": "weighted mean of free-text answer scores; knockout → 0",
                    "questions": [r.__dict__ for r in results],
                    "needs_review": [r.question_id for r in results if r.needs_review],
                    "knocked_out_by": app.knocked_out_by,
                },
                model_name=latest.model_name if latest else "",
                model_version=latest.model_version if latest else "",
                scorer_version=latest.scorer_version if latest else "",
            )
            s.add(snapshot)
            record_score(s, app, snapshot)  # the decision log (oversight/decision_log.py)
            return snapshot

    # ---------------------------------------------------------------- rescoring
    def applications_for(self, ref: str, include_practice: bool = False) -> list[str]:
        """Application ids for a job slug (every version) or a single application id.

        Practice runs are left out unless asked for: they are the candidate's own, scored once
        for feedback, and never part of what an employer's job-level rescore works on.
        """
        modes = (Mode.APPLICATION, Mode.PRACTICE) if include_practice else (Mode.APPLICATION,)
        with self.db.transaction() as s:
            app = s.get(Application, ref)
            if app is not None:
                erased = app.candidate.erased_at is not None  # out of use: never rescored
                return [ref] if app.mode in modes and not erased else []
            return list(
                s.scalars(
                    select(Application.id)
                    .join(Job, Job.id == Application.job_id)
                    .join(Candidate, Candidate.id == Application.candidate_id)
                    .where(Job.slug == ref, Application.mode.in_([str(m) for m in modes]))
                    .where(CandidateRepository.in_use())
                    .order_by(Application.created_at)
                )
            )

    def score_pending(self, application_id: str) -> int:
        """Score the answers whose current revision has no score yet (those that waited for
        a person while the candidate was opted out), then refresh the overall score. Returns
        the answers scored."""
        with self.db.transaction() as s:
            app = s.get(Application, application_id)
            if app is None or not ai_scoring_allowed(s, app):
                return 0
            answers = {
                a.question_id: a
                for a in s.scalars(select(Answer).where(Answer.application_id == app.id))
            }
            scored = ScoreRepository(s).current(app.id, answers)
            pending = [qid for qid in answers if qid not in scored]
        rows = self._score(application_id, pending) if pending else []
        self.refresh_application(application_id)
        return len(rows)

    def rescore(self, application_id: str) -> int:
        """Score every free-text answer of the application again; returns answers scored."""
        rows = self._score(application_id, None)
        self.refresh_application(application_id)
        return len(rows)
