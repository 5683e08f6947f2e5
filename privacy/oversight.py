"""Human oversight: opting out of AI scoring, human review of decisions (GDPR art. 22),
corrections, withdrawing consent, and which employers looked at a profile.

Why these belong together: each one moves a decision about a candidate from the model to a
person, or stops the model from working on their data at all. The rule they share lives in
`privacy.reviews.may_reject_automatically`: while a candidate is opted out or any review of
theirs is open, nothing rejects them automatically.

Every function takes the sender id the message came from and acts only on that sender's own
candidate (`CandidateRepository.by_sender`): another person's sender id or application id
reaches nothing. Each request is logged in `privacy_requests` with its legal due date. A
request that would change nothing (opting out twice) changes nothing — no second review, no
second request row — and says so.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy import access_log
from privacy.consent import processing_allowed, stop_processing
from privacy.notices import current_version, day
from privacy.requests import Kind, RequestStatus, complete, open_request
from privacy.reviews import (
    AI_OPT_OUT,
    CORRECTION,
    DECISION_REVIEW,
    KNOCKOUT_REVIEW,
    ensure_review,
    open_review,
    open_reviews,
    resolve,
)
from privacy.reviews import may_reject_automatically as may_reject_automatically
from screening.interview import Mode, Status, definition_of
from screening.job_schema import is_scored
from screening.questions import parse_answer
from storage.db import Database
from storage.models import (
    Application,
    Candidate,
    Correction,
    HumanReview,
    InterviewSession,
    PrivacyRequest,
)
from storage.repositories import (
    ApplicationRepository,
    CandidateRepository,
    ScoreRepository,
    channel_of,
)

if TYPE_CHECKING:
    from screening.assessment import AssessmentService

log = logging.getLogger(__name__)

__all__ = [
    "MAX_STATEMENT_CHARS",
    "correct_answer",
    "dispute_ai_item",
    "employers_who_viewed",
    "may_reject_automatically",
    "opt_in",
    "opt_out",
    "request_review",
    "withdraw_consent",
]

NOTHING_STORED = "I have nothing stored about you, so there's nothing to change."
# A statement is read by a person: long enough for a real explanation, short enough to read.
MAX_STATEMENT_CHARS = 5000
MAX_VIEWS_SHOWN = 20
OPTED_BACK_IN = "candidate opted back in"
# What the report and the employer's view say about an opted-out candidate's applications.
OPTED_OUT_NOTE = "AI scoring: opted out — a person reviews these answers"


def _now() -> datetime:
    return datetime.now(UTC)


def _candidate(s: Session, sender_id: str) -> Candidate | None:
    """The sender's own candidate; an erased one counts as nothing stored."""
    candidate = CandidateRepository(s).by_sender(sender_id)
    if candidate is None or candidate.erased_at is not None:
        return None
    return candidate


def _real_applications(s: Session, candidate_id: str) -> list[Application]:
    """Real applications, most recently touched first (practice runs never need a person)."""
    return ApplicationRepository(s).for_candidate(candidate_id, Mode.APPLICATION)


def _statement(text: str | None) -> tuple[str | None, str | None]:
    """(clean statement, None) or (None, what to tell the candidate). The text is kept
    verbatim — HTML or SQL in it is just text, escaped wherever it is shown — except for NUL
    characters, which PostgreSQL cannot store."""
    clean = (text or "").replace("\x00", "").strip()
    if not clean:
        return None, (
            "Please tell me in a few words what you'd like a person to look at, and why — "
            "your view goes to them as you write it."
        )
    if len(clean) > MAX_STATEMENT_CHARS:
        return None, (
            f"Your message is {len(clean):,} characters long; please keep it under "
            f"{MAX_STATEMENT_CHARS:,} characters and send it again. Nothing has been stored yet."
        )
    return clean, None


def _assessment(db: Database, given: AssessmentService | None) -> AssessmentService:
    if given is not None:
        return given
    from screening.assessment import AssessmentService

    return AssessmentService(db)


# --------------------------------------------------------------------------- AI opt-out
def opt_out(db: Database, sender_id: str) -> str:
    """Stop AI scoring of the candidate's answers: a person reviews them instead.

    Sets `candidates.ai_opt_out`, opens an `ai_opt_out` review for each real application that
    is not withdrawn (the employer's view then shows it waits for a person, without AI score)
    and logs an objection request. From now on the assessment scores none of their
    application answers and no automated rejection can happen. Practice runs — only the
    candidate sees them, and feedback is their point — keep their AI feedback.
    """
    with db.transaction() as s:
        candidate = _candidate(s, sender_id)
        if candidate is None:
            return NOTHING_STORED
        if candidate.ai_opt_out:
            return (
                "You've already opted out of AI scoring: a person reviews your answers, and "
                "nothing is decided automatically. Say 'opt in to AI scoring' to change that."
            )
        candidate.ai_opt_out = True
        apps = [a for a in _real_applications(s, candidate.id) if a.status != Status.WITHDRAWN]
        reviews = [ensure_review(s, candidate.id, AI_OPT_OUT, a.id)[0] for a in apps]
        request = open_request(
            s,
            candidate,
            Kind.OBJECTION,
            channel_of(sender_id),
            detail={"action": "opt_out", "reviews": [r.id for r in reviews]},
        )
        complete(request)
        log.info("ai opt-out candidate=%s reviews=%d", candidate.id, len(reviews))
        orgs = sorted({a.job.organization.name for a in apps})
        who = f"a person at {', '.join(orgs)}" if orgs else "a person"
        return (
            f"Done — your answers won't be scored by the AI model any more: {who} reviews them "
            "instead, and no decision about you is made automatically. This applies to your "
            "applications now and later. (Practice runs, which only you see, still give AI "
            "feedback.) Say 'opt in to AI scoring' if you change your mind."
        )


def opt_in(db: Database, sender_id: str, *, assessment: AssessmentService | None = None) -> str:
    """Undo `opt_out`: AI scoring resumes and the answers waiting for a person are scored.

    The opt-out reviews no person has acted on yet (still open) are resolved as "candidate
    opted back in"; a review a person already took up stays as it is. Reviews for other
    reasons (a decision review, a knockout) stay open: opting in does not cancel them.
    """
    with db.transaction() as s:
        candidate = _candidate(s, sender_id)
        if candidate is None:
            return NOTHING_STORED
        if not candidate.ai_opt_out:
            return (
                "You haven't opted out, so your answers are scored by the AI model and reviewed "
                "by a person at the employer. Say 'opt out of AI scoring' if you'd rather a "
                "person assessed them without the model."
            )
        candidate.ai_opt_out = False
        closed = open_reviews(s, candidate.id, AI_OPT_OUT)
        for review in closed:
            resolve(s, review, by="candidate", resolution=OPTED_BACK_IN)
        request = open_request(
            s,
            candidate,
            Kind.OBJECTION,
            channel_of(sender_id),
            detail={"action": "opt_in", "reviews": [r.id for r in closed]},
        )
        complete(request)
        pending = [
            a.id
            for a in _real_applications(s, candidate.id)
            if a.status != Status.WITHDRAWN and processing_allowed(candidate)
        ]
    scored = 0
    if pending:
        service = _assessment(db, assessment)
        for application_id in pending:
            try:
                scored += service.score_pending(application_id)
            except Exception:  # the opt-in stands; `parley rescore` can score them later
                log.exception("scoring after opt-in failed for application %s", application_id)
    log.info("ai opt-in answers scored=%d", scored)
    return (
        "Done — AI scoring is back on: your answers are scored by the model again, and a "
        "person at the employer reviews the results. Say 'opt out of AI scoring' at any time "
        "to stop it."
    )


# --------------------------------------------------------------------------- human review
def request_review(
    db: Database,
    sender_id: str,
    statement: str,
    *,
    application_id: str | None = None,
    request_id: str | None = None,
) -> str:
    """GDPR art. 22: a person reviews the decision on the candidate's latest real application
    (or `application_id`, which must be theirs), with the candidate's view (sealed).

    `request_id`: a `review` request already logged by the chat (waiting for the statement)
    is used instead of opening another. Asking again while the review is open adds a new
    statement to it (an identical one changes nothing) rather than opening a second review.
    """
    clean, problem = _statement(statement)
    if problem is not None:
        return problem
    assert clean is not None
    with db.transaction() as s:
        candidate = _candidate(s, sender_id)
        if candidate is None:
            return "I have nothing stored about you, so there's no decision to review."
        apps = _real_applications(s, candidate.id)
        if application_id is not None:
            apps = [a for a in apps if a.id == application_id]
        if not apps:
            return (
                "I couldn't find an application of yours with a decision to review. If you "
                "want to talk to a person about something else, say 'human'."
            )
        app = apps[0]
        org, title = app.job.organization.name, app.job.title
        existing = open_reviews(s, candidate.id, DECISION_REVIEW, app.id)
        if existing:
            review = existing[0]
            request = _request_for(s, candidate.id, review.id)
            due = request.due_at if request is not None else None
            when = f" by {day(due)}" if due is not None else ""
            if clean not in (review.statement or ""):
                review.statement = f"{review.statement or ''}\n\n— added later:\n{clean}".strip()
                combined = len(review.statement)
                log.info("review %s statement added (%d chars)", review.id, combined)
                return (
                    f"A person at {org} is already reviewing your application for {title}; "
                    f"I've added what you just wrote to it. You'll hear back{when}."
                )
            return (
                f"A person at {org} is already reviewing your application for {title} with "
                f"what you told me. You'll hear back{when}."
            )
        review = open_review(s, candidate.id, DECISION_REVIEW, app.id, clean)
        request = _use_or_open(s, candidate, Kind.REVIEW, sender_id, request_id)
        request.status = str(RequestStatus.OPEN)
        request.detail = {
            **(request.detail or {}),
            "review_id": review.id,
            "application_id": app.id,
        }
        log.info("decision review %s opened for application %s", review.id, app.id)
        return (
            f"Thank you — a person at {org} will review the decision on your application for "
            f"{title}, with your view as you wrote it. Nothing will be decided automatically "
            f"meanwhile. You'll hear back by {day(request.due_at)} at the latest."
        )


def _request_for(s: Session, candidate_id: str, review_id: int) -> PrivacyRequest | None:
    """The rights request that waits on a review (its sealed detail names the review)."""
    rows = s.scalars(
        select(PrivacyRequest)
        .where(PrivacyRequest.candidate_id == candidate_id)
        .order_by(PrivacyRequest.received_at.desc())
    )
    return next((r for r in rows if (r.detail or {}).get("review_id") == review_id), None)


def _use_or_open(
    s: Session, candidate: Candidate, kind: Kind, sender_id: str, request_id: str | None
) -> PrivacyRequest:
    if request_id is not None:
        row = s.get(PrivacyRequest, request_id)
        if row is not None and row.candidate_id == candidate.id and row.kind == str(kind):
            return row
    return open_request(s, candidate, kind, channel_of(sender_id))


# --------------------------------------------------------------------------- consent
def withdraw_consent(db: Database, sender_id: str) -> str:
    """Stop processing: a refusal is recorded for the notice in force, every open
    application and practice run is withdrawn, and nothing is scored any more. The data stays
    until the candidate asks to delete it — which the reply offers. Starting an interview
    again asks for consent as usual (and clears the withdrawal)."""
    with db.transaction() as s:
        candidate = _candidate(s, sender_id)
        if candidate is None:
            return NOTHING_STORED
        offer = "Reply 'delete everything' to remove your data."
        if candidate.consent_withdrawn_at is not None:
            return (
                "You've already withdrawn your consent, so we're not processing your data. "
                f"It is still stored. {offer}"
            )
        stopped = stop_processing(s, candidate, channel_of(sender_id), current_version(s))
        request = open_request(
            s,
            candidate,
            Kind.WITHDRAW_CONSENT,
            channel_of(sender_id),
            detail={"withdrawn_applications": [a.id for a in stopped]},
        )
        complete(request)
        log.info("consent withdrawn candidate=%s applications=%d", candidate.id, len(stopped))
        ended = ""
        if stopped:
            titles = sorted({a.job.title for a in stopped})
            ended = f" Your open interview{'s' if len(titles) > 1 else ''} ({', '.join(titles)})"
            ended += " ended."
        return (
            "Done — you've withdrawn your consent, and we've stopped processing your data: no "
            f"more questions and no more scoring.{ended} What you told us is still stored. "
            f"{offer} If you change your mind, start an interview again and I'll ask for your "
            "consent."
        )


# --------------------------------------------------------------------------- corrections
def _find_question(app: Application, ref: str) -> tuple[int, Any] | None:
    """Question `ref` of the application: its number ("3", "#3", "question 3") or its id."""
    questions = definition_of(app.job).questions
    wanted = (ref or "").strip().lower().removeprefix("question").strip().lstrip("#").strip()
    if wanted.isdigit():
        index = int(wanted) - 1
        return (index, questions[index]) if 0 <= index < len(questions) else None
    for index, question in enumerate(questions):
        if question.id.lower() == wanted:
            return index, question
    return None


def _unknown_question(app: Application, ref: str) -> str:
    count = len(definition_of(app.job).questions)
    shown = (ref or "").strip()[:40] or "(none)"
    return (
        f"I couldn't find question {shown!r} in your application for {app.job.title}: it has "
        f"questions 1 to {count}. Tell me the question's number, e.g. 'correct 3'."
    )


def correct_answer(
    db: Database,
    sender_id: str,
    question_ref: str,
    new_text: str,
    *,
    today: date | None = None,
    assessment: AssessmentService | None = None,
) -> str:
    """Correct one of the candidate's own answers (GDPR art. 16) in their latest real
    application. The new text is validated like an interview answer, stored as a new revision,
    the old and new values are recorded (sealed) in `corrections`, and the answer is scored
    again as usual (unless they opted out).

    A correction that turns the answer into a knockout follows the interview's rule: an
    automated rejection only when `may_reject_automatically` allows it, otherwise a
    `knockout_review` for a person. A correction of the very answer that ended an application
    does not reopen it automatically: a person looks at it again (a `correction` review).
    """
    with db.transaction() as s:
        candidate = _candidate(s, sender_id)
        if candidate is None:
            return NOTHING_STORED
        apps = _real_applications(s, candidate.id)
        if not apps:
            return "You have no application answers to correct."
        app = apps[0]
        found = _find_question(app, question_ref)
        if found is None:
            return _unknown_question(app, question_ref)
        index, question = found
        repo = ApplicationRepository(s)
        row = repo.answer(app.id, question.id)
        number = index + 1
        if row is None or row.status != "answered":
            return (
                f"You haven't answered question {number} of your application for "
                f"{app.job.title}, so there's nothing to correct."
            )
        parsed = parse_answer(question, new_text or "", today=today or _now().date())
        if not parsed.ok:
            return parsed.error or "Sorry, I couldn't use that as an answer."
        old_display = str((row.normalized or {}).get("display") or row.raw_text or "")
        new_raw = (new_text or "").replace("\x00", "").strip()
        if (row.normalized or {}).get("value") == parsed.value:
            return f"That's already your answer to question {number}: nothing changed."
        was_knockout = row.knockout
        row.revision += 1
        row.raw_text = new_raw
        row.normalized = {"value": parsed.value, "display": parsed.display}
        row.knockout = parsed.knockout
        row.channel = channel_of(sender_id)
        row.answered_at = _now()
        s.add(
            Correction(
                candidate_id=candidate.id,
                application_id=app.id,
                target=f"answer:{question.id}",
                old_value=old_display,
                new_value=parsed.display,
                status="applied",
            )
        )
        s.flush()
        note = _after_correction(s, app, question.id, parsed.knockout, was_knockout)
        request = open_request(
            s,
            candidate,
            Kind.RECTIFICATION,
            channel_of(sender_id),
            detail={"target": f"answer:{question.id}", "application_id": app.id},
        )
        complete(request)
        rescore = app.status != Status.WITHDRAWN
        application_id, question_id = app.id, question.id
        reply = f"Done — your answer to question {number} is now: {parsed.display}"
    if rescore:
        try:
            _assessment(db, assessment).after_answer(application_id, question_id)
        except Exception:  # the correction stands; a later rescore picks it up
            log.exception("rescoring after a correction failed for %s", application_id)
    return reply + (f"\n{note}" if note else "")


def _after_correction(
    s: Session, app: Application, question_id: str, knockout: bool, was_knockout: bool
) -> str:
    """Apply the knockout rule to a corrected answer; returns what to add to the reply."""
    org = app.job.organization.name
    if knockout and not was_knockout and app.status != Status.KNOCKED_OUT:
        if app.status == Status.WITHDRAWN:
            return ""
        if may_reject_automatically(s, app):
            app.status = Status.KNOCKED_OUT
            app.knocked_out_by = question_id
            app.finished_at = _now()
            app.pending_action = None
            for sitting in s.scalars(
                select(InterviewSession).where(
                    InterviewSession.application_id == app.id,
                    InterviewSession.finished_at.is_(None),
                )
            ):
                sitting.status, sitting.finished_at = Status.KNOCKED_OUT, _now()
            return (
                f"With this answer we unfortunately can't take your application for "
                f"{app.job.title} further. If you think that's wrong, say 'review my decision' "
                "and a person will look at it."
            )
        ensure_review(s, app.candidate_id, KNOCKOUT_REVIEW, app.id)
        return (
            f"A person at {org} will look at this answer themselves; nothing is decided "
            "automatically."
        )
    if app.status == Status.KNOCKED_OUT and app.knocked_out_by == question_id and not knockout:
        ensure_review(s, app.candidate_id, CORRECTION, app.id)
        return (
            f"This was the answer your application ended on, so a person at {org} will look "
            "at your application again."
        )
    return ""


def dispute_ai_item(
    db: Database,
    sender_id: str,
    question_ref: str,
    statement: str,
    *,
    request_id: str | None = None,
) -> str:
    """The candidate disputes an AI-inferred item: the score (and explanation) of one answer
    ("3", a question id) or the overall score ("overall"). Inferred items are the model's
    assessment, not something the candidate told us, so the candidate cannot overwrite them;
    the dispute is recorded as a correction "sent_for_review" with a `correction` review
    (their statement sealed) for a person, who may change the outcome."""
    clean, problem = _statement(statement)
    if problem is not None:
        return problem
    with db.transaction() as s:
        candidate = _candidate(s, sender_id)
        if candidate is None:
            return NOTHING_STORED
        apps = _real_applications(s, candidate.id)
        if not apps:
            return "You have no application with AI scores to dispute."
        app = apps[0]
        scores = ScoreRepository(s)
        ref = (question_ref or "").strip().lower()
        if ref in ("overall", "total", "overall score"):
            overall = scores.latest_overall(app.id)
            if overall is None or overall.overall is None:
                return f"There's no overall AI score for your application for {app.job.title}."
            target = "ai_score:overall"
            item = {"overall": overall.overall, "computed_at": overall.created_at.isoformat()}
            what = "the overall AI score"
        else:
            found = _find_question(app, question_ref)
            if found is None:
                return _unknown_question(app, question_ref)
            index, question = found
            answers = {a.question_id: a for a in ApplicationRepository(s).answers(app.id)}
            current = scores.current(app.id, answers).get(question.id)
            if current is None or not is_scored(question):
                return (
                    f"Question {index + 1} has no AI score to dispute. To change your own "
                    f"answer, say 'correct {index + 1}'."
                )
            target = f"ai_score:{question.id}"
            item = {
                "score": current.score,
                "status": current.status,
                "summary": (current.explanation or {}).get("summary"),
                "model": f"{current.model_name}@{current.model_version}",
            }
            what = f"the AI score of your answer to question {index + 1}"
        org = app.job.organization.name
        for review in open_reviews(s, candidate.id, CORRECTION, app.id):
            if review.statement == clean:
                return f"I've already sent this to a person at {org}; they're looking at it."
        correction = Correction(
            candidate_id=candidate.id,
            application_id=app.id,
            target=target,
            old_value=json.dumps(item, ensure_ascii=False),
            new_value=clean,
            status="sent_for_review",
        )
        s.add(correction)
        s.flush()
        review = open_review(s, candidate.id, CORRECTION, app.id, clean)
        request = _use_or_open(s, candidate, Kind.RECTIFICATION, sender_id, request_id)
        request.status = str(RequestStatus.OPEN)
        request.detail = {
            **(request.detail or {}),
            "target": target,
            "review_id": review.id,
            "correction_id": correction.id,
            "application_id": app.id,
        }
        return (
            f"I can't change {what} myself — it's the model's assessment, not something you "
            f"told us — but I've sent your objection, as you wrote it, to a person at {org}. "
            "They'll review it, and nothing is decided automatically meanwhile. You'll hear "
            f"back by {day(request.due_at)} at the latest."
        )


# --------------------------------------------------------------------------- access log
def employers_who_viewed(db: Database, sender_id: str) -> str:
    """Which employers looked at the candidate's data, when and why (the employer-facing
    part of the access log; admin and system reads are the operator's, not shown)."""
    with db.transaction() as s:
        candidate = _candidate(s, sender_id)
        if candidate is None:
            return "I have nothing stored about you, so no employer has seen anything of yours."
        views = access_log.employer_views(s, candidate.id)
        complete(open_request(s, candidate, Kind.ACCESS_LOG, channel_of(sender_id)))
        if not views:
            return "No employer has viewed your profile or your answers so far."
        lines = ["These employers viewed your data (newest first):"]
        for v in views[:MAX_VIEWS_SHOWN]:
            lines.append(f"• {day(v.at)} — {v.organization}: {v.action} ({v.purpose})")
        if len(views) > MAX_VIEWS_SHOWN:
            lines.append(f"…and {len(views) - MAX_VIEWS_SHOWN} earlier views.")
        return "\n".join(lines)


def review_summary(reviews: list[HumanReview]) -> list[dict[str, object]]:
    """Open reviews as the employer's or admin's view lists them."""
    return [
        {
            "id": r.id,
            "reason": r.reason,
            "status": r.status,
            "statement": r.statement,
            "opened_at": r.created_at.isoformat(),
        }
        for r in reviews
    ]
