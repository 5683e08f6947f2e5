"""Read models for people: an interview's answers as stored, for `parley interviews show`.

This is an employer-facing view, so practice runs are left out unless explicitly asked for
(`include_practice`): they belong to the candidate alone. A practice run's id is answered like
an unknown id, so the report does not even reveal that someone practised.
"""

from __future__ import annotations

from typing import Any

from screening.interview import Mode, definition_of
from storage.db import Database
from storage.models import Application, Candidate
from storage.repositories import ApplicationRepository, CandidateRepository, ScoreRepository


class NotFound(LookupError):
    pass


def interview_report(
    db: Database, ref: str, include_practice: bool = False
) -> list[dict[str, Any]]:
    """Every application of a candidate (by candidate id or sender id), or one application;
    practice runs only with `include_practice`."""

    def visible(app: Application) -> bool:
        return include_practice or app.mode != Mode.PRACTICE

    with db.transaction() as s:
        apps: list[Application]
        app = ApplicationRepository(s).get(ref)
        if app is not None:
            apps = [app] if visible(app) else []
        else:
            candidate: Candidate | None = CandidateRepository(s).by_ref(ref)
            found = ApplicationRepository(s).for_candidate(candidate.id) if candidate else []
            apps = [a for a in found if visible(a)]
            if candidate is not None and not found:
                return []  # a candidate without applications (as before practice mode)
        if not apps:
            raise NotFound(f"no candidate or application matches {ref!r}")
        return [_application(s, a) for a in apps]


def _application(s: Any, app: Application) -> dict[str, Any]:
    job = definition_of(app.job)
    prompts = {q.id: q.prompt for q in job.questions}
    answers = ApplicationRepository(s).answers(app.id)
    scores = ScoreRepository(s).current(app.id, {a.question_id: a for a in answers})
    overall = ScoreRepository(s).latest_overall(app.id)

    def score_of(question_id: str) -> dict[str, Any] | None:
        row = scores.get(question_id)
        if row is None:
            return None
        return {
            "status": row.status,
            "score": row.score,
            "needs_review": row.needs_review,
            "explanation": row.explanation,
            "model": f"{row.model_name}@{row.model_version}",
            "scorer_version": row.scorer_version,
        }

    return {
        "assessment": None
        if overall is None
        else {
            "overall": overall.overall,
            "knocked_out": overall.knocked_out,
            "complete": overall.complete,
            "needs_review": overall.breakdown.get("needs_review", []),
            "computed_at": overall.created_at.isoformat(),
        },
        "application_id": app.id,
        "candidate_id": app.candidate_id,
        "mode": app.mode,
        "practice_feedback": app.practice_feedback,
        "job": {"id": app.job.slug, "version": app.job.version, "title": app.job.title},
        "status": app.status,
        "current_question": app.current_index + 1,
        "questions": len(job.questions),
        "started_at": app.created_at.isoformat(),
        "finished_at": app.finished_at.isoformat() if app.finished_at else None,
        "answers": [
            {
                "question_id": a.question_id,
                "question": prompts.get(a.question_id, ""),
                "kind": a.question_kind,
                "status": a.status,
                "raw_text": a.raw_text,
                "value": (a.normalized or {}).get("value"),
                "display": (a.normalized or {}).get("display"),
                "knockout": a.knockout,
                "revision": a.revision,
                "channel": a.channel,
                "answered_at": a.answered_at.isoformat(),
                "ai_score": score_of(a.question_id),
            }
            for a in answers
        ],
    }
