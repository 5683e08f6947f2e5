"""Read models for people: an interview's answers as stored, for `parley interviews show`.

This is an employer-facing view, so practice runs are left out unless explicitly asked for
(`include_practice`): they belong to the candidate alone. A practice run's id is answered like
an unknown id, so the report does not even reveal that someone practised.

Every call is a read of candidates' data by an admin, so it writes one access-log entry per
candidate shown (who, what, when, why), in the same transaction as the read. An application
whose candidate opted out of AI scoring shows no AI score: it is marked as waiting for a
person, with the open human reviews. Erased candidates ("delete everything") are shown to no
one.
"""

from __future__ import annotations

from typing import Any

from privacy.audit import log_admin_read
from privacy.oversight import OPTED_OUT_NOTE, review_summary
from privacy.reviews import open_reviews
from screening.interview import Mode, definition_of
from storage.db import Database
from storage.models import Application, Candidate, Correction
from storage.repositories import ApplicationRepository, CandidateRepository, ScoreRepository


class NotFound(LookupError):
    pass


PURPOSE = "interviews show"


def interview_report(
    db: Database,
    ref: str,
    include_practice: bool = False,
    *,
    reason: str | None = None,
    actor: str | None = None,
) -> list[dict[str, Any]]:
    """Every application of a candidate (by candidate id or sender id), or one application;
    practice runs only with `include_practice`. Logged as an admin read (`actor`, default
    "admin:<OS user>"; `reason` is added to the logged purpose)."""

    def visible(app: Application) -> bool:
        return (include_practice or app.mode != Mode.PRACTICE) and app.candidate.erased_at is None

    with db.transaction() as s:
        apps: list[Application]
        app = ApplicationRepository(s).get(ref)
        if app is not None:
            apps = [app] if visible(app) else []
        else:
            candidate: Candidate | None = CandidateRepository(s).visible(ref)  # not erased
            found = ApplicationRepository(s).for_candidate(candidate.id) if candidate else []
            apps = [a for a in found if visible(a)]
            if candidate is not None and not found:
                return []  # a candidate without applications (as before practice mode)
        if not apps:
            raise NotFound(f"no candidate or application matches {ref!r}")
        shown: dict[str, list[str]] = {}
        for a in apps:
            shown.setdefault(a.candidate_id, []).append(a.id)
        for candidate_id, application_ids in shown.items():
            log_admin_read(
                s, candidate_id, application_ids, purpose=PURPOSE, reason=reason, actor=actor
            )
        return [_application(s, a) for a in apps]


def _application(s: Any, app: Application) -> dict[str, Any]:
    job = definition_of(app.job)
    prompts = {q.id: q.prompt for q in job.questions}
    answers = ApplicationRepository(s).answers(app.id)
    scores = ScoreRepository(s).current(app.id, {a.question_id: a for a in answers})
    overall = ScoreRepository(s).latest_overall(app.id)
    # A candidate who opted out of AI scoring is assessed by a person: no AI score is shown,
    # not even one from before the opt-out (it would still be the model's verdict).
    opted_out = app.mode == Mode.APPLICATION and app.candidate.ai_opt_out
    if opted_out:
        scores, overall = {}, None
    reviews = open_reviews(s, app.candidate_id, application_id=app.id)
    disputed = {
        c.target.removeprefix("ai_score:")
        for c in s.query(Correction).filter_by(application_id=app.id, status="sent_for_review")
    }

    def score_of(question_id: str) -> dict[str, Any] | None:
        row = scores.get(question_id)
        if row is None:
            return None
        return {
            "disputed": question_id in disputed,
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
        "ai_scoring": "opted_out" if opted_out else "on",
        "ai_scoring_note": OPTED_OUT_NOTE if opted_out else None,
        "human_reviews": review_summary(reviews),
        "overall_disputed": "overall" in disputed,
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
