"""Read models for people: an interview's answers as stored, for `parley interviews show`."""

from __future__ import annotations

from typing import Any

from screening.interview import definition_of
from storage.db import Database
from storage.models import Application, Candidate
from storage.repositories import ApplicationRepository, CandidateRepository


class NotFound(LookupError):
    pass


def interview_report(db: Database, ref: str) -> list[dict[str, Any]]:
    """Every application of a candidate (by candidate id or sender id), or one application."""
    with db.transaction() as s:
        apps: list[Application]
        app = ApplicationRepository(s).get(ref)
        if app is not None:
            apps = [app]
        else:
            candidate: Candidate | None = CandidateRepository(s).by_ref(ref)
            if candidate is None:
                raise NotFound(f"no candidate or application matches {ref!r}")
            apps = ApplicationRepository(s).for_candidate(candidate.id)
        return [_application(s, a) for a in apps]


def _application(s: Any, app: Application) -> dict[str, Any]:
    job = definition_of(app.job)
    prompts = {q.id: q.prompt for q in job.questions}
    return {
        "application_id": app.id,
        "candidate_id": app.candidate_id,
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
            }
            for a in ApplicationRepository(s).answers(app.id)
        ],
    }
