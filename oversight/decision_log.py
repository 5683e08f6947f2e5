"""The decision log: every decision about an application, automated or human, in one table.

Why a log of its own next to `employer_decisions` and `employer_audit`: those record what
people at an employer did; an auditor (and the AI Act's logging duty for high-risk systems)
also needs what the *tool* decided — a knockout by the rules, a score by a model, a rank in a
shortlist — with who or what decided, when, the model and scorer versions, and the inputs by
reference (row ids and job versions, never copies of the candidate's words). One table for
both keeps the question "how was this application decided?" to one query.

What outlives whom: the link to the application is SET NULL when the candidate's data is
deleted (erasure or retention) and `reason` — a person's free text, sealed under the
candidate's data key (storage.encryption.SEALED) — becomes unreadable with that key. The
remaining row says a decision happened, by whom, with which model, without naming anyone.
Rows are kept for `decision_log_days` (PARLEY_DECISION_LOG_DAYS, default 365), never fewer
than `MIN_DAYS` (six months), then `purge_expired` removes them; a legal hold keeps a held
candidate's rows, as it keeps everything.

Nothing here commits: every function writes in the caller's session, so the log row commits
with the decision it describes, or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from storage.models import (
    Answer,
    AnswerScore,
    Application,
    ApplicationReview,
    ApplicationScore,
    DecisionLogEntry,
    Job,
    LegalHold,
)

if TYPE_CHECKING:
    from storage.db import Database

log = logging.getLogger(__name__)

# decision_log.decision
KNOCKOUT = "knockout"
SCORE = "score"
RANK = "rank"
KNOCKOUT_OVERRIDE = "knockout_override"
SCORE_OVERRIDE = "score_override"
RANK_OVERRIDE = "rank_override"
OVERRIDES = (KNOCKOUT_OVERRIDE, SCORE_OVERRIDE, RANK_OVERRIDE)

# decision_log.decided_by for the automated deciders
BY_KNOCKOUT_RULES = "rules:knockout"
BY_RANKING = "system:ranking"
BY_SCORING_RULES = "rules:scoring"  # an overall without any model score (knocked out, none)
EMPLOYER_PREFIX = "employer:"
MODEL_PREFIX = "model:"

DEFAULT_DAYS = 365
MIN_DAYS = 183  # "at least six months"
_MAX_BY = 200
_MAX_DECISION = 30


def _clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    clean = " ".join(str(value).replace("\x00", "").split())
    return clean[:limit] or None


def record(
    s: Session,
    *,
    application: Application | None = None,
    application_id: str | None = None,
    decision: str,
    decided_by: str,
    automated: bool,
    outcome: dict[str, Any],
    inputs: dict[str, Any],
    model_name: str | None = None,
    model_version: str | None = None,
    scorer_version: str | None = None,
    reason: str | None = None,
    organization_id: int | None = None,
    job_id: int | None = None,
) -> DecisionLogEntry:
    """Add one entry to the caller's session (flushed, so its id is known).

    The organization and job come from the application when it is given; `reason` needs an
    application (it is sealed under its candidate's key) and is stored as given: callers
    clean it first (employers.decisions.clean_text)."""
    if application is None and application_id is not None:
        application = s.get(Application, application_id)
    if reason is not None and application is None:
        raise ValueError("a reason needs an application: it is sealed under the candidate's key")
    if application is not None:
        job = application.job
        organization_id = job.organization_id if organization_id is None else organization_id
        job_id = application.job_id if job_id is None else job_id
    entry = DecisionLogEntry(
        at=datetime.now(UTC),
        application_id=application.id if application is not None else None,
        organization_id=organization_id,
        job_id=job_id,
        decision=_clip(decision, _MAX_DECISION) or "unknown",
        automated=bool(automated),
        decided_by=_clip(decided_by, _MAX_BY) or "unknown",
        outcome=dict(outcome),
        inputs=dict(inputs),
        model_name=_clip(model_name, 200),
        model_version=_clip(model_version, 80),
        scorer_version=_clip(scorer_version, 40),
        reason=reason,
    )
    s.add(entry)
    s.flush()
    log.info(
        "decision log %s: %s on application %s", entry.id, entry.decision, entry.application_id
    )
    return entry


# --------------------------------------------------------------------------- automated
def record_knockout(s: Session, app: Application) -> DecisionLogEntry | None:
    """A real application the knockout rules just ended (screening.interview `_finish`):
    which job version, question and answer row decided it. Practice runs and any other
    ending are not decisions about a candidate and write nothing."""
    if app.status != "knocked_out" or app.mode != "application":
        return None
    question_id = app.knocked_out_by
    answer = None
    if question_id:
        answer = s.execute(
            select(Answer.id, Answer.revision).where(
                Answer.application_id == app.id, Answer.question_id == question_id
            )
        ).first()
    return record(
        s,
        application=app,
        decision=KNOCKOUT,
        decided_by=BY_KNOCKOUT_RULES,
        automated=True,
        outcome={"knocked_out": True, "status": "knocked_out"},
        inputs={
            "job_id": app.job_id,
            "job_version": app.job.version,
            "question_id": question_id,
            "answer_id": answer[0] if answer else None,
            "answer_revision": answer[1] if answer else None,
        },
    )


def record_score(
    s: Session, app: Application, snapshot: ApplicationScore
) -> DecisionLogEntry | None:
    """A new overall-score snapshot (screening.assessment `refresh_application`): the model
    and scorer versions, and the answer-score rows it was computed from (the newest score of
    each answer's current revision). Practice runs are the candidate's own: not logged."""
    if app.mode != "application":
        return None
    if snapshot.id is None:
        s.flush()
    newest = (
        select(func.max(AnswerScore.id))
        .join(
            Answer,
            and_(
                Answer.id == AnswerScore.answer_id, Answer.revision == AnswerScore.answer_revision
            ),
        )
        .where(AnswerScore.application_id == app.id)
        .group_by(AnswerScore.answer_id)
    )
    score_ids = sorted(i for i in s.scalars(newest) if i is not None)
    model = snapshot.model_name or None
    return record(
        s,
        application=app,
        decision=SCORE,
        decided_by=MODEL_PREFIX + model if model else BY_SCORING_RULES,
        automated=True,
        outcome={
            "overall": snapshot.overall,
            "knocked_out": bool(snapshot.knocked_out),
            "complete": bool(snapshot.complete),
        },
        inputs={
            "application_score_id": snapshot.id,
            "answer_score_ids": score_ids,
            "job_id": app.job_id,
            "job_version": app.job.version,
        },
        model_name=model,
        model_version=snapshot.model_version or None,
        scorer_version=snapshot.scorer_version or None,
    )


def record_rank(
    s: Session,
    app: Application,
    *,
    rank: int,
    of: int,
    score: int | None,
    application_score_id: int | None,
    override: int | None,
    pinned_rank: int | None,
    knockout_overridden: bool,
    query: dict[str, Any],
) -> DecisionLogEntry:
    """One application's place in a shortlist as it was shown (employers.shortlist)."""
    return record(
        s,
        application=app,
        decision=RANK,
        decided_by=BY_RANKING,
        automated=True,
        outcome={"rank": rank, "of": of, "score": score},
        inputs={
            "application_score_id": application_score_id,
            "override_score": override,
            "pinned_rank": pinned_rank,
            "knockout_overridden": knockout_overridden,
            "query": query,
        },
    )


# --------------------------------------------------------------------------- people
def record_employer(
    s: Session, employer: Any, app: Application, decision_row: Any
) -> DecisionLogEntry:
    """Mirror of one `employer_decisions` row (employers.decisions `_decide`): a person's
    advance, rejection, review, score, knockout or rank override. The outcome is the
    application's standing after the decision (stage, override, pin), the inputs the rows it
    refers to; the reason is the same sealed note."""
    standing = s.get(ApplicationReview, app.id)
    latest_score = s.scalar(
        select(func.max(ApplicationScore.id)).where(ApplicationScore.application_id == app.id)
    )
    outcome: dict[str, Any] = {
        "stage": standing.stage if standing is not None else "new",
        "old_score": decision_row.old_score,
        "new_score": decision_row.new_score,
    }
    if standing is not None:
        outcome["override_score"] = standing.override_score
        outcome["pinned_rank"] = standing.pinned_rank
        outcome["knockout_overridden"] = standing.knockout_overridden_at is not None
    return record(
        s,
        application=app,
        decision=decision_row.kind,
        decided_by=EMPLOYER_PREFIX + str(employer.actor),
        automated=False,
        outcome=outcome,
        inputs={
            "employer_decision_id": decision_row.id,
            "review_id": decision_row.review_id,
            "application_score_id": latest_score,
        },
        reason=decision_row.reason,
        organization_id=employer.organization_id,
    )


# --------------------------------------------------------------------------- reading
def entries(
    s: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    job_slug: str | None = None,
    application_id: str | None = None,
    organization_id: int | None = None,
    decision: str | None = None,
) -> list[DecisionLogEntry]:
    """Entries in time order (oldest first), filtered. `since` inclusive, `until` exclusive.
    A job is every version of its slug (in the organization, when one is given)."""
    stmt = select(DecisionLogEntry)
    if since is not None:
        stmt = stmt.where(DecisionLogEntry.at >= since)
    if until is not None:
        stmt = stmt.where(DecisionLogEntry.at < until)
    if job_slug is not None:
        jobs = select(Job.id).where(Job.slug == job_slug)
        if organization_id is not None:
            jobs = jobs.where(Job.organization_id == organization_id)
        stmt = stmt.where(DecisionLogEntry.job_id.in_(jobs))
    if application_id is not None:
        stmt = stmt.where(DecisionLogEntry.application_id == application_id)
    if organization_id is not None:
        stmt = stmt.where(DecisionLogEntry.organization_id == organization_id)
    if decision is not None:
        stmt = stmt.where(DecisionLogEntry.decision == decision)
    return list(s.scalars(stmt.order_by(DecisionLogEntry.at, DecisionLogEntry.id)))


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return value.astimezone(UTC).isoformat()


def to_json(entry: DecisionLogEntry) -> dict[str, Any]:
    """One entry as the export shows it. `reason` is the opened value (None once the
    candidate's key is gone); `application_id` is None once their data was deleted."""
    return {
        "id": entry.id,
        "at": _iso(entry.at),
        "decision": entry.decision,
        "automated": bool(entry.automated),
        "decided_by": entry.decided_by,
        "application_id": entry.application_id,
        "organization_id": entry.organization_id,
        "job_id": entry.job_id,
        "model_name": entry.model_name,
        "model_version": entry.model_version,
        "scorer_version": entry.scorer_version,
        "outcome": entry.outcome,
        "inputs": entry.inputs,
        "reason": entry.reason,
    }


def candidates_of(s: Session, rows: Iterable[DecisionLogEntry]) -> dict[str, list[str]]:
    """Candidate id → application ids, for the entries whose reason was opened (the export
    logs those reads in each candidate's access log)."""
    ids = sorted({r.application_id for r in rows if r.application_id and r.reason is not None})
    found: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for app_id, candidate_id in s.execute(
            select(Application.id, Application.candidate_id).where(Application.id.in_(chunk))
        ):
            found.setdefault(candidate_id, []).append(app_id)
    return found


# --------------------------------------------------------------------------- retention
def retention_days(value: object) -> int:
    """The configured retention, never below `MIN_DAYS` (a shorter setting is raised to it
    with a warning: the six months are a legal floor, not a preference)."""
    try:
        days = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        log.warning("decision_log_days %r is not a number: using %d", value, DEFAULT_DAYS)
        return DEFAULT_DAYS
    if days < MIN_DAYS:
        log.warning(
            "decision_log_days %d is under the %d-day minimum: using %d", days, MIN_DAYS, MIN_DAYS
        )
        return MIN_DAYS
    return days


def purge_expired(db: Database, now: datetime, days: object = DEFAULT_DAYS) -> int:
    """Delete entries older than the retention (`retention_days(days)`), except those of an
    application whose candidate is under a legal hold. Returns the number deleted."""
    cutoff = now - timedelta(days=retention_days(days))
    held = (
        select(Application.id)
        .join(LegalHold, LegalHold.candidate_id == Application.candidate_id)
        .where(LegalHold.released_at.is_(None))
    )
    with db.transaction() as s:
        result = s.execute(
            delete(DecisionLogEntry)
            .where(
                DecisionLogEntry.at < cutoff,
                (DecisionLogEntry.application_id.is_(None))
                | (DecisionLogEntry.application_id.not_in(held)),
            )
            .execution_options(synchronize_session=False)
        )
        count = int(result.rowcount or 0)
    if count:
        log.info("retention: %d decision log entries deleted", count)
    return count
