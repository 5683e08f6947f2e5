"""One application's answers as a person at the employer reads them ("View answers").

Why a module of its own: the shortlist shows one line per question; this is the full
record a recruiter decides on — every answer (a spoken answer as its transcript, said so),
each AI score with the explanation behind it (summary, reason, key points covered and
missing), what was flagged for a person, open reviews, the employer's stage and the history
of decisions. It follows the shortlist's visibility rule exactly (`visible_application`),
writes one access-log entry in the same transaction, and shows no AI score at all for a
candidate who opted out of AI scoring. Recordings are never served here: only whether the
candidate allows employers to hear them (`recordings_allowed`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from employers.shortlist import (
    NotVisible,
    bookings_of,
    current_answer_scores,
    iso,
    open_review_reasons,
    pct,
    visible_application,
)
from privacy.audit import log_employer_read
from privacy.preferences import employer_may_hear_recordings, employer_may_see_profile
from screening.interview import Status, definition_of
from screening.job_schema import assessed_kind, is_scored
from storage.db import Database
from storage.models import (
    Answer,
    AnswerScore,
    ApplicationReview,
    ApplicationScore,
    Candidate,
    EmployerDecision,
)

__all__ = ["NotVisible", "answer_view"]

SPOKEN_CHANNELS = ("voice",)


def _points(items: object) -> list[str]:
    """Key points from an explanation: their names only (similarities are for auditors)."""
    if not isinstance(items, list):
        return []
    found = []
    for item in items:
        point = item.get("point") if isinstance(item, dict) else item
        if isinstance(point, str) and point:
            found.append(point)
    return found


def answer_view(
    db: Database, organization_id: int, application_id: str, *, actor: str
) -> dict[str, Any]:
    """Everything the "view answers" modal shows for one application of the organization.
    Raises NotVisible for anything the organization may not see (same message for all)."""
    with db.transaction() as s:
        app = visible_application(s, organization_id, application_id)
        candidate = s.get(Candidate, app.candidate_id)
        assert candidate is not None
        job = definition_of(app.job)
        opted_out = bool(candidate.ai_opt_out)
        review_row = s.get(ApplicationReview, app.id)
        overall = s.scalar(
            select(ApplicationScore.overall)
            .where(ApplicationScore.application_id == app.id)
            .order_by(ApplicationScore.id.desc())
            .limit(1)
        )
        ai_score = None if opted_out else pct(overall)
        override = pct(review_row.override_score) if review_row is not None else None
        answers = {
            a.question_id: a
            for a in s.scalars(select(Answer).where(Answer.application_id == app.id))
        }
        current = {} if opted_out else current_answer_scores(s, [app.id]).get(app.id, {})
        explanations = {
            r.id: r.explanation or {}
            for r in s.scalars(
                select(AnswerScore).where(AnswerScore.id.in_([v[0] for v in current.values()]))
            )
        }
        questions = []
        for q in job.questions:
            a = answers.get(q.id)
            spoken = a is not None and a.channel in SPOKEN_CHANNELS
            entry: dict[str, Any] = {
                "question_id": q.id,
                "prompt": q.prompt,
                "kind": assessed_kind(q),
                "answered": a is not None and a.status == "answered",
                "answer": None,
                "answer_source": None,
                "knockout": bool(a.knockout) if a is not None else False,
                "scored": is_scored(q),
                "score": None,
                "status": None,
                "summary": None,
                "reason": None,
                "key_points_covered": [],
                "key_points_missing": [],
                "needs_review": False,
                "insufficient_data": False,
            }
            if a is not None and a.status == "answered":
                display = (a.normalized or {}).get("display")
                structured = q.kind != "free_text"
                entry["answer"] = str(display) if structured and display else a.raw_text
                entry["answer_source"] = "transcript" if spoken else "text"
            elif a is not None:
                entry["status"] = a.status  # skipped
            if is_scored(q) and a is not None and a.status == "answered":
                if opted_out:
                    entry["status"] = "awaiting_person"
                elif q.id in current:
                    row_id, status, score, review = current[q.id]
                    why = explanations.get(row_id, {})
                    entry.update(
                        status=status,
                        score=pct(score) if status == "scored" else None,
                        summary=why.get("summary") or None,
                        reason=why.get("reason") or None,
                        key_points_covered=_points(why.get("key_points_covered")),
                        key_points_missing=_points(why.get("key_points_missing")),
                        needs_review=review,
                        insufficient_data=status == "insufficient_data",
                    )
                else:
                    entry["status"] = "unscored"
            questions.append(entry)
        reasons = open_review_reasons(s, [app.candidate_id])
        decisions = [
            {
                "kind": d.kind,
                "actor": d.actor,
                "created_at": iso(d.created_at),
                "reason": d.reason,
                "old_score": pct(d.old_score),
                "new_score": pct(d.new_score),
            }
            for d in s.scalars(
                select(EmployerDecision)
                .where(EmployerDecision.application_id == app.id)
                .order_by(EmployerDecision.created_at, EmployerDecision.id)
            )
        ]
        view = {
            "application_id": app.id,
            "ref": app.id[:8],
            "job_slug": app.job.slug,
            "job_title": app.job.title,
            "org_name": app.job.organization.name,
            "name": candidate.name
            if employer_may_see_profile(s, candidate, organization_id)
            else None,
            "score": override if override is not None else ai_score,
            "ai_score": ai_score,
            "override_score": override,
            "override_by": review_row.override_by if override is not None else None,
            "ai_opt_out": opted_out,
            "interview_status": app.status,
            "knocked_out": app.status == Status.KNOCKED_OUT,
            "knocked_out_by": app.knocked_out_by,
            "finished_at": iso(app.finished_at),
            "stage": review_row.stage if review_row is not None else "new",
            "questions": questions,
            "insufficient_data": any(q["insufficient_data"] for q in questions),
            "needs_review": any(q["needs_review"] for q in questions),
            "open_reviews": reasons.get((app.candidate_id, app.id), [])
            + reasons.get((app.candidate_id, None), []),
            "decisions": decisions,
            "booking": bookings_of(s, [app.id]).get(app.id),
            "recordings_allowed": employer_may_hear_recordings(candidate),
        }
        log_employer_read(
            s,
            app,
            actor=actor,
            purpose=f"answers {app.job.slug}",
            action="viewed your answers",
        )
        return view
