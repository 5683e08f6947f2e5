"""Human reviews: the rows that make a person, not the model, decide about a candidate.

A review opens when a candidate opts out of AI scoring, asks for a review of a decision (GDPR
art. 22), disputes an AI-inferred item, or gives a knockout answer while no automated
rejection is allowed. While any review of a candidate is open — or while they are opted out —
nothing may reject them automatically: `may_reject_automatically` is the one gate every
automated rejection path asks (the interview's knockout today, the employer's tools later).

This module depends on storage only, so the interview service can import it without an
import cycle (privacy.oversight, which builds the replies, imports the screening modules).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy.requests import OPEN_STATUSES, RequestStatus, complete
from storage.models import Application, Candidate, Correction, HumanReview, PrivacyRequest

# human_reviews.reason
AI_OPT_OUT = "ai_opt_out"  # the candidate objected to AI scoring: a person reviews the answers
DECISION_REVIEW = "decision_review"  # GDPR art. 22: a person reviews a decision
CORRECTION = "correction"  # the candidate disputes an AI-inferred item (or a corrected basis)
KNOCKOUT_REVIEW = "knockout_review"  # a knockout answer that no automation may act on
# A person at the employer asked a colleague to look again before anyone decides (the Slack
# "request review" button, employers/decisions.py). Like every open review it blocks a
# rejection until someone resolves it.
EMPLOYER_REVIEW = "employer_review"

# How each reason reads to the candidate (the /mydata summary): what the review is for, in
# words, not the stored code.
REASON_WORDS = {
    AI_OPT_OUT: "a person reviews your answers (you opted out of AI scoring)",
    DECISION_REVIEW: "a person reviews a decision, as you asked",
    CORRECTION: "a person reviews an AI assessment you disputed",
    KNOCKOUT_REVIEW: "a person checks an answer that would have ended your application",
    EMPLOYER_REVIEW: "the employer asked a second person to review your application",
}

# human_reviews.status
OPEN = "open"
RESOLVED = "resolved"

# corrections.status once the review of a disputed item is done
REVIEWED = "reviewed"


def describe_reason(reason: str) -> str:
    """The review's reason in the candidate's words (an unknown code reads as itself)."""
    return REASON_WORDS.get(reason, reason.replace("_", " "))


def _now() -> datetime:
    return datetime.now(UTC)


def open_reviews(
    s: Session, candidate_id: str, reason: str | None = None, application_id: str | None = None
) -> list[HumanReview]:
    """The candidate's open reviews, oldest first (narrowed by reason / application)."""
    stmt = select(HumanReview).where(
        HumanReview.candidate_id == candidate_id, HumanReview.status == OPEN
    )
    if reason is not None:
        stmt = stmt.where(HumanReview.reason == reason)
    if application_id is not None:
        stmt = stmt.where(HumanReview.application_id == application_id)
    return list(s.scalars(stmt.order_by(HumanReview.created_at, HumanReview.id)))


def open_review(
    s: Session,
    candidate_id: str,
    reason: str,
    application_id: str | None = None,
    statement: str | None = None,
) -> HumanReview:
    """Open a review (flushed, so its id is known)."""
    row = HumanReview(
        candidate_id=candidate_id,
        application_id=application_id,
        reason=reason,
        statement=statement,
        status=OPEN,
    )
    s.add(row)
    s.flush()
    return row


def ensure_review(
    s: Session, candidate_id: str, reason: str, application_id: str | None = None
) -> tuple[HumanReview, bool]:
    """The open review for (reason, application), opened if there is none: repeating the
    trigger (a second knockout answer, opting out twice) never piles up reviews.
    Returns (review, created)."""
    existing = open_reviews(s, candidate_id, reason, application_id)
    if application_id is None:
        existing = [r for r in existing if r.application_id is None]
    if existing:
        return existing[0], False
    return open_review(s, candidate_id, reason, application_id), True


def may_reject_automatically(s: Session, application: Application) -> bool:
    """May an automated rule (a knockout answer, a score threshold, a bulk "reject the rest")
    reject this application without a person?

    No while the candidate has opted out of AI scoring, and no while any human review of
    theirs is open (for this application or another: a candidate who asked for a person must
    not be rejected by a machine meanwhile). A person resolving the reviews (`resolve`) and the
    candidate opting back in make automated rejection possible again.

    Every automated rejection path must ask this first — the interview's knockout does
    (screening/interview.py `_answer`), and so must any later employer-side automation
    (shortlist cut-offs, "reject all below", scheduled clean-ups). A person rejecting by hand
    is not automated and does not need it.
    """
    candidate = application.candidate or s.get(Candidate, application.candidate_id)
    if candidate is not None and candidate.ai_opt_out:
        return False
    return not open_reviews(s, application.candidate_id)


def resolve(
    s: Session,
    review: HumanReview,
    *,
    by: str,
    resolution: str,
    status: str = RESOLVED,
) -> None:
    """Close a review: who resolved it and how (sealed). The rights requests that wait on it
    (their detail names the review) are completed, and a disputed item it covers is marked
    reviewed. Resolving an already closed review changes nothing."""
    if review.status != OPEN:
        return
    review.status = status
    review.resolved_at = _now()
    review.resolved_by = by[:200]
    review.resolution = resolution
    waiting = s.scalars(
        select(PrivacyRequest).where(
            PrivacyRequest.candidate_id == review.candidate_id,
            PrivacyRequest.status.in_([str(x) for x in OPEN_STATUSES]),
        )
    )
    for request in waiting:
        detail = request.detail or {}
        if detail.get("review_id") != review.id:
            continue
        complete(request, RequestStatus.COMPLETED)
        correction_id = detail.get("correction_id")
        if correction_id is not None:
            correction = s.get(Correction, correction_id)
            if correction is not None and correction.status != REVIEWED:
                correction.status = REVIEWED
