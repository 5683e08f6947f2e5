"""Answering "which jobs fit me?": the profile from a candidate's answers vs open jobs."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from nlu.matching import CandidateProfile, JobMatch, match, work_mode_of
from screening.interview import Mode, Reply, definition_of
from storage.db import Database
from storage.models import Answer, Application
from storage.repositories import CandidateRepository, JobRepository

TOP_N = 3


def profile_of(
    s: Any, candidate_id: str, *, application_id: str | None = None
) -> CandidateProfile:
    """Build a profile from every profile-tagged answer the candidate gave in real
    applications (newest wins). Practice answers are left out: a practice run is for trying
    answers out, not a statement to match jobs on — and not an application.

    `application_id` limits the profile to that one application's answers: what an employer
    may match on is what the candidate told *them*, never answers given to another
    organization."""
    profile = CandidateProfile()
    stmt = (
        select(Answer, Application)
        .join(Application, Answer.application_id == Application.id)
        .where(
            Application.candidate_id == candidate_id,
            Application.mode == Mode.APPLICATION,
            Answer.status == "answered",
        )
        .order_by(Answer.answered_at)
    )
    if application_id is not None:
        stmt = stmt.where(Application.id == application_id)
    rows = s.execute(stmt).all()
    for answer, app in rows:
        questions = {q.id: q for q in definition_of(app.job).questions}
        question = questions.get(answer.question_id)
        if question is None or question.profile is None:
            continue
        value = (answer.normalized or {}).get("value")
        text = answer.raw_text or ""
        if question.profile == "skills":
            profile.skills.append(str(value if question.kind == "choice" else text))
        elif question.profile == "years_experience" and isinstance(value, int | float):
            profile.years_experience = float(value)
        elif question.profile == "location":
            profile.location = str(value if question.kind == "choice" else text)
        elif question.profile == "work_mode":
            profile.work_mode = work_mode_of(str(value)) or profile.work_mode
        elif question.profile == "salary_expectation" and isinstance(value, int | float):
            profile.salary_expectation = float(value)
        elif question.profile == "availability" and isinstance(value, str):
            profile.availability = date.fromisoformat(value)
    return profile


class JobFitService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def matches(self, sender_id: str) -> tuple[CandidateProfile, list[JobMatch]]:
        with self.db.transaction() as s:
            candidate = CandidateRepository(s).by_sender(sender_id)
            profile = profile_of(s, candidate.id) if candidate else CandidateProfile()
            results = []
            for job in JobRepository(s).list_current():
                definition = definition_of(job)
                if definition.matching is not None:
                    results.append(match(profile, job.slug, job.title, definition.matching))
        results.sort(key=lambda m: (-m.score, m.title))
        return profile, results

    def replies(self, sender_id: str) -> list[Reply]:
        profile, results = self.matches(sender_id)
        if profile.is_empty():
            return [
                Reply(
                    "I don't know enough about you yet to match jobs. Take an interview (your "
                    "answers about skills, experience, where you'd like to work and salary are "
                    "used for matching), then ask me again. Send /jobs to see the open jobs."
                )
            ]
        if not results:
            return [Reply("No open job has matching information at the moment.")]
        lines = ["Based on what you've told me, these jobs fit you best:"]
        for m in results[:TOP_N]:
            lines.append(f"\n{m.title} — {m.score:.0%} match")
            lines.extend(f"  • {reason}" for reason in m.reasons())
        buttons = tuple((f"Apply: {m.title}", f'/start{{"job_id":"{m.job_id}"}}')
                        for m in results[:TOP_N])  # fmt: skip
        return [Reply("\n".join(lines), buttons)]
