"""Seeding for the scheduling tests: completed applications with scores, and interviewers.

A fixed clock keeps slot times predictable: `NOW` is Monday 2026-11-23 08:00 UTC, so with the
default rules (12 h notice) the first free slot of a Europe/Berlin interviewer working
09:00-17:00 is Tuesday 24 Nov 09:00 Berlin = 08:00 UTC.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from scheduling.interviewers import Interviewers, InterviewerSpec
from storage.db import Database
from storage.models import (
    Application,
    ApplicationScore,
    Candidate,
    ChannelIdentity,
    Job,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
JOB = "test-role"
ORG = "test-org"


class Clock:
    """A settable clock for services under test."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)


def seed_application(
    db: Database,
    sender: str | None = None,
    *,
    score: float | None = 0.8,
    status: str = "completed",
    knocked_out: bool = False,
    needs_review: list[str] | None = None,
    ai_opt_out: bool = False,
) -> tuple[str, str, str]:
    """A candidate with one completed application of the test job and an overall score.
    Returns (sender id, candidate id, application id)."""
    sender = sender or f"web:sched{secrets.token_hex(6)}"
    with db.transaction() as s:
        job = s.scalar(select(Job).where(Job.slug == JOB, Job.is_current))
        assert job is not None
        candidate = Candidate(name="Test Person", ai_opt_out=ai_opt_out)
        candidate.identities.append(
            ChannelIdentity(sender_id=sender, channel=sender.split(":")[0])
        )
        s.add(candidate)
        s.flush()
        app = Application(
            candidate_id=candidate.id, job_id=job.id, status=status, current_index=0,
            finished_at=NOW - timedelta(minutes=5),
        )
        s.add(app)
        s.flush()
        if score is not None:
            s.add(
                ApplicationScore(
                    application_id=app.id, overall=score, knocked_out=knocked_out,
                    complete=status == "completed",
                    breakdown={"questions": [], "needs_review": needs_review or []},
                    model_name="m", model_version="1", scorer_version="1",
                )
            )
        return sender, candidate.id, app.id


def add_interviewer(
    db: Database,
    slug: str = "anna",
    *,
    timezone: str = "Europe/Berlin",
    hours: str = "mon-fri 09:00-17:00",
    slot: int = 45,
    buffer: int = 15,
    notice: int = 720,
    horizon: int = 14,
    calendar_kind: str = "none",
    calendar_url: str | None = None,
    calendar_name: str | None = None,
    jobs: tuple[str, ...] = (),
    email: str | None = "anna@test-org.example",
) -> int:
    row = Interviewers(db).add(
        InterviewerSpec(
            slug=slug, organization=ORG, name=slug.capitalize() + " Interviewer",
            timezone=timezone, hours=hours, email=email, jobs=jobs, slot_minutes=slot,
            buffer_minutes=buffer, min_notice_minutes=notice, horizon_days=horizon,
            calendar_kind=calendar_kind, calendar_url=calendar_url,
            calendar_name=calendar_name,
        )
    )
    return row.id
