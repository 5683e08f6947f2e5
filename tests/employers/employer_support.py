"""Seeding for the employer tests: organizations with Slack members, and applications with
realistic AI scores (AnswerScore rows with summaries, reasons and key points; the overall
ApplicationScore with the breakdown that screening/assessment.py writes).

Everything is inserted with the ORM directly (no employers/ code), so the employer modules
can be tested against data shaped like production without depending on each other. Scores
are 0..1 as stored; people see 0–100.

The fixture job is `test-role` of `test-org` (tests/fixtures/jobs/test-role.yaml). For
"another organization" tests, `make_other_org_job` adds `other-org` with a copy of that job.
"""

from __future__ import annotations

import copy
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from storage.db import Database
from storage.models import (
    Answer,
    AnswerScore,
    Application,
    ApplicationReview,
    ApplicationScore,
    Booking,
    Candidate,
    ChannelIdentity,
    HumanReview,
    Interviewer,
    Job,
    Organization,
    OrgMember,
    OrgWorkspace,
)

JOB = "test-role"
ORG = "test-org"
OTHER_ORG = "other-org"
OTHER_JOB = "other-role"
RICH_JOB = "rich-role"
TEAM = "T0TESTORG"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

# Answers of the fixture job that a candidate who passes every knockout would give.
_STRUCTURED = {
    "right_to_work": ("yes", True, "Yes"),
    "years": ("3", 3, "3 years"),
    "shift": ("Morning", "Morning", "Morning"),
    "start_date": ("1 December 2026", "2026-12-01", "1 Dec 2026"),
}
_FREE_TEXT = {
    "motivation": "I enjoy this kind of work, I like working in a team and I want to grow.",
    "teamwork": "A colleague was swamped, so I took over two of her orders; we finished on time.",
    "customer": "I listen first, say sorry, and then fix what went wrong.",
    "anything_else": "I am available for an interview any weekday morning.",
}
_KEY_POINTS = {
    "motivation": ["enjoys the work", "team", "growth"],
    "teamwork": ["noticed the need", "acted", "result"],
    "customer": ["listen", "apologise", "fix"],
}


def organization_id(db: Database, slug: str = ORG) -> int:
    with db.transaction() as s:
        org_id = s.scalar(select(Organization.id).where(Organization.slug == slug))
        assert org_id is not None, f"no organization {slug}"
        return org_id


def make_org_member(
    db: Database,
    org_slug: str,
    team_id: str,
    user_id: str,
    role: str,
    *,
    channel: str | None = None,
) -> int:
    """Link the Slack workspace `team_id` to the organization (once) and add `user_id` with
    `role` (viewer | recruiter | admin). Returns the organization id."""
    with db.transaction() as s:
        org = s.scalar(select(Organization).where(Organization.slug == org_slug))
        assert org is not None, f"no organization {org_slug}"
        ws = s.scalar(select(OrgWorkspace).where(OrgWorkspace.slack_team_id == team_id))
        if ws is None:
            s.add(
                OrgWorkspace(organization_id=org.id, slack_team_id=team_id, notify_channel=channel)
            )
        elif channel is not None:
            ws.notify_channel = channel
        member = s.scalar(
            select(OrgMember).where(
                OrgMember.slack_team_id == team_id, OrgMember.slack_user_id == user_id
            )
        )
        if member is None:
            s.add(
                OrgMember(
                    organization_id=org.id,
                    slack_team_id=team_id,
                    slack_user_id=user_id,
                    role=role,
                    added_by="test",
                )
            )
        else:
            member.role = role
        return org.id


def make_other_org_job(
    db: Database,
    org_slug: str = OTHER_ORG,
    job_slug: str = OTHER_JOB,
    *,
    title: str = "Other Role",
) -> int:
    """Another organization with a copy of the fixture job (idempotent). Returns its id."""
    with db.transaction() as s:
        org = s.scalar(select(Organization).where(Organization.slug == org_slug))
        if org is None:
            org = Organization(slug=org_slug, name=f"{org_slug.title()} Inc")
            s.add(org)
            s.flush()
        if s.scalar(select(Job.id).where(Job.slug == job_slug)) is None:
            base = s.scalar(select(Job).where(Job.slug == JOB, Job.is_current))
            assert base is not None
            definition = copy.deepcopy(base.definition)
            definition["id"] = job_slug
            definition["title"] = title
            if isinstance(definition.get("organization"), dict):
                definition["organization"] = {
                    **definition["organization"],
                    "id": org_slug,
                    "name": org.name,
                }
            s.add(
                Job(
                    organization_id=org.id,
                    slug=job_slug,
                    version=1,
                    is_current=True,
                    content_hash=secrets.token_hex(16),
                    title=title,
                    location="Elsewhere",
                    definition=definition,
                )
            )
        return org.id


def new_job_version(db: Database, job_slug: str = JOB) -> int:
    """A second version of a job (as editing the job file does); returns the new job id."""
    with db.transaction() as s:
        base = s.scalar(select(Job).where(Job.slug == job_slug).order_by(Job.version.desc()))
        assert base is not None
        base.is_current = False
        job = Job(
            organization_id=base.organization_id,
            slug=job_slug,
            version=base.version + 1,
            is_current=True,
            content_hash=secrets.token_hex(16),
            title=base.title,
            location=base.location,
            definition=copy.deepcopy(base.definition),
        )
        s.add(job)
        s.flush()
        return job.id


def explanation(
    score: float | None, question_id: str = "motivation", *, needs_review: bool = False
) -> dict[str, Any]:
    """An explanation shaped like nlu.scoring's `AnswerScore.explanation()`."""
    points = _KEY_POINTS.get(question_id, [])
    if score is None:
        return {
            "status": "insufficient_data",
            "score": None,
            "summary": "Too short to judge: a person should read it.",
            "reason": "The answer has too few words to compare with the reference.",
            "reason_code": "too_short",
            "needs_review": True,
            "relevance": 0.1,
            "key_points_covered": [],
            "key_points_missing": [{"point": p, "similarity": 0.1} for p in points],
            "baseline_score": 0.5,
            "factors": [],
        }
    covered_n = round(score * len(points))
    return {
        "status": "scored",
        "score": round(score, 4),
        "summary": f"Covers {covered_n} of {len(points)} key points.",
        "reason": "Relevant answer; compared with the reference answer.",
        "reason_code": "scored",
        "needs_review": needs_review,
        "relevance": 0.8,
        "key_points_covered": [
            {
                "point": p,
                "similarity": 0.8,
                "coverage": 0.9,
                "term_recall": 0.7,
                "evidence": f"…{p}…",
            }
            for p in points[:covered_n]
        ],
        "key_points_missing": [
            {"point": p, "similarity": 0.2, "coverage": 0.1, "term_recall": 0.0}
            for p in points[covered_n:]
        ],
        "baseline_score": 0.5,
        "factors": [],
    }


def make_application(
    db: Database,
    job_slug: str = JOB,
    *,
    score: float | None,
    status: str = "completed",
    mode: str = "application",
    name: str | None = None,
    sender: str | None = None,
    knocked_out: bool = False,
    ai_opt_out: bool = False,
    questions: dict[str, Any] | None = None,
    finished_at: datetime | None = None,
    channel: str = "web",
    erased: bool = False,
    consent_withdrawn: bool = False,
    job_version: int | None = None,
) -> str:
    """A candidate (sender `web:<random>` unless given) with one application of `job_slug`.
    Returns the application id.

    Answers: every question of the job is answered (structured ones with passing answers,
    free text with sensible text); only scored free-text questions (a rubric, like
    `FreeTextQuestion.scored`: `motivation` in the fixture job; `make_rich_job` has three)
    get AnswerScore rows. `questions` overrides per scored free-text question:
    a float (0..1) is its AI score, None marks it `insufficient_data` (flagged), a dict may
    give `text`, `score`, `status`, `needs_review`, `channel`. Without `questions` each
    free-text answer is scored `score`. `score` is the overall (ApplicationScore.overall):
    None stores no overall (not scored yet / opted out). `knocked_out=True` makes the
    status `knocked_out` (by `right_to_work`, answered "no") with overall 0.
    """
    sender = sender or f"web:emp{secrets.token_hex(6)}"
    finished = finished_at or (NOW - timedelta(minutes=5))
    if knocked_out and status == "completed":
        status = "knocked_out"
    done = status in ("completed", "knocked_out")
    with db.transaction() as s:
        stmt = select(Job).where(Job.slug == job_slug)
        stmt = (
            stmt.where(Job.version == job_version)
            if job_version is not None
            else stmt.where(Job.is_current)
        )
        job = s.scalar(stmt)
        assert job is not None, f"no job {job_slug}"
        candidate = Candidate(name=name, ai_opt_out=ai_opt_out)
        if erased:
            candidate.erased_at = NOW
        if consent_withdrawn:
            candidate.consent_withdrawn_at = NOW
        candidate.identities.append(ChannelIdentity(sender_id=sender, channel=sender.split(":")[0]))
        s.add(candidate)
        s.flush()
        app = Application(
            candidate_id=candidate.id,
            job_id=job.id,
            status=status,
            mode=mode,
            current_index=0,
            finished_at=finished if done else None,
            knocked_out_by="right_to_work" if knocked_out else None,
        )
        s.add(app)
        s.flush()
        specs = _question_specs(score, questions)
        results = []
        for q in job.definition.get("questions", []):
            qid, kind = q["id"], q["kind"]
            if kind == "free_text" and _scored(q):
                spec = specs.get(qid, {"score": score} if score is not None else {})
                text = spec.get("text", _FREE_TEXT.get(qid, "An answer."))
                answer = Answer(
                    application_id=app.id,
                    question_id=qid,
                    question_kind=kind,
                    status="answered",
                    raw_text=text,
                    normalized={"value": text, "display": text},
                    channel=spec.get("channel", channel),
                    transcript_ref="transcripts/x.txt"
                    if spec.get("channel", channel) == "voice"
                    else None,
                )
                s.add(answer)
                s.flush()
                if ai_opt_out and mode == "application":
                    continue  # a person reviews these answers: no AI score
                q_score = spec.get("score")
                q_status = spec.get("status", "insufficient_data" if q_score is None else "scored")
                if "score" not in spec and score is None:
                    continue  # not scored yet
                review = bool(spec.get("needs_review", q_status == "insufficient_data"))
                s.add(
                    AnswerScore(
                        answer_id=answer.id,
                        application_id=app.id,
                        question_id=qid,
                        answer_revision=1,
                        status=q_status,
                        score=q_score if q_status == "scored" else None,
                        needs_review=review,
                        explanation=explanation(
                            q_score if q_status == "scored" else None, qid, needs_review=review
                        ),
                        model_name="test-model",
                        model_version="1",
                        scorer_version="1",
                    )
                )
                results.append(
                    {
                        "question_id": qid,
                        "prompt": q.get("prompt", ""),
                        "weight": q.get("weight", 1),
                        "status": q_status,
                        "score": q_score if q_status == "scored" else None,
                        "summary": explanation(q_score, qid)["summary"],
                        "needs_review": review,
                    }
                )
            else:
                text = _FREE_TEXT.get(qid, "ok")
                raw, value, display = _STRUCTURED.get(qid, (text, text, text))
                ko = knocked_out and qid == "right_to_work"
                if ko:
                    raw, value, display = "no", False, "No"
                s.add(
                    Answer(
                        application_id=app.id,
                        question_id=qid,
                        question_kind=kind,
                        status="answered",
                        raw_text=raw,
                        normalized={"value": value, "display": display},
                        knockout=ko,
                        channel=channel,
                    )
                )
        if (score is not None or knocked_out) and not (ai_opt_out and mode == "application"):
            s.add(
                ApplicationScore(
                    application_id=app.id,
                    overall=0.0 if knocked_out else score,
                    knocked_out=knocked_out,
                    complete=status == "completed",
                    breakdown={
                        "method": "weighted mean of free-text answer scores; knockout → 0",
                        "questions": results,
                        "needs_review": [r["question_id"] for r in results if r["needs_review"]],
                        "knocked_out_by": app.knocked_out_by,
                    },
                    model_name="test-model",
                    model_version="1",
                    scorer_version="1",
                )
            )
        return app.id


def _scored(question: dict[str, Any]) -> bool:
    """Mirrors FreeTextQuestion.scored: a rubric (reference answer or key points), no profile."""
    return question.get("profile") is None and bool(
        str(question.get("reference_answer") or "").strip() or question.get("key_points")
    )


def make_rich_job(db: Database, job_slug: str = RICH_JOB, org_slug: str = ORG) -> int:
    """A job of `org_slug` with three scored free-text questions (the fixture job has one):
    `motivation`, `teamwork` and `customer`. Idempotent; returns the job id."""
    with db.transaction() as s:
        existing = s.scalar(select(Job.id).where(Job.slug == job_slug, Job.is_current))
        if existing is not None:
            return existing
        org = s.scalar(select(Organization).where(Organization.slug == org_slug))
        base = s.scalar(select(Job).where(Job.slug == JOB, Job.is_current))
        assert org is not None and base is not None
        definition = copy.deepcopy(base.definition)
        definition["id"] = job_slug
        definition["title"] = "Rich Role"
        extra = [
            {
                "id": "teamwork",
                "kind": "free_text",
                "prompt": "Tell us about a time you helped a colleague.",
                "reference_answer": "I noticed a colleague was overloaded and took some tasks.",
                "key_points": ["noticed the need", "acted", "result"],
                "weight": 1,
            },
            {
                "id": "customer",
                "kind": "free_text",
                "prompt": "How do you handle an unhappy customer?",
                "reference_answer": "I listen, apologise, and fix the problem quickly.",
                "key_points": ["listen", "apologise", "fix"],
                "weight": 1,
            },
        ]
        definition["questions"] = [*definition["questions"], *extra]
        job = Job(
            organization_id=org.id,
            slug=job_slug,
            version=1,
            is_current=True,
            content_hash=secrets.token_hex(16),
            title="Rich Role",
            location="Testville",
            definition=definition,
        )
        s.add(job)
        s.flush()
        return job.id


def _question_specs(
    score: float | None, questions: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for qid, spec in (questions or {}).items():
        if isinstance(spec, dict):
            specs[qid] = dict(spec)
        else:
            specs[qid] = {"score": spec}
    return specs


def make_applications(
    db: Database,
    n: int,
    job_slug: str = JOB,
    *,
    start: float = 0.2,
    step: float = 0.0007,
) -> list[str]:
    """`n` completed applications with overall scores start, start+step, … (no answers): the
    bulk seed for volume checks, in one transaction."""
    ids: list[str] = []
    with db.transaction() as s:
        job = s.scalar(select(Job).where(Job.slug == job_slug, Job.is_current))
        assert job is not None
        for i in range(n):
            candidate = Candidate(name=f"Person {i}")
            candidate.identities.append(
                ChannelIdentity(sender_id=f"web:bulk{secrets.token_hex(8)}", channel="web")
            )
            s.add(candidate)
            s.flush()
            app = Application(
                candidate_id=candidate.id,
                job_id=job.id,
                status="completed",
                current_index=0,
                finished_at=NOW - timedelta(minutes=n - i),
            )
            s.add(app)
            s.flush()
            s.add(
                ApplicationScore(
                    application_id=app.id,
                    overall=min(1.0, start + step * i),
                    knocked_out=False,
                    complete=True,
                    breakdown={"questions": [], "needs_review": []},
                    model_name="test-model",
                    model_version="1",
                    scorer_version="1",
                )
            )
            ids.append(app.id)
    return ids


def add_score(db: Database, application_id: str, overall: float | None) -> None:
    """A newer overall-score snapshot (a rescore): the newest one counts."""
    with db.transaction() as s:
        s.add(
            ApplicationScore(
                application_id=application_id,
                overall=overall,
                knocked_out=False,
                complete=True,
                breakdown={"questions": [], "needs_review": []},
                model_name="test-model",
                model_version="2",
                scorer_version="1",
            )
        )


def open_human_review(
    db: Database,
    application_id: str,
    reason: str = "decision_review",
    statement: str | None = None,
) -> int:
    """An open HumanReview for the application; returns its id."""
    with db.transaction() as s:
        app = s.get(Application, application_id)
        assert app is not None
        row = HumanReview(
            candidate_id=app.candidate_id,
            application_id=application_id,
            reason=reason,
            statement=statement,
            status="open",
        )
        s.add(row)
        s.flush()
        return row.id


def set_review(
    db: Database,
    application_id: str,
    *,
    stage: str = "new",
    override_score: float | None = None,
    override_by: str | None = None,
) -> None:
    """The employer's standing on an application (ApplicationReview), as a decision sets."""
    with db.transaction() as s:
        row = s.get(ApplicationReview, application_id)
        if row is None:
            row = ApplicationReview(application_id=application_id)
            s.add(row)
        row.stage = stage
        row.override_score = override_score
        row.override_by = override_by


def make_booking(
    db: Database,
    application_id: str,
    *,
    starts_at: datetime | None = None,
    interviewer: str = "anna",
    status: str = "booked",
) -> str:
    """A booked interview for the application with an interviewer of its organization."""
    starts = starts_at or (NOW + timedelta(days=1))
    with db.transaction() as s:
        app = s.get(Application, application_id)
        assert app is not None
        person = s.scalar(select(Interviewer).where(Interviewer.slug == interviewer))
        if person is None:
            person = Interviewer(
                organization_id=app.job.organization_id,
                slug=interviewer,
                name=interviewer.capitalize() + " Interviewer",
                timezone="Europe/Berlin",
                working_hours={"mon": [["09:00", "17:00"]]},
                jobs=[],
            )
            s.add(person)
            s.flush()
        sender = (
            s.scalar(
                select(ChannelIdentity.sender_id).where(
                    ChannelIdentity.candidate_id == app.candidate_id
                )
            )
            or "web:unknown"
        )
        booking = Booking(
            candidate_id=app.candidate_id,
            application_id=application_id,
            interviewer_id=person.id,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=45),
            status=status,
            candidate_timezone="Europe/Berlin",
            sender_id=sender,
            calendar_state="synced",
        )
        s.add(booking)
        s.flush()
        return booking.id


def set_candidate(db: Database, application_id: str, **values: Any) -> None:
    """Change the application's candidate (erased_at, consent_withdrawn_at, ai_opt_out,
    profile_visibility, recordings_access, …)."""
    with db.transaction() as s:
        app = s.get(Application, application_id)
        assert app is not None
        candidate = s.get(Candidate, app.candidate_id)
        assert candidate is not None
        for key, value in values.items():
            setattr(candidate, key, value)


def set_status(db: Database, application_id: str, status: str) -> None:
    with db.transaction() as s:
        app = s.get(Application, application_id)
        assert app is not None
        app.status = status
