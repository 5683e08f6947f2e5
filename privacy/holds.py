"""Legal holds: a documented reason to keep a candidate's data despite an erasure.

Why a hold blocks only the purge and not the removal from use: the law that forces us to
keep data (an ongoing dispute, a court order) does not entitle employers to keep *using* it.
So "delete everything" always takes the candidate out of use at once; the hold only keeps the
rows until it is released, and the candidate is told that their deletion is on hold.

What the candidate is told is generic on purpose: the internal reason may name other parties
or a legal matter that is not ours to disclose in a chat message. The reason itself is stored
with the hold (who, when, why) for the operator and any auditor.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy import outbox
from privacy.requests import RequestStatus
from privacy.tombstones import ErasureStatus, NoSuchCandidate, load_sender_ids, open_erasure
from storage.db import Database
from storage.models import Candidate, ChannelIdentity, LegalHold, PrivacyRequest

MAX_REASON = 2000
MAX_ACTOR = 200

HOLD_NOTICE = (
    "An update on your request to delete your data: the deletion is on hold because we are "
    "legally required to keep your data for now (for example during an ongoing legal matter). "
    "Your data stays out of use — no employer can see it — and it will be deleted as soon as "
    "the hold ends. Reply 'privacy' if you have questions."
)
RELEASE_NOTICE = (
    "An update on your request to delete your data: the legal hold has ended, so your data "
    "will now be deleted completely."
)


class HoldError(ValueError):
    """A hold or release that cannot be done as asked (bad reason, nothing to release)."""


def _clean(value: str, what: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise HoldError(f"{what} is required")
    if len(text) > limit:
        raise HoldError(f"{what} is too long ({len(text)} characters, at most {limit})")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise HoldError(f"{what} contains control characters")
    return text


def active_hold(s: Session, candidate_id: str) -> LegalHold | None:
    """The newest hold on the candidate that is not released, if any."""
    return s.scalars(
        select(LegalHold)
        .where(LegalHold.candidate_id == candidate_id, LegalHold.released_at.is_(None))
        .order_by(LegalHold.placed_at.desc(), LegalHold.id.desc())
    ).first()


def place_hold(db: Database, candidate_id: str, reason: str, by: str) -> LegalHold:
    """Place a hold. With an erasure pending, pause it and tell the candidate (outbox)."""
    reason = _clean(reason, "a reason", MAX_REASON)
    by = _clean(by, "who places the hold", MAX_ACTOR)
    with db.transaction() as s:
        candidate = s.get(Candidate, candidate_id)
        if candidate is None:
            raise NoSuchCandidate(candidate_id)
        hold = LegalHold(candidate_id=candidate_id, reason=reason, placed_by=by)
        s.add(hold)
        erasure = open_erasure(s, candidate_id, lock=True)
        if erasure is not None:
            was_pending = erasure.status == ErasureStatus.PENDING
            erasure.status = str(ErasureStatus.HELD)
            _set_erasure_requests(s, candidate_id, RequestStatus.OPEN, RequestStatus.ON_HOLD)
            if was_pending:
                _tell(s, candidate_id, HOLD_NOTICE)
        s.flush()
        return hold


def release_hold(db: Database, candidate_id: str, reason: str, by: str) -> list[LegalHold]:
    """Release every active hold on the candidate. A pending erasure then goes ahead at the
    next purge run (at once if its date has passed) and the candidate is told."""
    reason = _clean(reason, "a reason", MAX_REASON)
    by = _clean(by, "who releases the hold", MAX_ACTOR)
    with db.transaction() as s:
        if s.get(Candidate, candidate_id) is None:
            raise NoSuchCandidate(candidate_id)
        holds = list(
            s.scalars(
                select(LegalHold)
                .where(LegalHold.candidate_id == candidate_id, LegalHold.released_at.is_(None))
                .with_for_update()
            )
        )
        if not holds:
            raise HoldError("there is no active legal hold on this candidate")
        now = datetime.now(UTC)
        for hold in holds:
            hold.released_at = now
            hold.released_by = by
            hold.release_reason = reason
        erasure = open_erasure(s, candidate_id, lock=True)
        if erasure is not None and erasure.status == ErasureStatus.HELD:
            erasure.status = str(ErasureStatus.PENDING)
            _set_erasure_requests(s, candidate_id, RequestStatus.ON_HOLD, RequestStatus.COMPLETED)
            _tell(s, candidate_id, RELEASE_NOTICE)
        s.flush()
        return holds


def _set_erasure_requests(
    s: Session, candidate_id: str, old: RequestStatus, new: RequestStatus
) -> None:
    for row in s.scalars(
        select(PrivacyRequest).where(
            PrivacyRequest.candidate_id == candidate_id,
            PrivacyRequest.kind == "erasure",
            PrivacyRequest.status == str(old),
        )
    ):
        row.status = str(new)
        if new == RequestStatus.COMPLETED:
            row.completed_at = datetime.now(UTC)


def _tell(s: Session, candidate_id: str, text: str) -> None:
    """One message on every channel the candidate used (each gateway delivers its own)."""
    senders = set(
        s.scalars(
            select(ChannelIdentity.sender_id).where(ChannelIdentity.candidate_id == candidate_id)
        )
    )
    erasure = open_erasure(s, candidate_id)
    if erasure is not None:  # an erased candidate's identities live on only in the erasure
        senders.update(load_sender_ids(s, erasure.sender_ids))
    for sender_id in sorted(senders):
        outbox.enqueue(s, candidate_id, sender_id, "erasure_hold", text)
