"""The log of rights requests: received date, legal due date and status.

Why every request is logged, including the ones answered on the spot ("what data do you have
on me?"): the law measures us by deadlines (GDPR art. 12: one month, here 30 days; CCPA: 45
days), and an operator must be able to show that every request was answered in time. The
deadline follows the candidate's region setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Candidate, PrivacyRequest


class Kind(StrEnum):
    ACCESS = "access"  # "what data do you have on me"
    EXPORT = "export"  # portability (GDPR art. 20)
    ERASURE = "erasure"  # delete everything
    PARTIAL_ERASURE = "partial_erasure"  # one answer or recording
    RECTIFICATION = "rectification"  # correct the profile or an AI-inferred item
    OBJECTION = "objection"  # opt out of AI scoring
    REVIEW = "review"  # human review of a decision (GDPR art. 22)
    WITHDRAW_CONSENT = "withdraw_consent"
    ACCESS_LOG = "access_log"  # which employers viewed my profile
    SETTINGS = "settings"  # recordings access, visibility, retention


class RequestStatus(StrEnum):
    OPEN = "open"  # received, being handled
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # asked "are you sure?"
    AWAITING_CODE = "awaiting_code"  # a one-time code was sent
    AWAITING_INPUT = "awaiting_input"  # e.g. the candidate's statement for a review
    LOCKED = "locked"  # three wrong codes
    ON_HOLD = "on_hold"  # a legal hold blocks it
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


OPEN_STATUSES = (
    RequestStatus.OPEN,
    RequestStatus.AWAITING_CONFIRMATION,
    RequestStatus.AWAITING_CODE,
    RequestStatus.AWAITING_INPUT,
    RequestStatus.ON_HOLD,
)
# Regions whose candidates are under the CCPA's 45-day deadline; everyone else gets 30 days
# (the GDPR's one month, the shorter of the two, is the safe default).
CCPA_REGIONS = frozenset({"us-ca"})
DEADLINE_DAYS = {"gdpr": 30, "ccpa": 45}


def law_for(region: str | None) -> str:
    return "ccpa" if (region or "").lower() in CCPA_REGIONS else "gdpr"


def due_date(received_at: datetime, region: str | None) -> datetime:
    return received_at + timedelta(days=DEADLINE_DAYS[law_for(region)])


def now() -> datetime:
    return datetime.now(UTC)


def open_request(
    s: Session,
    candidate: Candidate,
    kind: Kind | str,
    channel: str,
    *,
    status: RequestStatus = RequestStatus.OPEN,
    detail: dict[str, Any] | None = None,
) -> PrivacyRequest:
    """Log a new request (flushed, so its id is known)."""
    received = now()
    row = PrivacyRequest(
        candidate_id=candidate.id,
        kind=str(kind),
        status=str(status),
        law=law_for(candidate.region),
        channel=channel,
        received_at=received,
        due_at=due_date(received, candidate.region),
        detail=detail,
    )
    s.add(row)
    s.flush()
    return row


def complete(row: PrivacyRequest, status: RequestStatus = RequestStatus.COMPLETED) -> None:
    row.status = str(status)
    row.completed_at = now()


def pending_for(s: Session, candidate_id: str) -> PrivacyRequest | None:
    """The candidate's newest request that waits for their input (a confirmation, a code or
    a statement): the next message they send is read as that input."""
    waiting = (
        RequestStatus.AWAITING_CONFIRMATION,
        RequestStatus.AWAITING_CODE,
        RequestStatus.AWAITING_INPUT,
    )
    return s.scalars(
        select(PrivacyRequest)
        .where(
            PrivacyRequest.candidate_id == candidate_id,
            PrivacyRequest.status.in_([str(w) for w in waiting]),
        )
        .order_by(PrivacyRequest.received_at.desc())
    ).first()


@dataclass(frozen=True)
class RequestView:
    id: str
    candidate_id: str
    kind: str
    status: str
    law: str
    channel: str
    received_at: datetime
    due_at: datetime
    completed_at: datetime | None
    overdue: bool


def list_requests(s: Session, *, include_closed: bool = False) -> list[RequestView]:
    """Requests for `parley privacy requests`: overdue ones first, then by due date."""
    stmt = select(PrivacyRequest)
    if not include_closed:
        stmt = stmt.where(PrivacyRequest.status.in_([str(x) for x in OPEN_STATUSES]))
    current = now()
    views = []
    for row in s.scalars(stmt):
        due = _aware(row.due_at)
        views.append(
            RequestView(
                id=row.id,
                candidate_id=row.candidate_id,
                kind=row.kind,
                status=row.status,
                law=row.law,
                channel=row.channel,
                received_at=_aware(row.received_at),
                due_at=due,
                completed_at=_aware(row.completed_at) if row.completed_at else None,
                overdue=row.status in OPEN_STATUSES and due < current,
            )
        )
    views.sort(key=lambda v: (not v.overdue, v.due_at))
    return views


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything here is stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
